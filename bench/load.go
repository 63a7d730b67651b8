package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// A worker makes the requests of one connection and checks their answers.
// Each connection has its own, so that a worker may keep state (the
// refresh token its last answer returned) without locks.
type worker interface {
	// request appends the next request, a whole HTTP/1.1 message, to dst.
	// It returns false when it has nothing left to send (its supply of
	// grant codes ran out).
	request(dst []byte) ([]byte, bool)
	// answer checks the answer to that request and keeps what the next
	// request needs. An error counts the request as failed.
	answer(status int, body []byte) error
}

// errExhausted is the failure of a timed run whose workers ran out of
// requests to make before its end. (A warm-up may run out: its pace sets
// how many codes the timed run gets.)
var errExhausted = errors.New("ran out of pre-made grant codes")

// conn is one keep-alive connection and the worker that uses it.
type conn struct {
	addr string
	w    worker
	c    net.Conn
	br   *bufio.Reader
	req  []byte
	body bytes.Buffer
	// limit is the deadline set on c.
	limit time.Time
}

// phase is what the connections did during one phase: the latency of
// every checked answer that arrived before its end, and the failures.
type phase struct {
	start, end time.Time
	lat        latencies
	// last is when the last checked answer arrived.
	last      time.Time
	errors    int
	failures  map[string]int // error text → count
	exhausted bool
}

// ok is how many checked answers arrived within the phase.
func (p *phase) ok() int { return len(p.lat) }

// rate is checked answers per second of the phase.
func (p *phase) rate() float64 { return float64(p.ok()) / p.end.Sub(p.start).Seconds() }

// pool is a fixed set of connections to one server, reused from phase to
// phase (warm-up, then the timed run).
type pool struct{ conns []*conn }

func newPool(addr string, n int, newWorker func(i int) worker) *pool {
	p := &pool{}
	for i := range n {
		p.conns = append(p.conns, &conn{addr: addr, w: newWorker(i), req: make([]byte, 0, 1024)})
	}
	return p
}

// close closes every connection.
func (p *pool) close() {
	for _, c := range p.conns {
		c.close()
	}
}

// run drives every connection, one request at a time each, for d (or
// until ctx ends or every worker has run out), and returns what they saw.
// Answers that arrive after d are neither timed nor counted.
func (p *pool) run(ctx context.Context, d time.Duration) *phase {
	ph := &phase{failures: map[string]int{}}
	ph.start = time.Now()
	deadline := ph.start.Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for _, c := range p.conns {
		wg.Go(func() {
			lat, last, fails, exhausted := c.drive(ctx, deadline)
			mu.Lock()
			defer mu.Unlock()
			ph.lat = append(ph.lat, lat...)
			if last.After(ph.last) {
				ph.last = last
			}
			for msg, n := range fails {
				ph.failures[msg] += n
				ph.errors += n
			}
			ph.exhausted = ph.exhausted || exhausted
		})
	}
	wg.Wait()
	ph.end = deadline
	if now := time.Now(); now.Before(deadline) { // cancelled, or all ran out
		ph.end = now
	}
	return ph
}

// drive makes requests on c until the deadline.
func (c *conn) drive(ctx context.Context, deadline time.Time) (lat latencies, last time.Time, fails map[string]int, exhausted bool) {
	fails = map[string]int{}
	lat = make(latencies, 0, 1<<14)
	done := ctx.Done()
	for {
		select {
		case <-done:
			return lat, last, fails, false
		default:
		}
		var more bool
		c.req, more = c.w.request(c.req[:0])
		if !more {
			return lat, last, fails, true
		}
		start := time.Now()
		status, err := c.roundTrip(deadline.Add(10 * time.Second))
		end := time.Now()
		if err != nil {
			// The connection is gone; the next request dials again.
			c.close()
			if end.Before(deadline) {
				fails[err.Error()]++
				if ctx.Err() == nil {
					time.Sleep(10 * time.Millisecond)
				}
			}
		} else if err := c.w.answer(status, c.body.Bytes()); err != nil {
			if end.Before(deadline) {
				fails[err.Error()]++
			}
		} else if end.Before(deadline) {
			lat = append(lat, end.Sub(start))
			last = end
		}
		if !end.Before(deadline) {
			return lat, last, fails, false
		}
	}
}

// roundTrip sends c.req and reads the answer's status and body, dialling
// first if the connection is closed. Nothing may take past limit.
func (c *conn) roundTrip(limit time.Time) (int, error) {
	if c.c == nil {
		nc, err := net.DialTimeout("tcp", c.addr, 5*time.Second)
		if err != nil {
			return 0, fmt.Errorf("dial: %w", err)
		}
		c.c, c.br, c.limit = nc, bufio.NewReaderSize(nc, 16<<10), time.Time{}
	}
	if !limit.Equal(c.limit) {
		if err := c.c.SetDeadline(limit); err != nil {
			return 0, err
		}
		c.limit = limit
	}
	if _, err := c.c.Write(c.req); err != nil {
		return 0, fmt.Errorf("write: %w", err)
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		return 0, fmt.Errorf("read answer: %w", err)
	}
	c.body.Reset()
	_, err = c.body.ReadFrom(resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, fmt.Errorf("read body: %w", err)
	}
	if resp.Close {
		c.close()
	}
	return resp.StatusCode, nil
}

func (c *conn) close() {
	if c.c != nil {
		c.c.Close()
		c.c, c.br = nil, nil
	}
}

// appendRequest appends an HTTP/1.1 request to dst. headers are whole
// header lines, each ending in \r\n. A body is sent with its length.
func appendRequest(dst []byte, method, target, host, headers string, body []byte) []byte {
	dst = append(dst, method...)
	dst = append(dst, ' ')
	dst = append(dst, target...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\nUser-Agent: keyhole-bench\r\n"...)
	dst = append(dst, headers...)
	if body != nil || method == http.MethodPost {
		dst = append(dst, "Content-Length: "...)
		dst = strconv.AppendInt(dst, int64(len(body)), 10)
		dst = append(dst, "\r\n"...)
	}
	dst = append(dst, "\r\n"...)
	return append(dst, body...)
}

// wantStatus is the error of an answer with another status than want.
func wantStatus(got, want int, body []byte) error {
	if got == want {
		return nil
	}
	return fmt.Errorf("status %d, want %d: %s", got, want, clip(body, 120))
}

// clip shortens b for an error message.
func clip(b []byte, n int) string {
	b = bytes.TrimSpace(b)
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
