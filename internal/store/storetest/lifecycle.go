package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// testStaleCredentials: a sign-in checked against credentials that changed
// before it was written is refused, and writes nothing.
func testStaleCredentials(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	_, err := s.UpdateAccount(ctx, a.ID, func(x *keyhole.Account) error {
		x.PasswordHash, x.CredentialsVersion = "$argon2id$changed", x.CredentialsVersion+1
		return nil
	})
	must(t, err)
	sess := keyhole.Session{ID: id(), AccountID: a.ID, Description: "CLI", CreatedAt: t0.Add(time.Hour), ExpiresAt: t0.Add(2 * time.Hour)}
	auth := keyhole.Authorization{ID: id(), AccountID: a.ID, SessionID: sess.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	tk := token(auth.ID, keyhole.AccessToken)
	wantErr(t, s.CreateSession(ctx, sess, a.CredentialsVersion, &auth, []keyhole.Token{tk}), store.ErrStale)
	_, err = s.Session(ctx, sess.ID)
	wantErr(t, err, store.ErrNotFound)
	_, _, err = s.TokenByHash(ctx, tk.Hash)
	wantErr(t, err, store.ErrNotFound)
	if got, _ := s.Account(ctx, a.ID); !got.LastLogin.IsZero() {
		t.Errorf("a refused sign-in stamped LastLogin %v", got.LastLogin)
	}
	must(t, s.CreateSession(ctx, sess, a.CredentialsVersion+1, &auth, []keyhole.Token{tk}))
	wantErr(t, s.CreateSession(ctx, keyhole.Session{ID: id(), AccountID: id(), CreatedAt: t0, ExpiresAt: t0}, 1, nil, nil), store.ErrNotFound)
}

// testTokenScope: a token's own scope round-trips, and nil stays nil (the
// authorization's scope).
func testTokenScope(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	auth, tokens := newAuthorization(t, s, a.ID, "", "", keyhole.AccessToken)
	narrow := token(auth.ID, keyhole.AccessToken)
	narrow.Scope = []string{"identity"}
	must(t, s.AddTokens(ctx, auth, []keyhole.Token{narrow}))
	got, au, err := s.TokenByHash(ctx, narrow.Hash)
	must(t, err)
	if !slices.Equal(got.Scope, []string{"identity"}) || !slices.Equal(got.ScopeOf(au), []string{"identity"}) {
		t.Errorf("narrowed token scope = %v", got.Scope)
	}
	plain, au, err := s.TokenByHash(ctx, tokens[0].Hash)
	must(t, err)
	if plain.Scope != nil || !slices.Equal(plain.ScopeOf(au), auth.Scope) {
		t.Errorf("token without its own scope: %v (of %v)", plain.Scope, plain.ScopeOf(au))
	}
	all, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	for _, x := range all {
		if x.ID == narrow.ID && !slices.Equal(x.Scope, narrow.Scope) {
			t.Errorf("Tokens lost the scope: %v", x.Scope)
		}
	}
}

// testAddTokens: the authorization is made on first use and kept; tokens
// accumulate; a missing client is ErrNotFound; DeleteToken takes one.
func testAddTokens(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	auth := keyhole.Authorization{ID: id(), ClientID: c.ID, Scope: []string{"identity"}, Description: "cc", CreatedAt: t0, UpdatedAt: t0}
	first, second := token(auth.ID, keyhole.AccessToken), token(auth.ID, keyhole.AccessToken)
	must(t, s.AddTokens(ctx, auth, []keyhole.Token{first}))
	changed := auth
	changed.Description = "ignored: the authorization exists"
	must(t, s.AddTokens(ctx, changed, []keyhole.Token{second}))
	all, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	if len(all) != 2 {
		t.Fatalf("%d tokens, want both", len(all))
	}
	if got, _ := s.Authorization(ctx, auth.ID); got.Description != "cc" {
		t.Errorf("AddTokens rewrote the authorization: %q", got.Description)
	}
	dup := token(auth.ID, keyhole.AccessToken)
	dup.Hash = first.Hash
	wantErr(t, s.AddTokens(ctx, auth, []keyhole.Token{dup}), store.ErrConflict)
	orphan := keyhole.Authorization{ID: id(), ClientID: id(), Scope: []string{"identity"}, CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, s.AddTokens(ctx, orphan, []keyhole.Token{token(orphan.ID, keyhole.AccessToken)}), store.ErrNotFound)

	must(t, s.DeleteToken(ctx, first.ID))
	_, _, err = s.TokenByHash(ctx, first.Hash)
	wantErr(t, err, store.ErrNotFound)
	if _, _, err := s.TokenByHash(ctx, second.Hash); err != nil {
		t.Errorf("the other token went: %v", err)
	}
	wantErr(t, s.DeleteToken(ctx, first.ID), store.ErrNotFound)
}

// pair returns a successor access and refresh token of auth, made now:
// each pair is younger than the one before, as issued pairs are.
func pair(auth keyhole.Authorization) []keyhole.Token {
	p := []keyhole.Token{token(auth.ID, keyhole.AccessToken), token(auth.ID, keyhole.RefreshToken)}
	for i := range p {
		p[i].CreatedAt = time.Now().UTC().Truncate(time.Microsecond)
	}
	return p
}

func rotation(hash string, next []keyhole.Token, grace time.Duration) store.Rotation {
	return store.Rotation{Hash: hash, Grace: grace, Retain: 24 * time.Hour, Keep: 3, Next: next, Successor: []byte("sealed " + id())}
}

// testRotateRefreshToken: first use rotates, a repeat within the grace
// answers the stored successor and writes nothing, a reuse after it is
// told apart; used tokens are capped and expire after Retain.
func testRotateRefreshToken(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.AccessToken, keyhole.RefreshToken)
	access, refresh := tokens[0], tokens[1]

	_, err := s.RotateRefreshToken(ctx, rotation("nope", pair(auth), time.Hour))
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RotateRefreshToken(ctx, rotation(access.Hash, pair(auth), time.Hour))
	wantErr(t, err, store.ErrNotFound)

	next := pair(auth)
	r := rotation(refresh.Hash, next, time.Hour)
	res, err := s.RotateRefreshToken(ctx, r)
	must(t, err)
	if res.Outcome != store.Rotated {
		t.Fatalf("first use: outcome %v, want Rotated", res.Outcome)
	}
	_, _, err = s.TokenByHash(ctx, access.Hash)
	wantErr(t, err, store.ErrNotFound)
	used, _, err := s.TokenByHash(ctx, refresh.Hash)
	must(t, err)
	if used.UsedAt.IsZero() || used.ExpiresAt.IsZero() || used.ExpiresAt.Sub(used.UsedAt) > 24*time.Hour+time.Second {
		t.Errorf("used token: used %v, expires %v; want used, expiring Retain later", used.UsedAt, used.ExpiresAt)
	}
	for _, n := range next {
		if _, _, err := s.TokenByHash(ctx, n.Hash); err != nil {
			t.Errorf("successor %s missing: %v", n.Kind, err)
		}
	}

	// Within the grace: the same successor, nothing written.
	again := rotation(refresh.Hash, pair(auth), time.Hour)
	res, err = s.RotateRefreshToken(ctx, again)
	must(t, err)
	if res.Outcome != store.Repeated || !bytes.Equal(res.Successor, r.Successor) {
		t.Errorf("repeat: %v %q, want Repeated with the first successor", res.Outcome, res.Successor)
	}
	if _, _, err := s.TokenByHash(ctx, again.Next[0].Hash); err == nil {
		t.Error("a repeat wrote a new pair")
	}
	// After the grace (0 here): a reuse, and nothing written.
	res, err = s.RotateRefreshToken(ctx, rotation(refresh.Hash, pair(auth), 0))
	must(t, err)
	if res.Outcome != store.Reused {
		t.Errorf("reuse after the grace: %v, want Reused", res.Outcome)
	}
	if _, _, err := s.TokenByHash(ctx, next[0].Hash); err != nil {
		t.Errorf("a reuse touched the live pair: %v", err)
	}

	// A chain of rotations keeps at most Keep used refresh tokens.
	cur := next[1]
	for range 5 {
		n := pair(auth)
		res, err := s.RotateRefreshToken(ctx, rotation(cur.Hash, n, time.Hour))
		must(t, err)
		if res.Outcome != store.Rotated {
			t.Fatalf("chain: %v", res.Outcome)
		}
		cur = n[1]
	}
	all, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	var usedRefresh, live []string
	for _, x := range all {
		switch {
		case x.Kind == keyhole.RefreshToken && !x.UsedAt.IsZero():
			usedRefresh = append(usedRefresh, x.ID)
		case x.UsedAt.IsZero():
			live = append(live, string(x.Kind))
		}
	}
	slices.Sort(live)
	if len(usedRefresh) != 3 || !slices.Equal(live, []string{"access", "refresh"}) {
		t.Errorf("after 7 rotations: %d used refresh tokens (want Keep=3), live %v (want one pair)", len(usedRefresh), live)
	}
	// Retain 0: the used token expires at once and is swept.
	n := pair(auth)
	rr := rotation(cur.Hash, n, time.Hour)
	rr.Retain = 0
	_, err = s.RotateRefreshToken(ctx, rr)
	must(t, err)
	u, _, err := s.TokenByHash(ctx, cur.Hash)
	must(t, err)
	if u.ExpiresAt.IsZero() || u.ExpiresAt.After(time.Now().Add(time.Minute)) {
		t.Errorf("Retain 0: expires %v, want about now", u.ExpiresAt)
	}
}

// testConcurrentRotate: 20 callers present one refresh token at once;
// exactly one rotates, every other one repeats with its successor.
func testConcurrentRotate(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.AccessToken, keyhole.RefreshToken)
	results := make([]store.RotationResult, 20)
	rots := make([]store.Rotation, 20)
	for i := range rots {
		rots[i] = rotation(tokens[1].Hash, pair(auth), time.Hour)
	}
	errs := race(t, 20, func(i int) error {
		var err error
		results[i], err = s.RotateRefreshToken(ctx, rots[i])
		return err
	})
	winner := -1
	for i, res := range results {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if res.Outcome == store.Rotated {
			if winner >= 0 {
				t.Fatalf("callers %d and %d both rotated", winner, i)
			}
			winner = i
		}
	}
	if winner < 0 {
		t.Fatal("nobody rotated")
	}
	for i, res := range results {
		if i != winner && (res.Outcome != store.Repeated || !bytes.Equal(res.Successor, rots[winner].Successor)) {
			t.Errorf("caller %d: %v %q, want Repeated with the winner's successor", i, res.Outcome, res.Successor)
		}
	}
	all, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	if len(all) != 3 {
		t.Errorf("%d tokens after the race, want 3 (used refresh, one live pair)", len(all))
	}
}

// testSweeps: expired sessions (with what was made through them), device
// grants and successors go in batches of at most limit rows.
func testSweeps(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	var sessions []keyhole.Session
	for i := range 5 {
		ss := keyhole.Session{ID: id(), AccountID: a.ID, Hash: fmt.Sprint("sweep-", i, id()), CreatedAt: t0, ExpiresAt: t0.Add(time.Minute)}
		must(t, s.CreateSession(ctx, ss, 1, nil, nil))
		sessions = append(sessions, ss)
	}
	live := keyhole.Session{ID: id(), AccountID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	cliAuth := keyhole.Authorization{ID: id(), AccountID: a.ID, SessionID: sessions[0].ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateSession(ctx, live, 1, nil, nil))
	must(t, s.CreateAuthorization(ctx, cliAuth, []keyhole.Token{token(cliAuth.ID, keyhole.AccessToken)}))

	n, err := s.DeleteExpiredSessions(ctx, t0.Add(time.Minute), 2)
	must(t, err)
	if n != 2 {
		t.Errorf("first batch deleted %d sessions, want 2", n)
	}
	total := n
	for n > 0 {
		n, err = s.DeleteExpiredSessions(ctx, t0.Add(time.Minute), 2)
		must(t, err)
		total += n
	}
	if total != 5 {
		t.Errorf("deleted %d expired sessions, want 5", total)
	}
	if _, err := s.Session(ctx, live.ID); err != nil {
		t.Errorf("a live session was swept: %v", err)
	}
	_, err = s.Authorization(ctx, cliAuth.ID)
	wantErr(t, err, store.ErrNotFound)

	// Successors are forgotten once their grace is over.
	c := newClient(t, s, a.ID)
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.RefreshToken)
	r := rotation(tokens[0].Hash, pair(auth), time.Hour)
	_, err = s.RotateRefreshToken(ctx, r)
	must(t, err)
	n, err = s.ClearSuccessors(ctx, time.Hour, 10)
	must(t, err)
	if n != 0 {
		t.Errorf("cleared %d successors still in their grace", n)
	}
	n, err = s.ClearSuccessors(ctx, -time.Minute, 10)
	must(t, err)
	if n != 1 {
		t.Errorf("cleared %d successors, want 1", n)
	}
	res, err := s.RotateRefreshToken(ctx, rotation(tokens[0].Hash, pair(auth), time.Hour))
	must(t, err)
	if res.Outcome != store.Repeated || res.Successor != nil {
		t.Errorf("after clearing: %v %q, want Repeated without a successor", res.Outcome, res.Successor)
	}
}
