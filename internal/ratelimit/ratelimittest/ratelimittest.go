// Package ratelimittest is the conformance suite of ratelimit.Store: every
// shared store (PostgreSQL, Redis) passes it, with real concurrency.
package ratelimittest

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/ratelimit"
)

// Run runs the suite against the store open returns.
func Run(t *testing.T, open func(t *testing.T) ratelimit.Store) {
	for _, c := range []struct {
		name string
		f    func(*testing.T, ratelimit.Store)
	}{
		{"TakeGiveRemaining", testTakeGiveRemaining},
		{"ConcurrentTakes", testConcurrentTakes},
		{"LeasedAcrossReplicas", testLeasedAcrossReplicas},
		{"LeasedReserveBeforeVerify", testLeasedReserve},
		{"LeasedParallelSuccesses", testLeasedParallelSuccesses},
	} {
		t.Run(c.name, func(t *testing.T) { c.f(t, open(t)) })
	}
}

var ctx = context.Background()

func key() string { return "test:" + uuid.NewString() }

func testTakeGiveRemaining(t *testing.T, s ratelimit.Store) {
	k := key()
	const limit, per = 10, time.Hour
	if n, err := s.Remaining(ctx, k, limit, per); err != nil || n != limit {
		t.Fatalf("Remaining of a new key = %d, %v; want %d", n, err, limit)
	}
	res, err := s.Take(ctx, k, limit, per, 3)
	if err != nil || !res.OK || res.Remaining != 7 {
		t.Fatalf("Take 3 = %+v, %v; want OK with 7 left", res, err)
	}
	for i := range 7 {
		if res, err := s.Take(ctx, k, limit, per, 1); err != nil || !res.OK || res.Remaining != 6-i {
			t.Fatalf("Take %d = %+v, %v; want OK with %d left", i+4, res, err, 6-i)
		}
	}
	res, err = s.Take(ctx, k, limit, per, 1)
	if err != nil || res.OK || res.RetryAfter <= 0 || res.RetryAfter > per/limit {
		t.Fatalf("Take past the limit = %+v, %v; want refused, retry within one interval (%v)", res, err, per/limit)
	}
	// A refused Take takes nothing; Give makes room again.
	if err := s.Give(ctx, k, limit, per, 2); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Remaining(ctx, k, limit, per); n != 2 {
		t.Errorf("after giving 2 back: %d left, want 2", n)
	}
	if res, _ := s.Take(ctx, k, limit, per, 3); res.OK {
		t.Errorf("Take 3 with 2 left succeeded")
	}
	if res, _ := s.Take(ctx, k, limit, per, 2); !res.OK || res.Remaining != 0 {
		t.Errorf("Take 2 with 2 left = %+v", res)
	}
	// Giving back never makes more than the limit.
	for range 20 {
		s.Give(ctx, k, limit, per, 1)
	}
	if n, _ := s.Remaining(ctx, k, limit, per); n != limit {
		t.Errorf("after giving back too much: %d, want %d", n, limit)
	}
	// Budgets refill with time: a budget of 5 per 2 s earns one back every
	// 400 ms.
	k2 := key()
	for range 5 {
		s.Take(ctx, k2, 5, 2*time.Second, 1)
	}
	if res, _ := s.Take(ctx, k2, 5, 2*time.Second, 1); res.OK {
		t.Fatal("a spent budget took more")
	}
	time.Sleep(500 * time.Millisecond)
	if res, _ := s.Take(ctx, k2, 5, 2*time.Second, 1); !res.OK {
		t.Errorf("nothing earned back after 500 ms (one request every 400 ms)")
	}
}

// testConcurrentTakes: 40 takes released together on a budget of 10, as
// from several replicas: exactly 10 succeed.
func testConcurrentTakes(t *testing.T, s ratelimit.Store) {
	k := key()
	var ok, refused atomic.Int32
	parallel(40, func(int) {
		res, err := s.Take(ctx, k, 10, time.Hour, 1)
		switch {
		case err != nil:
			t.Error(err)
		case res.OK:
			ok.Add(1)
		default:
			refused.Add(1)
		}
	})
	if ok.Load() != 10 || refused.Load() != 30 {
		t.Errorf("40 concurrent takes on 10: %d succeeded, %d refused; want 10 and 30", ok.Load(), refused.Load())
	}
}

// testLeasedAcrossReplicas: two processes' Leased budgets on one store
// share it: what one spends, the other sees; together they never exceed
// it.
func testLeasedAcrossReplicas(t *testing.T, s ratelimit.Store) {
	name := key()
	a := ratelimit.NewLeased(s, name, 100, time.Hour, 0, nil)
	b := ratelimit.NewLeased(s, name, 100, time.Hour, 0, nil)
	for range 30 {
		if res, err := a.Take(ctx, "acct"); err != nil || !res.OK {
			t.Fatalf("replica A: %+v, %v", res, err)
		}
	}
	res, err := b.Take(ctx, "acct")
	if err != nil || !res.OK || res.Remaining > 70 {
		t.Errorf("replica B after A spent 30 of 100: %+v, %v; want at most 70 left", res, err)
	}
	total := 31
	for {
		ra, _ := a.Take(ctx, "acct")
		rb, _ := b.Take(ctx, "acct")
		if !ra.OK && !rb.OK {
			break
		}
		if ra.OK {
			total++
		}
		if rb.OK {
			total++
		}
		if total > 100 {
			t.Fatalf("the replicas spent %d of a budget of 100", total)
		}
	}
}

// testLeasedReserve: 40 parallel reservations on a throttle of 10, as a
// secret check makes them: at most 10 reach the check.
func testLeasedReserve(t *testing.T, s ratelimit.Store) {
	b := ratelimit.NewLeased(s, key(), 10, 15*time.Minute, 0, nil)
	var ok atomic.Int32
	parallel(40, func(int) {
		if res, err := b.Take(ctx, "ada@example.com"); err == nil && res.OK {
			ok.Add(1)
		}
	})
	if ok.Load() != 10 {
		t.Errorf("40 parallel reservations on 10: %d succeeded, want 10", ok.Load())
	}
}

// testLeasedParallelSuccesses: checks that succeed give their
// reservations back, so 8 at a time on a throttle of 20 per minute, over
// and over, are never refused and leave the store's budget as good as
// whole; and failures still spend it.
func testLeasedParallelSuccesses(t *testing.T, s ratelimit.Store) {
	name := key()
	b := ratelimit.NewLeased(s, name, 20, time.Minute, 0, nil)
	for round := range 100 {
		// All 8 are in flight at once before any gives back.
		var taken, refused atomic.Int32
		parallel(8, func(int) {
			if res, err := b.Take(ctx, "client"); err == nil && res.OK {
				taken.Add(1)
			} else {
				refused.Add(1)
			}
		})
		for range taken.Load() {
			b.Give(ctx, "client")
		}
		if n := refused.Load(); n > 0 {
			t.Fatalf("round %d of 8 parallel successful checks: %d refused", round, n)
		}
	}
	// The store lent what was in flight at most (8), and nothing more.
	if left, err := s.Remaining(ctx, name+":client", 20, time.Minute); err != nil || left < 12 {
		t.Errorf("after 800 successful checks the store has %d of 20 left (%v); want at least 12", left, err)
	}
	failures := 0
	for {
		res, err := b.Take(ctx, "client")
		if err != nil {
			t.Fatal(err)
		}
		if !res.OK {
			break
		}
		if failures++; failures > 20 {
			t.Fatal("more than 20 failures fit in a budget of 20")
		}
	}
	if failures < 12 {
		t.Errorf("%d failures fit after the successes, want at least 12", failures)
	}
}

func parallel(n int, f func(i int)) {
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Add(1)
		go func() {
			defer done.Done()
			start.Wait()
			f(i)
		}()
	}
	start.Done()
	done.Wait()
}
