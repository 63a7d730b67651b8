package ratelimit

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestAddressKey: every per-address budget keys IPv4 on the address, IPv6
// on its /64, and IPv4-mapped IPv6 as IPv4.
func TestAddressKey(t *testing.T) {
	for _, c := range []struct{ ip, want string }{
		{"198.51.100.7", "198.51.100.7"},
		{"::ffff:198.51.100.7", "198.51.100.7"},
		{"::ffff:c633:6407", "198.51.100.7"},
		{"2001:db8:1:2::1", "2001:db8:1:2::/64"},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"},
		{"2001:db8:1:3::1", "2001:db8:1:3::/64"},
		{"2001:DB8:1:2:0:0:0:1", "2001:db8:1:2::/64"},
		{"fe80::1%eth0", "fe80::/64"},
		{"::1", "::/64"},
		{"", ""},
		{"not an address", "not an address"},
	} {
		if got := AddressKey(c.ip); got != c.want {
			t.Errorf("AddressKey(%q) = %q, want %q", c.ip, got, c.want)
		}
	}
}

// downStore is a Store that fails while down is set.
type downStore struct {
	Store
	down bool
}

var errDown = errors.New("connection refused")

func (s *downStore) Take(ctx context.Context, key string, limit int, per time.Duration, n int) (Result, error) {
	if s.down {
		return Result{}, errDown
	}
	return s.Store.Take(ctx, key, limit, per, n)
}

func (s *downStore) Give(ctx context.Context, key string, limit int, per time.Duration, n int) error {
	if s.down {
		return errDown
	}
	return s.Store.Give(ctx, key, limit, per, n)
}

func (s *downStore) Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error) {
	if s.down {
		return 0, errDown
	}
	return s.Store.Remaining(ctx, key, limit, per)
}

// memStore is a Store in memory on a clock, for these tests.
type memStore struct {
	now  func() time.Time
	tats map[string]time.Time
}

func (m *memStore) Take(ctx context.Context, key string, limit int, per time.Duration, n int) (Result, error) {
	next, res := GCRA(m.tats[key], m.now(), limit, per, n)
	m.tats[key] = next
	return res, nil
}

func (m *memStore) Give(ctx context.Context, key string, limit int, per time.Duration, n int) error {
	if tat, ok := m.tats[key]; ok {
		m.tats[key] = tat.Add(-time.Duration(n) * (per / time.Duration(limit)))
	}
	return nil
}

func (m *memStore) Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error) {
	return Left(m.tats[key], m.now(), limit, per), nil
}

// TestBoundedWhileStoreDown: while its store fails, a Bounded budget
// rations each key from the process at the same limit — exactly the
// limit, then refused — says so once per Retry, and goes back to the
// store once it answers again.
func TestBoundedWhileStoreDown(t *testing.T) {
	c := newClock()
	st := &downStore{Store: &memStore{now: c.now, tats: map[string]time.Time{}}}
	var downs []string
	b := Bounded{Limits: Shared{Store: st, Now: c.now}, Now: c.now, Retry: 5 * time.Second,
		Down: func(ctx context.Context, name string, err error) { downs = append(downs, name+": "+err.Error()) }}.Budget("api", 5, time.Hour)
	ctx := context.Background()
	for i := range 2 {
		if res, err := b.Take(ctx, "acct"); err != nil || !res.OK || res.Remaining != 4-i {
			t.Fatalf("take %d with the store up: %+v, %v", i+1, res, err)
		}
	}
	st.down = true
	for i := range 5 {
		res, err := b.Take(ctx, "acct")
		if err != nil || !res.OK || res.Remaining != 4-i {
			t.Fatalf("take %d with the store down: %+v, %v; want served from the process, %d left", i+1, res, err, 4-i)
		}
	}
	if res, err := b.Take(ctx, "acct"); err != nil || res.OK || res.RetryAfter <= 0 {
		t.Errorf("the 6th take with the store down: %+v, %v; want refused with a wait", res, err)
	}
	if n, err := b.Remaining(ctx, "acct"); err != nil || n != 0 {
		t.Errorf("Remaining with the store down: %d, %v; want the process's 0", n, err)
	}
	if len(downs) != 1 || downs[0] != "api: connection refused" {
		t.Errorf("Down heard %q, want the one failure", downs)
	}
	// Just before Retry the store is not tried; at Retry it is.
	c.advance(5*time.Second - time.Nanosecond)
	b.Take(ctx, "acct")
	if len(downs) != 1 {
		t.Errorf("the store was tried again before Retry: %q", downs)
	}
	c.advance(time.Nanosecond)
	st.down = false
	if res, err := b.Take(ctx, "acct"); err != nil || !res.OK || res.Remaining != 2 {
		t.Errorf("take with the store back: %+v, %v; want from the store, 2 left", res, err)
	}
}
