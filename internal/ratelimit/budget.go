package ratelimit

import (
	"context"
	"sync"
	"time"
)

// Result is the answer to taking from a budget.
type Result struct {
	// OK is whether the request fits.
	OK bool
	// Remaining is how many more requests the key could make now.
	Remaining int
	// RetryAfter, when OK is false, is how long until one more would fit.
	RetryAfter time.Duration
}

// Budget rations requests per key: a Platform API rate limit, or a
// throttle's attempts. Limiter is one, in process; Leased is one shared by
// the replicas of a deployment.
type Budget interface {
	// Take takes one request of key's budget, if it fits.
	Take(ctx context.Context, key string) (Result, error)
	// Give gives back one request taken for key: the reservation of a
	// check that succeeded.
	Give(ctx context.Context, key string) error
	// Remaining says how many requests key could make now.
	Remaining(ctx context.Context, key string) (int, error)
}

// Limits makes the budgets of one deployment, each named, so that budgets
// of several kinds never share a key.
type Limits interface {
	Budget(name string, limit int, per time.Duration) Budget
}

// Local makes in-process budgets: what one process (SQLite) needs.
type Local struct{ Now func() time.Time }

// Budget returns an in-process Limiter.
func (l Local) Budget(name string, limit int, per time.Duration) Budget {
	return New(limit, per, l.Now)
}

// Store keeps GCRA states where every replica sees them (PostgreSQL,
// Redis): for each key, the theoretical arrival time, on the store's own
// clock, after which its budget is full again.
type Store interface {
	// Take takes n requests of key's budget (limit per period) if all n
	// fit, and answers how many remain; if they do not fit it takes
	// nothing and answers how long until they would.
	Take(ctx context.Context, key string, limit int, per time.Duration, n int) (Result, error)
	// Give gives back n requests taken for key.
	Give(ctx context.Context, key string, limit int, per time.Duration, n int) error
	// Remaining says how many requests key could make now.
	Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error)
}

// GCRA is the arithmetic a Store does on a key's theoretical arrival
// time tat at the store's own time now: the TAT after taking n requests,
// and the Result; when the Result is not OK the TAT stays as it was.
func GCRA(tat, now time.Time, limit int, per time.Duration, n int) (next time.Time, res Result) {
	interval := max(per/time.Duration(limit), 1)
	window := interval * time.Duration(limit)
	if tat.Before(now) {
		tat = now
	}
	next = tat.Add(time.Duration(n) * interval)
	if next.Sub(now) > window {
		return tat, Result{RetryAfter: next.Sub(now) - window}
	}
	return next, Result{OK: true, Remaining: min(int(now.Add(window).Sub(next)/interval), limit)}
}

// Left is how many requests fit at now before tat: what Remaining answers.
func Left(tat, now time.Time, limit int, per time.Duration) int {
	interval := max(per/time.Duration(limit), 1)
	if !tat.After(now) {
		return limit
	}
	return max(min(int(now.Add(interval*time.Duration(limit)).Sub(tat)/interval), limit), 0)
}

// Shared makes budgets kept in a Store, leased to this process in small
// lots so that most requests need no round trip: see Leased.
type Shared struct {
	Store Store
	Now   func() time.Time
	// Lease is how long a lot lasts; 0 means DefaultLease.
	Lease time.Duration
}

// DefaultLease is how long a replica keeps a lot of a shared budget.
const DefaultLease = 8 * time.Second

// Budget returns a Leased budget.
func (s Shared) Budget(name string, limit int, per time.Duration) Budget {
	return NewLeased(s.Store, name, limit, per, s.Lease, s.Now)
}

// Leased is a budget kept in a shared Store and spent locally in lots: a
// replica takes a lot of requests from the store at once and hands them
// out in process until they run out or the lot's time is up. The lot is
// as many requests as the budget earns in the lease time (at least one,
// at most a tenth of the budget), and it lasts as long as the store takes
// to earn it back, so by the time a lot lapses unused, the store has its
// requests again.
//
// A request given back (a check that succeeded) goes back to the lot. When
// more requests are in flight at once than a lot holds, the replica takes
// further lots while the first lasts and keeps them together: the lot
// grows to what the replica has in flight, and lasts until the store has
// earned all of it back. So checks that succeed cost the store nothing in
// the long run, however many run in parallel (up to the budget itself);
// only failures spend it. A request given back cannot tell which lot it
// came from: one taken from a lapsed lot may refill the next, by at most
// what was in flight when the first lapsed.
//
// Across replicas, a budget is never exceeded: lots come out of the
// store's budget. A replica's unused lot is not available to the others
// while it lasts, which errs on the side of refusing.
type Leased struct {
	store Store
	name  string
	limit int
	per   time.Duration
	lot   int
	// interval is how long the store takes to earn one request back.
	interval time.Duration
	now      func() time.Time

	mu   sync.Mutex
	lots map[string]*lot
}

type lot struct {
	left      int
	size      int // what the lot took from the store: left plus in flight
	remaining int // the store's remaining when the lot was last topped up
	until     time.Time
	// fetching is closed when the store answers the one request for a new
	// lot in flight; others wait for it rather than take lots of their own.
	fetching chan struct{}
}

// NewLeased returns a budget of limit requests per period kept in st
// under name, leased in lots lasting lease (0: DefaultLease).
func NewLeased(st Store, name string, limit int, per, lease time.Duration, now func() time.Time) *Leased {
	if lease <= 0 {
		lease = DefaultLease
	}
	if now == nil {
		now = time.Now
	}
	n := int(int64(limit) * int64(lease) / int64(per))
	n = max(1, min(n, limit/10))
	return &Leased{store: st, name: name, limit: limit, per: per, lot: n, interval: max(per/time.Duration(limit), 1), now: now, lots: map[string]*lot{}}
}

// Take hands out a request of the key's lot, taking a new lot from the
// store when it is spent or lapsed (a single request when a whole lot no
// longer fits). Concurrent callers of one key wait for the one request to
// the store in flight rather than each take a lot.
func (l *Leased) Take(ctx context.Context, key string) (Result, error) {
	l.mu.Lock()
	lt := l.lots[key]
	for {
		now := l.now()
		if lt != nil && lt.left > 0 && now.Before(lt.until) {
			lt.left--
			res := Result{OK: true, Remaining: lt.remaining + lt.left}
			l.mu.Unlock()
			return res, nil
		}
		if lt == nil || lt.fetching == nil {
			break
		}
		wait := lt.fetching
		l.mu.Unlock()
		select {
		case <-wait:
		case <-ctx.Done():
			return Result{}, ctx.Err()
		}
		l.mu.Lock()
		lt = l.lots[key]
	}
	if lt == nil {
		if len(l.lots) > 100_000 {
			l.dropLapsedLocked(l.now())
		}
		lt = &lot{}
		l.lots[key] = lt
	}
	done := make(chan struct{})
	lt.fetching = done
	l.mu.Unlock()

	k := l.name + ":" + key
	n := l.lot
	res, err := l.store.Take(ctx, k, l.limit, l.per, n)
	if err == nil && !res.OK && n > 1 {
		n = 1
		res, err = l.store.Take(ctx, k, l.limit, l.per, n)
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	lt.fetching = nil
	close(done)
	if err != nil || !res.OK {
		return res, err
	}
	// The store earns the n requests back one interval after another,
	// after what the lot already holds when it still lasts.
	now, earn := l.now(), time.Duration(n)*l.interval
	if now.Before(lt.until) {
		lt.left, lt.size, lt.until = lt.left+n-1, lt.size+n, lt.until.Add(earn)
	} else {
		lt.left, lt.size, lt.until = n-1, n, now.Add(earn)
	}
	lt.remaining = res.Remaining
	return Result{OK: true, Remaining: res.Remaining + lt.left}, nil
}

// Give gives the request back to the key's lot, while it lasts and up to
// what the lot took from the store.
func (l *Leased) Give(ctx context.Context, key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if lt := l.lots[key]; lt != nil && l.now().Before(lt.until) && lt.left < lt.size {
		lt.left++
	}
	return nil
}

// Remaining is what the key's lot and the store had left when the lot was
// taken, or, without a lot, what the store has left.
func (l *Leased) Remaining(ctx context.Context, key string) (int, error) {
	l.mu.Lock()
	if lt := l.lots[key]; lt != nil && l.now().Before(lt.until) {
		n := lt.remaining + lt.left
		l.mu.Unlock()
		return n, nil
	}
	l.mu.Unlock()
	return l.store.Remaining(ctx, l.name+":"+key, l.limit, l.per)
}

func (l *Leased) dropLapsedLocked(now time.Time) {
	for k, lt := range l.lots {
		if !now.Before(lt.until) && lt.fetching == nil {
			delete(l.lots, k)
		}
	}
}
