package cli

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// logBuffer gathers the server's log lines and writes them out together:
// every flushEvery, as soon as logBufferSize bytes wait, and at once after
// a warning or an error. One write per request line would be a system
// call on every request; a line waits at most flushEvery.
type logBuffer struct {
	out io.Writer
	mu  sync.Mutex // guards buf
	buf []byte
	wmu sync.Mutex // orders the writes to out, and guards spare
	// spare is the buffer written last, which takes the next lines.
	spare []byte
	stop  chan struct{}
	done  chan struct{}
}

const (
	logBufferSize = 32 << 10
	flushEvery    = 100 * time.Millisecond
)

func newLogBuffer(out io.Writer) *logBuffer {
	b := &logBuffer{out: out, buf: make([]byte, 0, logBufferSize), spare: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(b.done)
		t := time.NewTicker(flushEvery)
		defer t.Stop()
		for {
			select {
			case <-b.stop:
				return
			case <-t.C:
				b.Flush()
			}
		}
	}()
	return b
}

// Write keeps p (one log line) until the next flush.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	b.buf = append(b.buf, p...)
	full := len(b.buf) >= logBufferSize
	b.mu.Unlock()
	if full {
		b.Flush()
	}
	return len(p), nil
}

// Flush writes what waits.
func (b *logBuffer) Flush() {
	b.wmu.Lock()
	defer b.wmu.Unlock()
	b.mu.Lock()
	out := b.buf
	if len(out) == 0 {
		b.mu.Unlock()
		return
	}
	b.buf = b.spare[:0]
	b.mu.Unlock()
	_, _ = b.out.Write(out)
	b.spare = out
}

// Close stops the flusher and writes what waits.
func (b *logBuffer) Close() {
	close(b.stop)
	<-b.done
	b.Flush()
}

// flushOnWarn is a handler that flushes its buffer after every record of
// level WARN or above, so that problems are seen at once.
type flushOnWarn struct {
	slog.Handler
	buf *logBuffer
}

func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		h.buf.Flush()
	}
	return err
}

func (h flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{h.Handler.WithAttrs(attrs), h.buf}
}

func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{h.Handler.WithGroup(name), h.buf}
}
