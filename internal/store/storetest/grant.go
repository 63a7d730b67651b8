package storetest

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// grantOf is a new grant of the account to the client, and a code for it
// expiring at expires.
func grantOf(accountID, clientID string, scope []string, expires time.Time) (keyhole.Authorization, keyhole.Token) {
	a := keyhole.Authorization{ID: id(), AccountID: accountID, ClientID: clientID, Scope: scope, Description: "App", CreatedAt: t0, UpdatedAt: t0}
	code := token(a.ID, keyhole.GrantCode)
	code.ExpiresAt = expires
	return a, code
}

// codeFor is another code of the grant a, made at `at`.
func codeFor(a keyhole.Authorization, at, expires time.Time) keyhole.Token {
	code := token(a.ID, keyhole.GrantCode)
	code.CreatedAt, code.ExpiresAt = at, expires
	return code
}

func testGrants(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	c := newClient(t, s, a.ID)
	other := newClient(t, s, a.ID)
	scope := []string{"identity", "read"}

	_, err := s.Grant(ctx, a.ID, c.ID, scope)
	wantErr(t, err, store.ErrNotFound)

	g, code := grantOf(a.ID, c.ID, scope, t0.Add(10*time.Minute))
	must(t, s.GrantCode(ctx, g, false, code, event(a.ID, keyhole.EventAuthorizationGrant, t0)))
	got, err := s.Grant(ctx, a.ID, c.ID, scope)
	must(t, err)
	if got.ID != g.ID || !slices.Equal(got.Scope, scope) || !got.UpdatedAt.Equal(t0) {
		t.Errorf("Grant = %+v, want %+v", got, g)
	}
	if ev := events(t, s, a.ID); len(ev) != 1 {
		t.Errorf("events = %v, want the grant's", types(ev))
	}
	// Another scope, client or account, a login's authorization of the
	// client and the API key are not this grant.
	cli := keyhole.Session{ID: id(), AccountID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	login := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: other.ID, SessionID: cli.ID, Scope: scope, CreatedAt: t0, UpdatedAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, cli, 1, &login, nil))
	for _, q := range []struct {
		name            string
		account, client string
		scope           []string
	}{
		{"narrower scope", a.ID, c.ID, []string{"identity"}},
		{"wider scope", a.ID, c.ID, []string{"identity", "read", "write"}},
		{"empty scope", a.ID, c.ID, nil},
		{"other client", a.ID, other.ID, scope},
		{"other account", b.ID, c.ID, scope},
	} {
		if got, err := s.Grant(ctx, q.account, q.client, q.scope); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s: Grant = %+v, %v; want ErrNotFound", q.name, got, err)
		}
	}

	// A first grant when there is one already, a reuse of another or of
	// none: stale, and nothing written.
	dup, dupCode := grantOf(a.ID, c.ID, scope, t0.Add(10*time.Minute))
	wantErr(t, s.GrantCode(ctx, dup, false, dupCode), store.ErrStale)
	wantErr(t, s.GrantCode(ctx, dup, true, dupCode), store.ErrStale)
	if _, err := s.Authorization(ctx, dup.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a stale grant was written: %v", err)
	}
	if tokens, _ := s.Tokens(ctx, g.ID); len(tokens) != 1 {
		t.Errorf("grant holds %d tokens after stale calls, want 1", len(tokens))
	}

	// A reuse adds the code and writes UpdatedAt; the grant's tokens stay.
	must(t, s.ReplaceTokens(ctx, g.ID, pair(g)))
	g.UpdatedAt = t0.Add(time.Minute)
	second := codeFor(g, t0.Add(time.Minute), t0.Add(11*time.Minute))
	must(t, s.GrantCode(ctx, g, true, second))
	tokens, err := s.Tokens(ctx, g.ID)
	must(t, err)
	var kinds []keyhole.TokenKind
	for _, tk := range tokens {
		kinds = append(kinds, tk.Kind)
	}
	slices.Sort(kinds)
	if want := []keyhole.TokenKind{keyhole.AccessToken, keyhole.GrantCode, keyhole.GrantCode, keyhole.RefreshToken}; !slices.Equal(kinds, want) {
		t.Errorf("tokens after a reuse: %v, want %v", kinds, want)
	}
	if got, _ := s.Authorization(ctx, g.ID); !got.UpdatedAt.Equal(t0.Add(time.Minute)) || !got.CreatedAt.Equal(t0) || got.Description != "App" {
		t.Errorf("grant after a reuse: %+v", got)
	}

	// Of several (made before grants were reused), the one updated last.
	older := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: other.ID, Scope: scope, CreatedAt: t0, UpdatedAt: t0}
	newer := older
	newer.ID, newer.UpdatedAt = id(), t0.Add(time.Second)
	must(t, s.CreateAuthorization(ctx, newer, nil))
	must(t, s.CreateAuthorization(ctx, older, nil))
	if got, err := s.Grant(ctx, a.ID, other.ID, scope); err != nil || got.ID != newer.ID {
		t.Errorf("Grant of several = %v, %v; want the one updated last", got.ID, err)
	}

	// A deleted grant is no longer reused.
	must(t, s.DeleteAuthorization(ctx, g.ID))
	wantErr(t, s.GrantCode(ctx, g, true, codeFor(g, t0, t0.Add(time.Hour))), store.ErrStale)

	// Unknown account or client.
	ghost, ghostCode := grantOf(id(), c.ID, scope, t0.Add(time.Hour))
	wantErr(t, s.GrantCode(ctx, ghost, false, ghostCode), store.ErrNotFound)
	lost, lostCode := grantOf(a.ID, id(), scope, t0.Add(time.Hour))
	wantErr(t, s.GrantCode(ctx, lost, false, lostCode), store.ErrNotFound)
}

// testConcurrentGrants: 20 first grants of one account, client and scope
// at once make one authorization; 20 callers that look again when told
// the grant changed all end up with a code in that one grant.
func testConcurrentGrants(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	scope := []string{"read"}
	errs := race(t, 20, func(int) error {
		g, code := grantOf(a.ID, c.ID, scope, t0.Add(time.Hour))
		return s.GrantCode(ctx, g, false, code)
	})
	var ok, stale int
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrStale):
			stale++
		}
	}
	if ok != 1 || stale != 19 {
		t.Errorf("20 concurrent first grants: %d written, %d stale (%v); want 1 and 19", ok, stale, errs)
	}

	other := newClient(t, s, a.ID)
	errs = race(t, 20, func(int) error {
		for {
			g, err := s.Grant(ctx, a.ID, other.ID, scope)
			reuse := err == nil
			if !reuse {
				if !errors.Is(err, store.ErrNotFound) {
					return err
				}
				g, _ = grantOf(a.ID, other.ID, scope, t0)
			}
			err = s.GrantCode(ctx, g, reuse, codeFor(g, t0, t0.Add(time.Hour)))
			if !errors.Is(err, store.ErrStale) {
				return err
			}
		}
	})
	for _, err := range errs {
		must(t, err)
	}
	list, err := s.ListAuthorizations(ctx, a.ID, store.Range{})
	must(t, err)
	var grants []string
	for _, x := range list {
		if x.ClientID == other.ID {
			grants = append(grants, x.ID)
		}
	}
	if len(grants) != 1 {
		t.Fatalf("20 concurrent grants with retries made %d authorizations, want 1", len(grants))
	}
	if tokens, _ := s.Tokens(ctx, grants[0]); len(tokens) != 20 {
		t.Errorf("the grant holds %d codes, want 20", len(tokens))
	}
}

// testDeleteUnusedGrants: a grant whose codes all expired unused goes at
// their expiry, not a microsecond before; a grant holding anything else,
// and every authorization that is not a grant, stays.
func testDeleteUnusedGrants(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	expiry := t0.Add(10 * time.Minute)
	grant := func(scope string, extra ...keyhole.Token) keyhole.Authorization {
		t.Helper()
		g, code := grantOf(a.ID, c.ID, []string{scope}, expiry)
		must(t, s.GrantCode(ctx, g, false, code))
		for _, tk := range extra {
			tk.AuthorizationID = g.ID
			must(t, s.AddTokens(ctx, g, []keyhole.Token{tk}))
		}
		return g
	}
	unused := grant("read")
	twoUnused := grant("write", codeFor(keyhole.Authorization{}, t0, expiry.Add(-time.Minute)))
	exchanged := grant("identity")
	_, err := s.UseToken(ctx, mustToken(t, s, exchanged.ID, keyhole.GrantCode).Hash, keyhole.GrantCode, t0)
	must(t, err)
	live := grant("read-protected", token("", keyhole.RefreshToken))
	fresh := grant("write-protected", codeFor(keyhole.Authorization{}, t0.Add(time.Minute), expiry.Add(time.Minute)))
	empty := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: c.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateAuthorization(ctx, empty, nil))
	// Not grants: a direct authorization, a login, the client acting as
	// itself, each with no token at all; and the API key.
	direct := keyhole.Authorization{ID: id(), AccountID: a.ID, Scope: []string{"read"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateAuthorization(ctx, direct, nil))
	sess := keyhole.Session{ID: id(), AccountID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	login := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: c.ID, SessionID: sess.ID, Scope: []string{"read"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateSession(ctx, sess, 1, &login, nil))
	itself := keyhole.Authorization{ID: id(), ClientID: c.ID, Scope: []string{"identity"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.AddTokens(ctx, itself, nil))
	must(t, s.DeleteToken(ctx, mustToken(t, s, key.ID, keyhole.AccessToken).ID))

	n, err := s.DeleteUnusedGrants(ctx, expiry.Add(-time.Microsecond), 100)
	must(t, err)
	if n != 1 {
		t.Errorf("a microsecond before the codes expire: deleted %d, want 1 (the grant with no token)", n)
	}
	if _, err := s.Authorization(ctx, empty.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the grant with no token stays: %v", err)
	}
	n, err = s.DeleteUnusedGrants(ctx, expiry, 1)
	must(t, err)
	if n != 1 {
		t.Errorf("first batch of 1 deleted %d", n)
	}
	n2, err := s.DeleteUnusedGrants(ctx, expiry, 100)
	must(t, err)
	if n+n2 != 2 {
		t.Errorf("at the codes' expiry: deleted %d, want 2", n+n2)
	}
	for _, gone := range []keyhole.Authorization{unused, twoUnused} {
		if _, err := s.Authorization(ctx, gone.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("grant %v (scope %v) stays: %v", gone.ID, gone.Scope, err)
		}
		if tokens, _ := s.Tokens(ctx, gone.ID); len(tokens) != 0 {
			t.Errorf("its codes stay: %d", len(tokens))
		}
	}
	for _, kept := range []keyhole.Authorization{exchanged, live, fresh, direct, login, itself, key} {
		if _, err := s.Authorization(ctx, kept.ID); err != nil {
			t.Errorf("authorization with scope %v (client %q, session %q) was deleted: %v", kept.Scope, kept.ClientID, kept.SessionID, err)
		}
	}
}

// testGrantCodeRacesSweep: a code given to a grant that the sweep is
// deleting either lands in the grant, which then stays, or is refused as
// stale; never accepted and then deleted with the grant.
func testGrantCodeRacesSweep(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	expiry := t0.Add(10 * time.Minute)
	for round := range 60 {
		g, code := grantOf(a.ID, c.ID, []string{"read"}, expiry)
		must(t, s.GrantCode(ctx, g, false, code))
		again := codeFor(g, expiry, expiry.Add(10*time.Minute))
		g.UpdatedAt = expiry
		errs := race(t, 2, func(i int) error {
			if i == 0 {
				return s.GrantCode(ctx, g, true, again)
			}
			_, err := s.DeleteUnusedGrants(ctx, expiry, 10)
			return err
		})
		must(t, errs[1])
		_, err := s.Authorization(ctx, g.ID)
		switch {
		case errs[0] == nil && err != nil:
			t.Fatalf("round %d: the code was accepted and its grant deleted (%v)", round, err)
		case errs[0] == nil:
			if _, _, err := s.TokenByHash(ctx, again.Hash); err != nil {
				t.Fatalf("round %d: the accepted code is gone: %v", round, err)
			}
			must(t, s.DeleteAuthorization(ctx, g.ID))
		case !errors.Is(errs[0], store.ErrStale) || !errors.Is(err, store.ErrNotFound):
			t.Fatalf("round %d: GrantCode %v, grant afterwards %v; want stale and gone", round, errs[0], err)
		}
	}
}

// mustToken returns the authorization's token of kind.
func mustToken(t *testing.T, s store.Store, authID string, kind keyhole.TokenKind) keyhole.Token {
	t.Helper()
	tokens, err := s.Tokens(ctx, authID)
	must(t, err)
	for _, tk := range tokens {
		if tk.Kind == kind {
			return tk
		}
	}
	t.Fatalf("authorization %s has no %s token", authID, kind)
	return keyhole.Token{}
}
