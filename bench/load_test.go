package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestPoolChecksEveryAnswer drives a test server that fails every fifth
// request and closes the connection after every seventh: the pool must
// time and count the good answers only, count the others as failures with
// their status, and dial again after a close.
func TestPoolChecksEveryAnswer(t *testing.T) {
	var served, failed atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := served.Add(1)
		if r.Header.Get("Authorization") != "Bearer t" {
			t.Errorf("got Authorization %q, want Bearer t", r.Header.Get("Authorization"))
		}
		if n%7 == 0 {
			w.Header().Set("Connection", "close")
		}
		if n%5 == 0 {
			failed.Add(1)
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprint(w, `{"ok":true}`)
	}))
	defer srv.Close()
	host := strings.TrimPrefix(srv.URL, "http://")
	p := newPool(host, 2, accountWorkers(host, []string{"t"}))
	defer p.close()

	ph := p.run(context.Background(), 300*time.Millisecond)
	srv.Close() // every answer is in: the counts below are final

	ok, errs := int64(ph.ok()), int64(ph.errors)
	if ok == 0 || errs == 0 {
		t.Fatalf("got %d good answers and %d failures, want some of each", ok, errs)
	}
	if len(ph.lat) != ph.ok() {
		t.Errorf("got %d latencies for %d good answers, want one each", len(ph.lat), ph.ok())
	}
	// Answers that arrive after the deadline (at most one per connection)
	// are neither counted nor timed.
	if got, hi, lo := ok+errs, served.Load(), served.Load()-2; got > hi || got < lo {
		t.Errorf("got %d answers counted, want %d to %d of the %d served", got, lo, hi, served.Load())
	}
	if got, want := errs, failed.Load(); got > want || got < want-2 {
		t.Errorf("got %d failures, want about %d", got, want)
	}
	for msg := range ph.failures {
		if !strings.HasPrefix(msg, "status 503, want 200") {
			t.Errorf("got failure %q, want only status 503", msg)
		}
	}
	if served.Load() < 14 {
		t.Errorf("served %d requests in 300 ms, want well more than 14 (a close must not stop a connection)", served.Load())
	}
}
