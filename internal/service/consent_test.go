package service_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// TestSweepUnusedGrantAuthorizations checks that a grant whose code
// expired unexchanged is swept at the code's expiry, not a microsecond
// before, and that the consent it stood for is asked again; an exchanged
// grant, and one given a new code meanwhile, stay.
func TestSweepUnusedGrantAuthorizations(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			var mu sync.Mutex
			now := time.Now().UTC().Truncate(time.Microsecond)
			clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
			advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }
			f := newGrantFixture(t, be, keyholetest.Options{Now: clock})
			ctx := context.Background()
			grant := func(scope ...string) service.AuthorizationInfo {
				t.Helper()
				info, err := f.ts.Service.CreateGrant(ctx, f.actor, service.GrantParams{ClientID: f.client.ID, Scope: scope})
				if err != nil {
					t.Fatal(err)
				}
				return info
			}
			exists := func(id string) bool {
				t.Helper()
				_, err := f.ts.Store.Authorization(ctx, id)
				if err != nil && !errors.Is(err, store.ErrNotFound) {
					t.Fatal(err)
				}
				return err == nil
			}
			sweep := func() {
				t.Helper()
				if err := f.ts.Service.Sweep(ctx); err != nil {
					t.Fatal(err)
				}
			}
			unused := grant("read")
			exchanged := f.tokens(t, "identity")
			renewed := grant("write")
			advance(service.GrantTTL / 2)
			if again := grant("write"); again.ID != renewed.ID {
				t.Fatalf("a second consent made authorization %s, want the grant %s again", again.ID, renewed.ID)
			}
			advance(service.GrantTTL/2 - time.Microsecond)

			sweep()
			if !exists(unused.ID) {
				t.Fatal("a grant was swept a microsecond before its code expired")
			}
			advance(time.Microsecond)
			sweep()
			if exists(unused.ID) {
				t.Error("a grant whose code expired unused was not swept")
			}
			if !exists(exchanged.Authorization.ID) || !exists(renewed.ID) {
				t.Errorf("swept an exchanged grant (%v) or one with a live code (%v)", !exists(exchanged.Authorization.ID), !exists(renewed.ID))
			}
			c := f.client.Client
			if need, err := f.ts.Service.NeedsConsent(ctx, f.actor, c, []string{"read"}); err != nil || !need {
				t.Errorf("consent to the swept grant's scope: need %v, %v; want it asked again", need, err)
			}
			if need, err := f.ts.Service.NeedsConsent(ctx, f.actor, c, []string{"identity"}); err != nil || need {
				t.Errorf("consent to the exchanged grant's scope: need %v, %v; want it remembered", need, err)
			}
			advance(service.GrantTTL / 2)
			sweep()
			if exists(renewed.ID) {
				t.Error("a grant whose second code expired unused too was not swept")
			}
		})
	}
}

// counting counts the store calls the consent check may make.
type counting struct {
	store.Store
	lists, grants atomic.Int64
}

func (c *counting) ListAuthorizations(ctx context.Context, accountID string, r store.Range) ([]keyhole.Authorization, error) {
	c.lists.Add(1)
	return c.Store.ListAuthorizations(ctx, accountID, r)
}

func (c *counting) Grant(ctx context.Context, accountID, clientID string, scope []string) (keyhole.Authorization, error) {
	c.grants.Add(1)
	return c.Store.Grant(ctx, accountID, clientID, scope)
}

// TestConsentCheckIsOneLookup checks that whether consent is needed is
// one lookup of the grant, not a scan of the account's authorizations,
// and still tells the grant's exact scope from every other.
func TestConsentCheckIsOneLookup(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			cs := &counting{Store: be.Open(t)}
			f := newGrantFixture(t, keyholetest.Backend{Open: func(testing.TB) store.Store { return cs }}, keyholetest.Options{})
			ctx := context.Background()
			for range 3 {
				if _, err := f.ts.Service.CreateAuthorization(ctx, f.actor, service.AuthorizationParams{Scope: []string{"read"}}); err != nil {
					t.Fatal(err)
				}
			}
			f.tokens(t, "read", "identity")
			c := f.client.Client
			for _, tc := range []struct {
				scope []string
				need  bool
			}{
				{[]string{"identity", "read"}, false},
				{[]string{"identity"}, true},
				{[]string{"identity", "read", "write"}, true},
			} {
				cs.lists.Store(0)
				cs.grants.Store(0)
				need, err := f.ts.Service.NeedsConsent(ctx, f.actor, c, tc.scope)
				if err != nil || need != tc.need {
					t.Errorf("NeedsConsent(%v) = %v, %v; want %v", tc.scope, need, err, tc.need)
				}
				if l, g := cs.lists.Load(), cs.grants.Load(); l != 0 || g != 1 {
					t.Errorf("NeedsConsent(%v): %d lists of authorizations and %d grant lookups, want 0 and 1", tc.scope, l, g)
				}
			}
		})
	}
}
