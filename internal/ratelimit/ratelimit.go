// Package ratelimit is a per-key rate limiter in the style of the Heroku
// Platform API: each key (an account, say) may make limit requests per
// period, and the allowance refills gradually, one request every
// period/limit, rather than all at once when a window resets.
//
// It implements the generic cell rate algorithm (GCRA): for every key the
// limiter stores only a theoretical arrival time (TAT), the moment at which
// the key's allowance would be full again. A request at time now is allowed
// when TAT+interval-burst <= now, and then pushes the TAT forward by one
// interval. A key whose TAT has passed is indistinguishable from a key never
// seen, so such keys are dropped from memory.
package ratelimit

import (
	"context"
	"hash/maphash"
	"sync"
	"time"
)

// shardCount spreads keys over independently locked maps, so that requests
// for different keys rarely contend. It is a power of two.
const shardCount = 64

// minSweep is the fewest Take calls between two sweeps of a shard. A shard is
// swept once it has seen at least as many Takes as it holds keys (and at
// least minSweep), which keeps the cost of sweeping O(1) per Take on average
// and a shard at most about twice its number of non-idle keys. Only a Take
// adds a key, so a shard without traffic keeps its idle keys but cannot grow.
const minSweep = 256

// Limiter allows each key limit requests per period, refilled gradually. It
// is safe for concurrent use.
type Limiter struct {
	limit    int
	interval time.Duration // time to earn one request: per/limit
	window   time.Duration // limit*interval: how far ahead a TAT may run
	now      func() time.Time
	base     time.Time // TATs are stored as offsets from base
	seed     maphash.Seed
	shards   [shardCount]shard
}

type shard struct {
	mu   sync.Mutex
	tats map[string]time.Duration // key → TAT as an offset from Limiter.base
	ops  int                      // Takes since the last sweep
	_    [40]byte                 // pad to 64 bytes, so neighbouring shards do not share a cache line
}

// New returns a Limiter that allows limit requests per period per key, for
// example New(4500, time.Hour, nil) for the Heroku Platform API's limit.
// The now function is the clock; nil means time.Now. New panics if limit or
// per is not positive.
func New(limit int, per time.Duration, now func() time.Time) *Limiter {
	if limit <= 0 || per <= 0 {
		panic("ratelimit: limit and per must be positive")
	}
	if now == nil {
		now = time.Now
	}
	interval := max(per/time.Duration(limit), 1)
	l := &Limiter{
		limit:    limit,
		interval: interval,
		// Not per itself: when per is not a multiple of limit, a window of
		// per would admit more than limit requests in a burst.
		window: interval * time.Duration(limit),
		now:    now,
		base:   now(),
		seed:   maphash.MakeSeed(),
	}
	for i := range l.shards {
		l.shards[i].tats = make(map[string]time.Duration)
	}
	return l
}

// Take consumes one request for key: a Result that says whether it is
// allowed, how many more key could make right now and, when refused, how
// long until the next one would be. A refused request consumes nothing.
// It never fails; ctx and the error are there for Budget.
func (l *Limiter) Take(ctx context.Context, key string) (Result, error) {
	now := l.now().Sub(l.base)
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()

	s.ops++
	if s.ops >= max(len(s.tats), minSweep) {
		s.sweep(now)
	}

	tat, seen := s.tats[key]
	if !seen || tat < now {
		tat = now
	}
	next := tat + l.interval
	if next-now > l.window {
		return Result{RetryAfter: next - l.window - now}, nil
	}
	s.tats[key] = next
	return Result{OK: true, Remaining: l.remaining(next, now)}, nil
}

// Give gives back one request taken for key, as if it had not been made:
// the reservation of a check that succeeded. A key's budget never grows
// past its limit.
func (l *Limiter) Give(ctx context.Context, key string) error {
	now := l.now().Sub(l.base)
	s := l.shard(key)
	s.mu.Lock()
	defer s.mu.Unlock()
	tat, seen := s.tats[key]
	if !seen {
		return nil
	}
	if tat -= l.interval; tat <= now {
		delete(s.tats, key)
		return nil
	}
	s.tats[key] = tat
	return nil
}

// Remaining reports how many requests key could make right now, without
// consuming any.
func (l *Limiter) Remaining(ctx context.Context, key string) (int, error) {
	now := l.now().Sub(l.base)
	s := l.shard(key)
	s.mu.Lock()
	tat, seen := s.tats[key]
	s.mu.Unlock()
	if !seen || tat < now {
		return l.limit, nil
	}
	return l.remaining(tat, now), nil
}

// remaining is how many intervals fit between tat and now+window: the
// requests that could still be made at now.
func (l *Limiter) remaining(tat, now time.Duration) int {
	return min(int((now+l.window-tat)/l.interval), l.limit)
}

func (l *Limiter) shard(key string) *shard {
	return &l.shards[maphash.String(l.seed, key)&(shardCount-1)]
}

// sweep deletes keys whose TAT has passed: they have their full allowance,
// exactly as a key never seen. The caller holds s.mu.
func (s *shard) sweep(now time.Duration) {
	for key, tat := range s.tats {
		if tat <= now {
			delete(s.tats, key)
		}
	}
	s.ops = 0
}

// len returns the number of keys held, for tests.
func (l *Limiter) len() int {
	n := 0
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		n += len(s.tats)
		s.mu.Unlock()
	}
	return n
}
