package cached_test

import (
	"errors"
	"testing"

	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/cached"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

// TestGuardOnlyWhenTheDatabaseIsRead: a token the cache answers calls no
// guard; a miss (the first read, a read after the token was revoked, a
// read with the cache off) calls it around the database read.
func TestGuardOnlyWhenTheDatabaseIsRead(t *testing.T) {
	f := newFixture(t, cached.Options{})
	g := &storetest.Guard{}
	for range 3 {
		if _, _, err := f.s.TokenByHashGuarded(ctx, f.tok.Hash, "192.0.2.1", g); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.Keys) != 1 || len(g.Errs) != 1 || g.Errs[0] != nil {
		t.Errorf("three reads of a live token: Before %d times, After %v; want once each, the first read", len(g.Keys), g.Errs)
	}
	must(t, f.s.DeleteAuthorization(ctx, f.auth.ID))
	g = &storetest.Guard{}
	if _, _, err := f.s.TokenByHashGuarded(ctx, f.tok.Hash, "192.0.2.1", g); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoked token: %v", err)
	}
	if len(g.Keys) != 1 || len(g.Errs) != 1 || !errors.Is(g.Errs[0], store.ErrNotFound) {
		t.Errorf("a revoked token: Before %d times, After %v; want once each, with ErrNotFound", len(g.Keys), g.Errs)
	}

	off := newFixture(t, cached.Options{Off: true})
	g = &storetest.Guard{}
	for range 3 {
		if _, _, err := off.s.TokenByHashGuarded(ctx, off.tok.Hash, "192.0.2.1", g); err != nil {
			t.Fatal(err)
		}
	}
	if len(g.Keys) != 3 {
		t.Errorf("three reads with the cache off: Before %d times, want 3", len(g.Keys))
	}
}
