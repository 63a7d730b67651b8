package storetest

import (
	"context"
	"errors"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// Guard is a store.Guard that records its calls, and fails Before with
// Refuse when it is set; for the conformance suite and the cache's tests.
type Guard struct {
	Refuse error
	Keys   []string // the keys Before was called with
	Errs   []error  // what After was called with
}

// Before records key and answers Refuse.
func (g *Guard) Before(ctx context.Context, key string) error {
	g.Keys = append(g.Keys, key)
	return g.Refuse
}

// After records err.
func (g *Guard) After(ctx context.Context, key string, err error) { g.Errs = append(g.Errs, err) }

// testTokenByHashGuarded: the guard is called around the database read,
// once each, with the key and the read's error; its refusal is returned
// as it is and After is not called.
func testTokenByHashGuarded(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.AccessToken)

	g := &Guard{}
	tk, au, err := s.TokenByHashGuarded(ctx, tokens[0].Hash, "192.0.2.1", g)
	must(t, err)
	if tk.ID != tokens[0].ID || au.ID != auth.ID {
		t.Errorf("TokenByHashGuarded = %+v, %+v", tk, au)
	}
	if len(g.Keys) != 1 || g.Keys[0] != "192.0.2.1" || len(g.Errs) != 1 || g.Errs[0] != nil {
		t.Errorf("a known token: Before(%q), After(%v); want Before(192.0.2.1) once and After(nil) once", g.Keys, g.Errs)
	}

	g = &Guard{}
	_, _, err = s.TokenByHashGuarded(ctx, "unknown-"+id(), "192.0.2.1", g)
	wantErr(t, err, store.ErrNotFound)
	if len(g.Keys) != 1 || len(g.Errs) != 1 || !errors.Is(g.Errs[0], store.ErrNotFound) {
		t.Errorf("an unknown token: Before(%q), After(%v); want each once, After with ErrNotFound", g.Keys, g.Errs)
	}

	refused := errors.New("budget spent")
	g = &Guard{Refuse: refused}
	_, _, err = s.TokenByHashGuarded(ctx, "unknown-"+id(), "192.0.2.1", g)
	if err != refused {
		t.Errorf("refused by the guard: err = %v, want its error as it is", err)
	}
	if len(g.Keys) != 1 || len(g.Errs) != 0 {
		t.Errorf("refused by the guard: Before(%q), After(%v); want Before once, After never", g.Keys, g.Errs)
	}

	// No guard: TokenByHash.
	if _, _, err := s.TokenByHashGuarded(ctx, "unknown-"+id(), "", nil); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("without a guard: %v, want ErrNotFound", err)
	}
}
