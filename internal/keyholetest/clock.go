package keyholetest

import (
	"sync"
	"time"
)

// Clock is a fake clock for tests: it stands still until the test moves
// it, and servers, services and stores may read it from any goroutine.
// Pass its Now where a clock is injected (Options.Now, service.Deps.Now):
//
//	clk := keyholetest.NewClock(time.Now())
//	ts := keyholetest.NewServer(t, keyholetest.Options{Now: clk.Now})
//	clk.Add(service.SessionTTL) // the exact instant the session ends
//
// The services keep times to the microsecond (what both databases
// store), so one tick either side of an instant is time.Microsecond.
type Clock struct {
	mu  sync.Mutex
	now time.Time
}

// NewClock returns a clock standing at t.
func NewClock(t time.Time) *Clock { return &Clock{now: t} }

// Now returns the clock's time.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

// Add moves the clock by d (back, when d is negative) and returns the new
// time.
func (c *Clock) Add(d time.Duration) time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	return c.now
}

// Set puts the clock at t.
func (c *Clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = t
}
