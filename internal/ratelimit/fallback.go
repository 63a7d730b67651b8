package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// Bounded makes budgets kept by Limits (a shared store) that, while the
// store cannot be reached, ration each key from an in-process budget of
// the same size instead of failing. It is for the budgets every request
// spends — the Platform API's rate limit, unknown tokens per address —
// where failing would refuse every request while the store is down and
// serving without a budget would leave the service unguarded. While the
// store is down each process allows each key its whole budget by itself,
// so N replicas allow up to N times the limit; the store is tried again
// every Retry. Secret checks do not use it: they fail rather than check
// unthrottled.
type Bounded struct {
	Limits Limits
	// Now is the in-process budgets' clock; nil means time.Now.
	Now func() time.Time
	// Retry is how long a budget answers from the process after the store
	// failed, before it tries the store again; 0 means DefaultRetry.
	Retry time.Duration
	// Down, when set, hears of each failure of the store, for the log: at
	// most one per budget per Retry.
	Down func(ctx context.Context, name string, err error)
}

// DefaultRetry is how long a Bounded budget keeps to the process after its
// store failed.
const DefaultRetry = 5 * time.Second

// Budget returns the budget kept by b.Limits, with an in-process one of
// the same size behind it.
func (b Bounded) Budget(name string, limit int, per time.Duration) Budget {
	f := &fallback{name: name, shared: b.Limits.Budget(name, limit, per), local: New(limit, per, b.Now), now: b.Now, retry: b.Retry, down: b.Down}
	if f.now == nil {
		f.now = time.Now
	}
	if f.retry <= 0 {
		f.retry = DefaultRetry
	}
	return f
}

// fallback is a Bounded budget.
type fallback struct {
	name   string
	shared Budget
	local  *Limiter
	now    func() time.Time
	retry  time.Duration
	down   func(context.Context, string, error)
	// until is when the store may be tried again (Unix nanoseconds); 0
	// while it answers.
	until atomic.Int64
}

// isDown reports whether the store failed less than retry ago.
func (f *fallback) isDown() bool {
	u := f.until.Load()
	return u != 0 && f.now().UnixNano() < u
}

func (f *fallback) failed(ctx context.Context, err error) {
	f.until.Store(f.now().Add(f.retry).UnixNano())
	if f.down != nil {
		f.down(ctx, f.name, err)
	}
}

// Take takes from the store's budget, or from the process's while the
// store is down.
func (f *fallback) Take(ctx context.Context, key string) (Result, error) {
	if !f.isDown() {
		res, err := f.shared.Take(ctx, key)
		if err == nil {
			return res, nil
		}
		f.failed(ctx, err)
	}
	return f.local.Take(ctx, key)
}

// Give gives back to the store's budget, or to the process's while the
// store is down. A request taken from one and given back to the other
// (the store went down or came back in between) costs at most that one
// request until it is earned back.
func (f *fallback) Give(ctx context.Context, key string) error {
	if !f.isDown() {
		err := f.shared.Give(ctx, key)
		if err == nil {
			return nil
		}
		f.failed(ctx, err)
	}
	return f.local.Give(ctx, key)
}

// Remaining asks the store, or the process while the store is down.
func (f *fallback) Remaining(ctx context.Context, key string) (int, error) {
	if !f.isDown() {
		n, err := f.shared.Remaining(ctx, key)
		if err == nil {
			return n, nil
		}
		f.failed(ctx, err)
	}
	return f.local.Remaining(ctx, key)
}
