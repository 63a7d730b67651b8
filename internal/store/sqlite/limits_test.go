package sqlite_test

import (
	"context"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/ratelimit/ratelimittest"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// TestLimitsConformance runs the rate-limit store suite on the database
// file's rate_limits table.
func TestLimitsConformance(t *testing.T) {
	db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyhole.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store { return db.Limits(nil) })
}

// TestLimitsSweep: the sweep deletes the rows whose budget is full again,
// at the exact instant and not a microsecond before, and keeps the others;
// a swept key has its whole budget, as before.
func TestLimitsSweep(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyhole.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	l := db.Limits(func() time.Time { return now })
	// 10 per 10 s: one request is earned back every second.
	if res, err := l.Take(ctx, "short", 10, 10*time.Second, 1); err != nil || !res.OK {
		t.Fatalf("take: %+v, %v", res, err)
	}
	if res, err := l.Take(ctx, "long", 10, 10*time.Second, 5); err != nil || !res.OK {
		t.Fatalf("take: %+v, %v", res, err)
	}
	for _, c := range []struct {
		at   time.Duration
		want int64
	}{
		{time.Second - time.Microsecond, 0}, // "short" not yet full
		{time.Second, 0},                    // full at this instant: tat < now is false
		{time.Second + time.Microsecond, 1}, // "short" swept
		{5 * time.Second, 0},
		{5*time.Second + time.Microsecond, 1}, // "long" swept
	} {
		now = time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC).Add(c.at)
		if n, err := l.Sweep(ctx, 100); err != nil || n != c.want {
			t.Errorf("sweep at +%v: %d rows, %v; want %d", c.at, n, err, c.want)
		}
	}
	if n, err := l.Remaining(ctx, "long", 10, 10*time.Second); err != nil || n != 10 {
		t.Errorf("a swept key has %d left (%v), want 10", n, err)
	}
}

// TestLimitsClockSetBack: when the process's clock is set back by an
// hour, a spent budget of 10 per 10 s stays spent for its window at most,
// not for the hour.
func TestLimitsClockSetBack(t *testing.T) {
	ctx := context.Background()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "keyhole.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	t0 := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	now := t0
	l := db.Limits(func() time.Time { return now })
	if res, err := l.Take(ctx, "k", 10, 10*time.Second, 10); err != nil || !res.OK {
		t.Fatalf("take 10: %+v, %v", res, err)
	}
	now = t0.Add(-time.Hour)
	if res, err := l.Take(ctx, "k", 10, 10*time.Second, 1); err != nil || res.OK || res.RetryAfter != time.Second {
		t.Errorf("take after the clock went back: %+v, %v; want refused, retry in 1s", res, err)
	}
	now = now.Add(time.Second - time.Microsecond)
	if res, _ := l.Take(ctx, "k", 10, 10*time.Second, 1); res.OK {
		t.Errorf("a request was earned back a microsecond early")
	}
	now = now.Add(time.Microsecond)
	if res, err := l.Take(ctx, "k", 10, 10*time.Second, 1); err != nil || !res.OK {
		t.Errorf("one second after the clock went back: %+v, %v; want one request earned back", res, err)
	}
	// Giving back counts from the window too.
	if err := l.Give(ctx, "k", 10, 10*time.Second, 10); err != nil {
		t.Fatal(err)
	}
	if n, err := l.Remaining(ctx, "k", 10, 10*time.Second); err != nil || n != 10 {
		t.Errorf("after giving everything back: %d left, %v; want 10", n, err)
	}
}

// BenchmarkLimitsTake measures one take from a budget in the database
// file: one write transaction, what a budget kept there costs each time a
// lease runs out (the Platform API's 4500 an hour: every 10 requests of an
// account), against ratelimit's BenchmarkTake in process.
func BenchmarkLimitsTake(b *testing.B) {
	db, err := sqlite.Open(context.Background(), filepath.Join(b.TempDir(), "keyhole.db"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	l := db.Limits(nil)
	ctx := context.Background()
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		i++
		if _, err := l.Take(ctx, "account:"+strconv.Itoa(i%1000), 1<<30, time.Hour, 1); err != nil {
			b.Fatal(err)
		}
	}
}
