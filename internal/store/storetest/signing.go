package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

func signingKey(at time.Time) keyhole.SigningKey {
	return keyhole.SigningKey{ID: "k-" + id(), Alg: "RS256", Sealed: []byte{0, 1, 255}, CreatedAt: at, ActivatesAt: at}
}

func testSigningKeys(t *testing.T, s store.Store) {
	keys, err := s.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("a new store has %d signing keys", len(keys))
	}
	first := signingKey(t0)
	must(t, s.AddSigningKey(ctx, first, true))
	wantErr(t, s.AddSigningKey(ctx, signingKey(t0), true), store.ErrConflict)
	wantErr(t, s.AddSigningKey(ctx, first, false), store.ErrConflict)
	keys, err = s.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 1 || keys[0].ID != first.ID || !slices.Equal(keys[0].Sealed, first.Sealed) || !keys[0].CreatedAt.Equal(t0) ||
		!keys[0].ActivatesAt.Equal(t0) || !keys[0].RetiresAt.IsZero() || keys[0].Alg != "RS256" {
		t.Fatalf("after the first key: %+v (a refused key must write nothing)", keys)
	}

	// A rotation: the next key is published now and signs from ActivatesAt,
	// when the one before retires.
	next := signingKey(t0.Add(time.Hour))
	next.ActivatesAt = t0.Add(time.Hour + 10*time.Minute)
	must(t, s.AddSigningKey(ctx, next, false))
	third := signingKey(t0.Add(2 * time.Hour))
	third.ActivatesAt = t0.Add(2*time.Hour + 10*time.Minute)
	must(t, s.AddSigningKey(ctx, third, false))
	keys, err = s.SigningKeys(ctx)
	must(t, err)
	if len(keys) != 3 || keys[0].ID != first.ID || keys[1].ID != next.ID || keys[2].ID != third.ID {
		t.Fatalf("keys = %+v, want the three oldest first", keys)
	}
	if !keys[0].RetiresAt.Equal(next.ActivatesAt) || !keys[1].RetiresAt.Equal(third.ActivatesAt) || !keys[2].RetiresAt.IsZero() {
		t.Errorf("retirements = %v, %v, %v; want each key retired when the next one activates", keys[0].RetiresAt, keys[1].RetiresAt, keys[2].RetiresAt)
	}

	// Retired keys go once the cut passes their retirement, not before.
	n, err := s.DeleteRetiredSigningKeys(ctx, next.ActivatesAt.Add(-time.Microsecond))
	must(t, err)
	if n != 0 {
		t.Errorf("deleted %d keys before any retired", n)
	}
	n, err = s.DeleteRetiredSigningKeys(ctx, next.ActivatesAt)
	must(t, err)
	keys, _ = s.SigningKeys(ctx)
	if n != 1 || len(keys) != 2 || keys[0].ID != next.ID {
		t.Errorf("deleted %d, left %+v; want the first key gone, at its retirement", n, keys)
	}
}

func testConcurrentFirstSigningKey(t *testing.T, s store.Store) {
	errs := race(t, 20, func(int) error { return s.AddSigningKey(ctx, signingKey(t0), true) })
	if ok, conflict, other := count(errs); ok != 1 || conflict != 19 {
		t.Fatalf("20 first keys at once: %d made, %d conflicts, %d other errors (%v)", ok, conflict, other, errs)
	}
	if keys, _ := s.SigningKeys(ctx); len(keys) != 1 || !keys[0].RetiresAt.IsZero() {
		t.Errorf("keys after the race: %+v, want one, not retired", keys)
	}
}

// testConcurrentSigningKeyRotations: 20 rotations at once each add their
// key, and exactly one key is left not retired (the one that signs), so
// that none stays published for ever.
func testConcurrentSigningKeyRotations(t *testing.T, s store.Store) {
	must(t, s.AddSigningKey(ctx, signingKey(t0), true))
	errs := race(t, 20, func(i int) error {
		k := signingKey(t0.Add(time.Duration(i+1) * time.Second))
		return s.AddSigningKey(ctx, k, false)
	})
	if ok, _, _ := count(errs); ok != 20 {
		t.Fatalf("20 rotations at once: %d made (%v)", ok, errs)
	}
	keys, err := s.SigningKeys(ctx)
	must(t, err)
	var live int
	for _, k := range keys {
		if k.RetiresAt.IsZero() {
			live++
		}
	}
	if len(keys) != 21 || live != 1 {
		t.Errorf("after 20 rotations at once: %d keys, %d not retired; want 21 and 1", len(keys), live)
	}
}
