package cli

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// lockedWriter records what is written to it, and in how many writes.
type lockedWriter struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.writes++
	return w.b.Write(p)
}

func (w *lockedWriter) read() (string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.String(), w.writes
}

// TestLogBuffer: request lines are written together, in order; a warning
// is out by the time it is logged; an info line is out within the flush
// period; closing writes the rest.
func TestLogBuffer(t *testing.T) {
	out := &lockedWriter{}
	log, _, closeLog := newLogger(Env{Stderr: out}, false)
	for i := range 1000 {
		log.Info("request", "n", i)
	}
	log.Warn("rate limit unavailable")
	got, writes := out.read()
	if !strings.Contains(got, "rate limit unavailable") {
		t.Fatal("a warning waited in the buffer")
	}
	if n := strings.Count(got, "msg=request"); n != 1000 || writes > 100 {
		t.Errorf("1000 request lines came out as %d lines in %d writes; want all of them, written together", n, writes)
	}
	if i, j := strings.Index(got, "n=998"), strings.Index(got, "n=999"); i < 0 || j < i {
		t.Error("lines out of order")
	}

	log.Info("later")
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if got, _ := out.read(); strings.Contains(got, "later") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("an info line was never flushed")
		}
	}
	log.Info("last")
	closeLog()
	if got, _ := out.read(); !strings.HasSuffix(strings.TrimSpace(got), "msg=last") {
		t.Errorf("closing did not write the last line:\n%s", got[max(0, len(got)-200):])
	}
}
