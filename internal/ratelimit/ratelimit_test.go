package ratelimit

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"
	"unsafe"
)

// clock is a manual clock that is safe for concurrent use.
type clock struct{ ns atomic.Int64 }

func newClock() *clock {
	c := &clock{}
	c.ns.Store(time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *clock) now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *clock) advance(d time.Duration) { c.ns.Add(int64(d)) }

func TestTakeFreshKey(t *testing.T) {
	l := New(4500, time.Hour, newClock().now)
	if got := left(l, "a"); got != 4500 {
		t.Errorf("Remaining before any Take = %d, want 4500", got)
	}
	remaining, ok := take(l, "a")
	if !ok || remaining != 4499 {
		t.Errorf("Take = %d, %v, want 4499, true", remaining, ok)
	}
	if got := left(l, "a"); got != 4499 {
		t.Errorf("Remaining after one Take = %d, want 4499", got)
	}
}

func TestTakeExhaustsAndRefills(t *testing.T) {
	const limit, per = 10, time.Minute
	c := newClock()
	l := New(limit, per, c.now)

	for i := range limit {
		remaining, ok := take(l, "a")
		if want := limit - 1 - i; !ok || remaining != want {
			t.Fatalf("Take %d = %d, %v, want %d, true", i+1, remaining, ok, want)
		}
	}
	if remaining, ok := take(l, "a"); ok || remaining != 0 {
		t.Fatalf("Take past the limit = %d, %v, want 0, false", remaining, ok)
	}
	if got := left(l, "a"); got != 0 {
		t.Errorf("Remaining when exhausted = %d, want 0", got)
	}

	// Just short of one interval earns nothing.
	interval := per / limit
	c.advance(interval - time.Nanosecond)
	if _, ok := take(l, "a"); ok {
		t.Fatal("Take before an interval passed was allowed")
	}

	// One interval earns exactly one request.
	c.advance(time.Nanosecond)
	if got := left(l, "a"); got != 1 {
		t.Errorf("Remaining after one interval = %d, want 1", got)
	}
	if remaining, ok := take(l, "a"); !ok || remaining != 0 {
		t.Fatalf("Take after one interval = %d, %v, want 0, true", remaining, ok)
	}
	if _, ok := take(l, "a"); ok {
		t.Fatal("second Take after one interval was allowed")
	}

	// Refill is gradual: half the period earns half the limit.
	c.advance(per / 2)
	if got := left(l, "a"); got != limit/2 {
		t.Errorf("Remaining after half the period = %d, want %d", got, limit/2)
	}

	// A long idle time refills to the limit, never beyond.
	c.advance(10 * per)
	if got := left(l, "a"); got != limit {
		t.Errorf("Remaining after a long idle time = %d, want %d", got, limit)
	}
	if remaining, ok := take(l, "a"); !ok || remaining != limit-1 {
		t.Errorf("Take after a long idle time = %d, %v, want %d, true", remaining, ok, limit-1)
	}
}

func TestKeysAreIndependent(t *testing.T) {
	l := New(3, time.Second, newClock().now)
	for range 3 {
		take(l, "a")
	}
	if _, ok := take(l, "a"); ok {
		t.Fatal("a: Take past the limit was allowed")
	}
	if remaining, ok := take(l, "b"); !ok || remaining != 2 {
		t.Errorf("b: Take = %d, %v, want 2, true", remaining, ok)
	}
	if got := left(l, "c"); got != 3 {
		t.Errorf("c: Remaining = %d, want 3", got)
	}
}

// When per is not a multiple of limit, a burst still admits exactly limit.
func TestUnevenPeriod(t *testing.T) {
	for _, tt := range []struct {
		limit int
		per   time.Duration
	}{
		{3, time.Second},
		{4, 10 * time.Nanosecond},
		{7, 3 * time.Nanosecond}, // per/limit rounds to 0
		{4500, time.Hour},
	} {
		t.Run(fmt.Sprintf("%d per %v", tt.limit, tt.per), func(t *testing.T) {
			l := New(tt.limit, tt.per, newClock().now)
			allowed := 0
			for range 2 * tt.limit {
				if _, ok := take(l, "a"); ok {
					allowed++
				}
			}
			if allowed != tt.limit {
				t.Errorf("allowed %d in a burst, want %d", allowed, tt.limit)
			}
		})
	}
}

func TestConcurrentTakesOnOneKey(t *testing.T) {
	const limit, goroutines, each = 1000, 50, 100
	l := New(limit, time.Hour, newClock().now)
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for range goroutines {
		wg.Go(func() {
			for range each {
				if remaining, ok := take(l, "shared"); ok {
					allowed.Add(1)
					if remaining < 0 || remaining >= limit {
						t.Errorf("remaining = %d, want in [0, %d)", remaining, limit)
					}
				}
				left(l, "shared")
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Errorf("allowed %d of %d concurrent Takes, want exactly %d", got, goroutines*each, limit)
	}
}

func TestIdleKeysAreEvicted(t *testing.T) {
	const keys = 10000
	c := newClock()
	l := New(100, time.Minute, c.now)
	for i := range keys {
		take(l, "idle-"+strconv.Itoa(i))
	}
	if got := l.len(); got != keys {
		t.Fatalf("held %d keys, want %d", got, keys)
	}

	// One Take on a key is forgotten one interval later. Shards are swept
	// by their own traffic, so the busy keys must reach every shard.
	const busy = 1000
	c.advance(time.Minute / 100)
	for i := range 4 * keys {
		take(l, "busy-"+strconv.Itoa(i%busy))
	}
	if got := l.len(); got > busy {
		t.Errorf("held %d keys after the idle ones expired, want at most the %d busy ones", got, busy)
	}
	if got := left(l, "idle-0"); got != 100 {
		t.Errorf("Remaining of an evicted key = %d, want 100", got)
	}
}

// A key with requests still pending refill must survive a sweep.
func TestActiveKeysAreKept(t *testing.T) {
	c := newClock()
	l := New(10, time.Minute, c.now)
	for range 10 {
		take(l, "a")
	}
	for i := range 10 * minSweep * shardCount {
		take(l, "other-"+strconv.Itoa(i%100))
	}
	if _, ok := take(l, "a"); ok {
		t.Error("exhausted key was allowed after a sweep")
	}
}

func TestNewRejectsNonPositive(t *testing.T) {
	for _, tt := range []struct {
		limit int
		per   time.Duration
	}{{0, time.Second}, {-1, time.Second}, {1, 0}, {1, -time.Second}} {
		t.Run(fmt.Sprintf("%d per %v", tt.limit, tt.per), func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Error("New did not panic")
				}
			}()
			New(tt.limit, tt.per, nil)
		})
	}
}

func TestDefaultClock(t *testing.T) {
	l := New(2, time.Hour, nil)
	if remaining, ok := take(l, "a"); !ok || remaining != 1 {
		t.Errorf("Take = %d, %v, want 1, true", remaining, ok)
	}
}

func TestShardSize(t *testing.T) {
	if got := unsafe.Sizeof(shard{}); got != 64 {
		t.Errorf("shard is %d bytes, want 64", got)
	}
}

func BenchmarkTake(b *testing.B) {
	l := New(4500, time.Hour, nil)
	var id atomic.Int64
	b.RunParallel(func(pb *testing.PB) {
		key := "account-" + strconv.FormatInt(id.Add(1), 10)
		for pb.Next() {
			take(l, key)
		}
	})
}

func BenchmarkTakeManyKeys(b *testing.B) {
	keys := make([]string, 1<<14)
	for i := range keys {
		keys[i] = "account-" + strconv.Itoa(i)
	}
	l := New(4500, time.Hour, nil)
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			take(l, keys[i&(len(keys)-1)])
			i += 7
		}
	})
}

func TestReserveRefund(t *testing.T) {
	const limit, per = 10, 10 * time.Minute
	c := newClock()
	l := New(limit, per, c.now)
	for i := range limit {
		if ok, _ := reserve(l, "a"); !ok {
			t.Fatalf("reservation %d refused", i+1)
		}
	}
	ok, retry := reserve(l, "a")
	if ok || retry != per/limit {
		t.Fatalf("past the limit: %v, retry after %v; want refused, %v", ok, retry, per/limit)
	}
	c.advance(time.Minute / 2)
	if _, retry := reserve(l, "a"); retry != time.Minute/2 {
		t.Errorf("half an interval later: retry after %v, want 30s", retry)
	}
	// A refund makes room at once, exactly one.
	give(l, "a")
	if ok, _ := reserve(l, "a"); !ok {
		t.Error("refunded reservation not available again")
	}
	if ok, _ := reserve(l, "a"); ok {
		t.Error("a refund gave back more than one")
	}
	// Refunds never bank credit beyond a full bucket.
	give(l, "b")
	for range limit + 5 {
		give(l, "a")
	}
	n := 0
	for {
		if ok, _ := reserve(l, "a"); !ok {
			break
		}
		n++
	}
	if n != limit {
		t.Errorf("after many refunds %d reservations, want %d", n, limit)
	}
}

// TestReserveConcurrently: of 40 parallel reservations on a budget of 10,
// exactly 10 succeed.
func TestReserveConcurrently(t *testing.T) {
	l := New(10, 15*time.Minute, newClock().now)
	var ok atomic.Int32
	var wg sync.WaitGroup
	for range 40 {
		wg.Go(func() {
			if got, _ := reserve(l, "ada"); got {
				ok.Add(1)
			}
		})
	}
	wg.Wait()
	if ok.Load() != 10 {
		t.Errorf("%d of 40 reserved, want 10", ok.Load())
	}
}

// take, left, reserve and give call the Budget methods of an
// in-process Limiter, which never fail.
func take(l *Limiter, key string) (int, bool) {
	res, _ := l.Take(context.Background(), key)
	return res.Remaining, res.OK
}

func left(l *Limiter, key string) int {
	n, _ := l.Remaining(context.Background(), key)
	return n
}

func reserve(l *Limiter, key string) (bool, time.Duration) {
	res, _ := l.Take(context.Background(), key)
	return res.OK, res.RetryAfter
}

func give(l *Limiter, key string) { l.Give(context.Background(), key) }
