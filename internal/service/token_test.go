package service_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/store"
)

// hot counts the token lookups and last-use stamps that get past the
// cache to the database.
type hot struct {
	store.Store
	lookups, touches atomic.Int64
}

func (h *hot) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	h.lookups.Add(1)
	return h.Store.TokenByHash(ctx, hash)
}

func (h *hot) TokenByHashGuarded(ctx context.Context, hash, key string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	h.lookups.Add(1)
	return h.Store.TokenByHashGuarded(ctx, hash, key, g)
}

func (h *hot) TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error {
	h.touches.Add(1)
	return h.Store.TouchAuthorization(ctx, id, at, every)
}

// TestVerifyTokenTouchesOnceAMinute checks that a token in use is
// verified from the cache and its last use written once a minute: the
// touch neither evicts the token nor leaves the cache with a stamp that
// makes every later request touch again.
func TestVerifyTokenTouchesOnceAMinute(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now().UTC().Truncate(time.Microsecond)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			set := func(t time.Time) { mu.Lock(); defer mu.Unlock(); now = t }
			h := &hot{Store: be.Open(t)}
			f := newGrantFixture(t, keyholetest.Backend{Open: func(testing.TB) store.Store { return h }}, keyholetest.Options{Now: clock})
			access := f.tokens(t, "read").Access.Value.Reveal()
			start, lookups0, touches0 := clock(), h.lookups.Load(), h.touches.Load()
			for _, step := range []struct {
				after            time.Duration
				lookups, touches int64
			}{
				{0, 1, 1},
				{time.Second, 1, 1},
				{59 * time.Second, 1, 1},
				{time.Minute, 1, 2},
				{time.Minute + time.Second, 1, 2},
				{2 * time.Minute, 1, 3},
			} {
				set(start.Add(step.after))
				if _, err := f.ts.Service.VerifyToken(context.Background(), access); err != nil {
					t.Fatal(err)
				}
				if l, n := h.lookups.Load()-lookups0, h.touches.Load()-touches0; l != step.lookups || n != step.touches {
					t.Errorf("after %v: %d token lookups and %d touches reached the database, want %d and %d", step.after, l, n, step.lookups, step.touches)
				}
			}
		})
	}
}
