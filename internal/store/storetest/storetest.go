// Package storetest is the conformance suite every store.Store backend
// passes: the contract of the interface, case by case, with the concurrency
// cases (single-use values, unique emails) run for real.
package storetest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"reflect"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// Run runs the suite; open returns a new, empty, migrated store each time.
func Run(t *testing.T, open func(t *testing.T) store.Store) {
	cases := []struct {
		name string
		f    func(*testing.T, store.Store)
	}{
		{"Accounts", testAccounts},
		{"AccountCreateIsAtomic", testAccountCreateAtomic},
		{"ResetAccount", testResetAccount},
		{"Clients", testClients},
		{"Authorizations", testAuthorizations},
		{"Ranges", testRanges},
		{"Tokens", testTokens},
		{"TokenByHashGuarded", testTokenByHashGuarded},
		{"UseTokenOnce", testUseTokenOnce},
		{"ConcurrentUseToken", testConcurrentUseToken},
		{"ConcurrentSameEmail", testConcurrentSameEmail},
		{"Sessions", testSessions},
		{"SignInAgainstStaleCredentials", testStaleCredentials},
		{"TokenScope", testTokenScope},
		{"AddTokens", testAddTokens},
		{"RotateRefreshToken", testRotateRefreshToken},
		{"ConcurrentRotate", testConcurrentRotate},
		{"Sweeps", testSweeps},
		{"Apps", testApps},
		{"ConfigVars", testConfigVars},
		{"DeviceGrants", testDeviceGrants},
		{"ConcurrentRedeemDevice", testConcurrentRedeemDevice},
		{"CLILoginThroughBrowser", testCLILoginThroughBrowser},
		{"ConcurrentCLILogin", testConcurrentCLILogin},
		{"BuiltInClient", testBuiltInClient},
		{"EventsWithChanges", testEventsWithChanges},
		{"EventsRollBack", testEventsRollBack},
		{"ResetKeepsSessionAndUsesLink", testResetWithLink},
		{"MFA", testMFA},
		{"ConcurrentEnableMFA", testConcurrentEnableMFA},
		{"ConcurrentRecoveryCode", testConcurrentRecoveryCode},
		{"ConcurrentOTPStep", testConcurrentOTPStep},
		{"MailTokens", testMailTokens},
		{"ConcurrentVerifyEmail", testConcurrentVerifyEmail},
		{"MailLinksEnd", testMailLinksEnd},
		{"SigningKeys", testSigningKeys},
		{"ConcurrentFirstSigningKey", testConcurrentFirstSigningKey},
		{"ConcurrentSigningKeyRotations", testConcurrentSigningKeyRotations},
		{"RequestEmailChange", testRequestEmailChange},
		{"ConcurrentLinkUse", testConcurrentLinkUse},
		{"TouchAndReauth", testTouchAndReauth},
		{"Grants", testGrants},
		{"ConcurrentGrants", testConcurrentGrants},
		{"DeleteUnusedGrants", testDeleteUnusedGrants},
		{"GrantCodeRacesSweep", testGrantCodeRacesSweep},
		{"PeopleSweeps", testPeopleSweeps},
		{"Teams", testTeams},
		{"Members", testMembers},
		{"RemoveMemberGrants", testRemoveMemberGrants},
		{"Invitations", testInvitations},
		{"InvitationsEndWithSender", testInvitationsEndWithSender},
		{"Collaborators", testCollaborators},
		{"TeamApps", testTeamApps},
		{"UpdateAppOwner", testUpdateAppOwner},
		{"ConcurrentDemotions", testConcurrentDemotions},
		{"ConcurrentRemovals", testConcurrentRemovals},
		{"ConcurrentDemoteAndRemove", testConcurrentDemoteAndRemove},
		{"ConcurrentAcceptInvitation", testConcurrentAcceptInvitation},
		{"ConcurrentAddMember", testConcurrentAddMember},
		{"DeleteTeamRacesCreateApp", testDeleteTeamRacesCreateApp},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := open(t)
			if err := s.Ping(context.Background()); err != nil {
				t.Fatalf("Ping: %v", err)
			}
			c.f(t, s)
		})
	}
}

var ctx = context.Background()

// t0 is a time with microseconds, which both databases must keep exactly.
var t0 = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)

func id() string { return uuid.NewString() }

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func wantErr(t *testing.T, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Fatalf("err = %v, want %v", err, target)
	}
}

func account(email string) keyhole.Account {
	return keyhole.Account{ID: id(), Email: email, Name: "N", PasswordHash: "$argon2id$x", CredentialsVersion: 1, CreatedAt: t0, UpdatedAt: t0}
}

// apiKey returns a Default authorization of the account with one token.
func apiKey(accountID string) (keyhole.Authorization, []keyhole.Token) {
	a := keyhole.Authorization{ID: id(), AccountID: accountID, Scope: []string{"global"}, Description: "API Key", Default: true, CreatedAt: t0, UpdatedAt: t0}
	return a, []keyhole.Token{token(a.ID, keyhole.AccessToken)}
}

func token(authID string, kind keyhole.TokenKind) keyhole.Token {
	return keyhole.Token{ID: id(), AuthorizationID: authID, Kind: kind, Hash: "h-" + id(), Hint: "kha_abcd**********wxyz", CreatedAt: t0}
}

// newAccount creates an account with its API key and returns both.
func newAccount(t *testing.T, s store.Store, email string) (keyhole.Account, keyhole.Authorization) {
	t.Helper()
	a := account(email)
	key, tokens := apiKey(a.ID)
	must(t, s.CreateAccount(ctx, a, key, tokens))
	return a, key
}

func newClient(t *testing.T, s store.Store, accountID string) keyhole.Client {
	t.Helper()
	c := keyhole.Client{ID: id(), AccountID: accountID, Name: "App", RedirectURI: "https://app.example/cb",
		SecretHash: "sh-" + id(), SecretSealed: []byte{1, 2, 3, 0, 255}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateClient(ctx, c))
	return c
}

func newAuthorization(t *testing.T, s store.Store, accountID, clientID, sessionID string, kinds ...keyhole.TokenKind) (keyhole.Authorization, []keyhole.Token) {
	t.Helper()
	a := keyhole.Authorization{ID: id(), AccountID: accountID, ClientID: clientID, SessionID: sessionID,
		Scope: []string{"read", "identity"}, Description: "", CreatedAt: t0, UpdatedAt: t0}
	var tokens []keyhole.Token
	for _, k := range kinds {
		tokens = append(tokens, token(a.ID, k))
	}
	must(t, s.CreateAuthorization(ctx, a, tokens))
	return a, tokens
}

func testAccounts(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "Ada@Example.com")
	got, err := s.Account(ctx, a.ID)
	must(t, err)
	if got != a {
		t.Errorf("Account = %+v, want %+v", got, a)
	}
	if !got.CreatedAt.Equal(t0) || got.CreatedAt.Location() != time.UTC || !got.LastLogin.IsZero() {
		t.Errorf("times: created %v (%v), last login %v", got.CreatedAt, got.CreatedAt.Location(), got.LastLogin)
	}
	got, err = s.AccountByEmail(ctx, "ADA@example.COM")
	must(t, err)
	if got.ID != a.ID || got.Email != "Ada@Example.com" {
		t.Errorf("AccountByEmail = %+v", got)
	}
	_, err = s.Account(ctx, id())
	wantErr(t, err, store.ErrNotFound)
	_, err = s.AccountByEmail(ctx, "nobody@example.com")
	wantErr(t, err, store.ErrNotFound)

	b, _ := newAccount(t, s, "bob@example.com")
	// UpdateAccount: fn's error comes back as is, nothing written.
	boom := errors.New("boom")
	_, err = s.UpdateAccount(ctx, a.ID, func(x *keyhole.Account) error { x.Name = "changed"; return boom })
	if err != boom {
		t.Errorf("fn error = %v, want boom itself", err)
	}
	got, _ = s.Account(ctx, a.ID)
	if got.Name != "N" {
		t.Errorf("a failed update wrote the name %q", got.Name)
	}
	// An email taken by another account, in another case, conflicts.
	_, err = s.UpdateAccount(ctx, a.ID, func(x *keyhole.Account) error { x.Email = "BOB@example.com"; return nil })
	wantErr(t, err, store.ErrConflict)
	later := t0.Add(time.Hour + time.Microsecond)
	got, err = s.UpdateAccount(ctx, a.ID, func(x *keyhole.Account) error {
		x.Name, x.LastLogin, x.UpdatedAt, x.EmailVerified = "Ada", later, later, true
		x.ID, x.CreatedAt, x.MFAEnabled = b.ID, later, true // not writable
		return nil
	})
	must(t, err)
	stored, _ := s.Account(ctx, a.ID)
	if stored.Name != "Ada" || !stored.LastLogin.Equal(later) || !stored.UpdatedAt.Equal(later) || !stored.EmailVerified || stored.MFAEnabled || !stored.CreatedAt.Equal(t0) {
		t.Errorf("after update: %+v", stored)
	}
	if b2, _ := s.Account(ctx, b.ID); b2.Name != "N" {
		t.Errorf("the update reached another account: %+v", b2)
	}
	_ = got
	_, err = s.UpdateAccount(ctx, id(), func(*keyhole.Account) error { return nil })
	wantErr(t, err, store.ErrNotFound)
}

func testAccountCreateAtomic(t *testing.T, s store.Store) {
	newAccount(t, s, "ada@example.com")
	a := account("ADA@EXAMPLE.COM")
	key, tokens := apiKey(a.ID)
	wantErr(t, s.CreateAccount(ctx, a, key, tokens), store.ErrConflict)
	_, err := s.Authorization(ctx, key.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Account(ctx, a.ID)
	wantErr(t, err, store.ErrNotFound)

	// A failing API key (its token hash taken) leaves no account behind.
	_, existing := newAuthorization(t, s, "", "", "", keyhole.AccessToken)
	c := account("carol@example.com")
	key, tokens = apiKey(c.ID)
	tokens[0].Hash = existing[0].Hash
	wantErr(t, s.CreateAccount(ctx, c, key, tokens), store.ErrConflict)
	_, err = s.AccountByEmail(ctx, "carol@example.com")
	wantErr(t, err, store.ErrNotFound)
}

func testResetAccount(t *testing.T, s store.Store) {
	a, oldKey := newAccount(t, s, "ada@example.com")
	sess := keyhole.Session{ID: id(), AccountID: a.ID, Description: "cli", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	keepAuth := keyhole.Authorization{ID: id(), AccountID: a.ID, SessionID: sess.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateSession(ctx, sess, 1, &keepAuth, []keyhole.Token{token(keepAuth.ID, keyhole.AccessToken)}))
	other, otherTokens := newAuthorization(t, s, a.ID, "", "", keyhole.AccessToken)
	otherSess := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "x-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, otherSess, 1, nil, nil))
	b, bKey := newAccount(t, s, "bob@example.com")

	changed := a
	changed.PasswordHash, changed.Email, changed.UpdatedAt = "$argon2id$new", "ada@new.example", t0.Add(time.Minute)
	changed.CredentialsVersion = 2
	newKey, newTokens := apiKey(a.ID)
	_, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: 7, Keep: keepAuth.ID, Key: newKey, Tokens: newTokens})
	wantErr(t, err, store.ErrStale)
	if got, _ := s.Account(ctx, a.ID); got.PasswordHash != a.PasswordHash {
		t.Fatal("a stale reset wrote the hash")
	}
	n, err := s.ResetAccount(ctx, store.Reset{Account: changed, Version: 1, Keep: keepAuth.ID, Key: newKey, Tokens: newTokens})
	must(t, err)
	if n != 2 {
		t.Errorf("deleted %d authorizations, want 2 (old API key, other)", n)
	}
	got, _ := s.Account(ctx, a.ID)
	if got.PasswordHash != "$argon2id$new" || got.Email != "ada@new.example" || !got.UpdatedAt.Equal(changed.UpdatedAt) || got.CredentialsVersion != 2 {
		t.Errorf("after reset: %+v", got)
	}
	for _, gone := range []string{oldKey.ID, other.ID} {
		_, err := s.Authorization(ctx, gone)
		wantErr(t, err, store.ErrNotFound)
	}
	_, _, err = s.TokenByHash(ctx, otherTokens[0].Hash)
	wantErr(t, err, store.ErrNotFound)
	if d, err := s.DefaultAuthorization(ctx, a.ID); err != nil || d.ID != newKey.ID {
		t.Errorf("DefaultAuthorization = %v, %v; want the new key", d.ID, err)
	}
	if _, err := s.Session(ctx, sess.ID); err != nil {
		t.Errorf("the caller's session went: %v", err)
	}
	_, err = s.Session(ctx, otherSess.ID)
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.Authorization(ctx, keepAuth.ID); err != nil {
		t.Errorf("the caller's authorization went: %v", err)
	}
	if d, err := s.DefaultAuthorization(ctx, b.ID); err != nil || d.ID != bKey.ID {
		t.Errorf("another account's key was touched: %v", err)
	}
	_, err = s.ResetAccount(ctx, store.Reset{Account: account("x@example.com"), Version: 1})
	wantErr(t, err, store.ErrNotFound)
	// The version moved on: a second reset against 1 is stale.
	_, err = s.ResetAccount(ctx, store.Reset{Account: changed, Version: 1, Keep: keepAuth.ID})
	wantErr(t, err, store.ErrStale)
}

func testClients(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	c := newClient(t, s, a.ID)
	got, err := s.Client(ctx, c.ID)
	must(t, err)
	if got.ID != c.ID || got.Name != c.Name || got.RedirectURI != c.RedirectURI || got.SecretHash != c.SecretHash ||
		!bytes.Equal(got.SecretSealed, c.SecretSealed) || !got.CreatedAt.Equal(t0) || got.Trusted || got.PostLogoutRedirectURIs != nil {
		t.Errorf("Client = %+v, want %+v", got, c)
	}
	wantErr(t, s.CreateClient(ctx, c), store.ErrConflict)
	// Public clients (no secret) may be many.
	for range 2 {
		p := keyhole.Client{ID: id(), AccountID: a.ID, Name: "Public", RedirectURI: "http://127.0.0.1/cb", CreatedAt: t0, UpdatedAt: t0}
		must(t, s.CreateClient(ctx, p))
		if got, _ := s.Client(ctx, p.ID); !got.Public() || got.SecretSealed != nil {
			t.Errorf("public client = %+v", got)
		}
	}
	newClient(t, s, b.ID)
	list, err := s.ListClients(ctx, a.ID, store.Range{})
	must(t, err)
	if len(list) != 3 {
		t.Errorf("ListClients = %d, want 3", len(list))
	}
	got, err = s.UpdateClient(ctx, c.ID, func(x *keyhole.Client) error {
		x.Name, x.SecretHash, x.SecretSealed, x.Trusted, x.UpdatedAt = "Renamed", "sh2", []byte("new"), true, t0.Add(time.Second)
		return nil
	})
	must(t, err)
	if stored, _ := s.Client(ctx, c.ID); stored.Name != "Renamed" || stored.SecretHash != "sh2" || string(stored.SecretSealed) != "new" || !stored.Trusted {
		t.Errorf("after update: %+v", stored)
	}
	_ = got
	// The post-logout URIs keep their order, and an empty list reads back nil.
	logout := []string{"https://app.example/bye", "http://127.0.0.1:8080/"}
	_, err = s.UpdateClient(ctx, c.ID, func(x *keyhole.Client) error { x.PostLogoutRedirectURIs = logout; return nil })
	must(t, err)
	if stored, _ := s.Client(ctx, c.ID); !slices.Equal(stored.PostLogoutRedirectURIs, logout) {
		t.Errorf("PostLogoutRedirectURIs = %q, want %q", stored.PostLogoutRedirectURIs, logout)
	}
	withLogout := keyhole.Client{ID: id(), AccountID: a.ID, Name: "Logout", RedirectURI: "http://127.0.0.1/cb", PostLogoutRedirectURIs: logout[:1], CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateClient(ctx, withLogout))
	if stored, _ := s.Client(ctx, withLogout.ID); !slices.Equal(stored.PostLogoutRedirectURIs, logout[:1]) {
		t.Errorf("created with %q, read %q", logout[:1], stored.PostLogoutRedirectURIs)
	}
	must(t, s.DeleteClient(ctx, withLogout.ID))
	_, err = s.UpdateClient(ctx, c.ID, func(x *keyhole.Client) error { x.PostLogoutRedirectURIs = []string{}; return nil })
	must(t, err)
	if stored, _ := s.Client(ctx, c.ID); stored.PostLogoutRedirectURIs != nil {
		t.Errorf("cleared PostLogoutRedirectURIs = %q, want nil", stored.PostLogoutRedirectURIs)
	}

	// Deleting a client takes its authorizations and their tokens.
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.AccessToken, keyhole.RefreshToken)
	direct, directTokens := newAuthorization(t, s, a.ID, "", "", keyhole.AccessToken)
	must(t, s.DeleteClient(ctx, c.ID))
	_, err = s.Client(ctx, c.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Authorization(ctx, auth.ID)
	wantErr(t, err, store.ErrNotFound)
	for _, tk := range tokens {
		_, _, err = s.TokenByHash(ctx, tk.Hash)
		wantErr(t, err, store.ErrNotFound)
	}
	if _, _, err := s.TokenByHash(ctx, directTokens[0].Hash); err != nil {
		t.Errorf("a direct authorization's token went with the client: %v", err)
	}
	_ = direct
	wantErr(t, s.DeleteClient(ctx, c.ID), store.ErrNotFound)
	_, err = s.UpdateClient(ctx, c.ID, func(*keyhole.Client) error { return nil })
	wantErr(t, err, store.ErrNotFound)
}

func testAuthorizations(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	// A second Default authorization of the same account conflicts.
	dup, dupTokens := apiKey(a.ID)
	wantErr(t, s.CreateAuthorization(ctx, dup, dupTokens), store.ErrConflict)
	d, err := s.DefaultAuthorization(ctx, a.ID)
	must(t, err)
	if d.ID != key.ID || !d.Default || !slices.Equal(d.Scope, []string{"global"}) || d.Description != "API Key" {
		t.Errorf("DefaultAuthorization = %+v", d)
	}
	_, err = s.DefaultAuthorization(ctx, id())
	wantErr(t, err, store.ErrNotFound)

	auth, _ := newAuthorization(t, s, a.ID, c.ID, "", keyhole.GrantCode)
	got, err := s.Authorization(ctx, auth.ID)
	must(t, err)
	if got.ClientID != c.ID || got.AccountID != a.ID || got.SessionID != "" || got.Default || got.Description != "" ||
		!slices.Equal(got.Scope, []string{"read", "identity"}) || !got.UpdatedAt.Equal(t0) {
		t.Errorf("Authorization = %+v", got)
	}
	// A client acting as itself: no account.
	self, _ := newAuthorization(t, s, "", c.ID, "", keyhole.AccessToken)
	if got, err := s.Authorization(ctx, self.ID); err != nil || got.AccountID != "" {
		t.Errorf("client authorization = %+v, %v", got, err)
	}
	wantErr(t, s.CreateAuthorization(ctx, auth, nil), store.ErrConflict)

	later := t0.Add(time.Minute)
	got, err = s.UpdateAuthorization(ctx, auth.ID, func(x *keyhole.Authorization) error {
		x.Description, x.Scope, x.UpdatedAt = "renamed", []string{"write"}, later
		x.AccountID, x.ClientID, x.Default = "", "", true // not writable
		return nil
	})
	must(t, err)
	stored, _ := s.Authorization(ctx, auth.ID)
	if stored.Description != "renamed" || !slices.Equal(stored.Scope, []string{"write"}) || !stored.UpdatedAt.Equal(later) ||
		stored.AccountID != a.ID || stored.ClientID != c.ID || stored.Default {
		t.Errorf("after update: %+v", stored)
	}
	if got.AccountID != a.ID {
		t.Errorf("UpdateAuthorization returned %+v, not what is stored", got)
	}
	boom := errors.New("boom")
	if _, err := s.UpdateAuthorization(ctx, auth.ID, func(*keyhole.Authorization) error { return boom }); err != boom {
		t.Errorf("fn error = %v", err)
	}
	list, err := s.ListAuthorizations(ctx, a.ID, store.Range{})
	must(t, err)
	if len(list) != 2 {
		t.Errorf("ListAuthorizations = %d, want 2 (key and grant; not the client's own)", len(list))
	}
	must(t, s.DeleteAuthorization(ctx, auth.ID))
	wantErr(t, s.DeleteAuthorization(ctx, auth.ID), store.ErrNotFound)
}

func testRanges(t *testing.T, s store.Store) {
	a, key := newAccount(t, s, "ada@example.com")
	ids := []string{key.ID}
	for range 4 {
		x, _ := newAuthorization(t, s, a.ID, "", "")
		ids = append(ids, x.ID)
	}
	slices.Sort(ids)
	list := func(r store.Range) []string {
		t.Helper()
		got, err := s.ListAuthorizations(ctx, a.ID, r)
		must(t, err)
		var out []string
		for _, x := range got {
			out = append(out, x.ID)
		}
		return out
	}
	check := func(name string, got, want []string) {
		t.Helper()
		if !slices.Equal(got, want) {
			t.Errorf("%s = %v, want %v", name, got, want)
		}
	}
	rev := slices.Clone(ids)
	slices.Reverse(rev)
	check("all", list(store.Range{}), ids)
	check("max 2", list(store.Range{Max: 2}), ids[:2])
	check("from 2nd", list(store.Range{Start: ids[1]}), ids[1:])
	check("after 2nd", list(store.Range{Start: ids[1], Exclusive: true, Max: 2}), ids[2:4])
	check("desc", list(store.Range{Desc: true}), rev)
	check("desc after 4th", list(store.Range{Start: ids[3], Exclusive: true, Desc: true}), []string{ids[2], ids[1], ids[0]})
	if _, err := s.ListAuthorizations(ctx, a.ID, store.Range{Field: "description; DROP TABLE accounts"}); err == nil {
		t.Error("an unknown range field was accepted")
	}
}

func testTokens(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	auth, tokens := newAuthorization(t, s, a.ID, c.ID, "", keyhole.GrantCode)
	code := tokens[0]

	tk, au, err := s.TokenByHash(ctx, code.Hash)
	must(t, err)
	if tk.ID != code.ID || tk.Kind != keyhole.GrantCode || au.ID != auth.ID || au.ClientID != c.ID || !slices.Equal(au.Scope, auth.Scope) {
		t.Errorf("TokenByHash = %+v, %+v", tk, au)
	}
	_, _, err = s.TokenByHash(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	// Every field round-trips.
	full := keyhole.Token{ID: id(), AuthorizationID: auth.ID, Kind: keyhole.AccessToken, Hash: "full-" + id(), Hint: "kha_1234**********abcd",
		Sealed: []byte{0, 1, 2}, ExpiresAt: t0.Add(8 * time.Hour), CreatedAt: t0.Add(time.Microsecond),
		RedirectURI: "https://app.example/cb?x=1", CodeChallenge: "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
		SignIn: &keyhole.SignIn{AuthTime: t0.Add(-time.Minute), AMR: []string{"pwd", "otp", "mfa"}, SessionID: id(), Nonce: "n-0S6_WzA2Mj"}}
	must(t, s.ReplaceTokens(ctx, auth.ID, []keyhole.Token{full}))
	got, _, err := s.TokenByHash(ctx, full.Hash)
	must(t, err)
	if got.ID != full.ID || got.Hint != full.Hint || !bytes.Equal(got.Sealed, full.Sealed) || !got.ExpiresAt.Equal(full.ExpiresAt) ||
		!got.CreatedAt.Equal(full.CreatedAt) || !got.UsedAt.IsZero() || got.RedirectURI != full.RedirectURI || got.CodeChallenge != full.CodeChallenge {
		t.Errorf("token = %+v, want %+v", got, full)
	}
	if got.SignIn == nil || !got.SignIn.AuthTime.Equal(full.SignIn.AuthTime) || !slices.Equal(got.SignIn.AMR, full.SignIn.AMR) ||
		got.SignIn.SessionID != full.SignIn.SessionID || got.SignIn.Nonce != full.SignIn.Nonce {
		t.Errorf("token sign-in = %+v, want %+v", got.SignIn, full.SignIn)
	}
	if listed, err := s.Tokens(ctx, auth.ID); err != nil || len(listed) == 0 || listed[len(listed)-1].SignIn == nil {
		t.Errorf("Tokens lost the sign-in: %+v, %v", listed, err)
	}
	if tk.SignIn != nil {
		t.Errorf("a token stored without a sign-in reads back with %+v", tk.SignIn)
	}

	// Use the code, then replace the access and refresh tokens: the used
	// code stays, the unused access token of the same kind goes.
	used, err := s.UseToken(ctx, code.Hash, keyhole.GrantCode, t0.Add(time.Second))
	must(t, err)
	if !used.UsedAt.Equal(t0.Add(time.Second)) {
		t.Errorf("UsedAt = %v", used.UsedAt)
	}
	a2, r2 := token(auth.ID, keyhole.AccessToken), token(auth.ID, keyhole.RefreshToken)
	a2.CreatedAt, r2.CreatedAt = t0.Add(2*time.Second), t0.Add(2*time.Second+time.Microsecond)
	must(t, s.ReplaceTokens(ctx, auth.ID, []keyhole.Token{a2, r2}))
	all, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	var kinds []string
	for _, x := range all {
		kinds = append(kinds, fmt.Sprintf("%s:%v", x.Kind, !x.UsedAt.IsZero()))
	}
	if want := []string{"code:true", "access:false", "refresh:false"}; !slices.Equal(kinds, want) {
		t.Errorf("tokens after replace (oldest first) = %v, want %v", kinds, want)
	}
	_, _, err = s.TokenByHash(ctx, full.Hash)
	wantErr(t, err, store.ErrNotFound)

	// A used refresh token survives the next rotation.
	_, err = s.UseToken(ctx, r2.Hash, keyhole.RefreshToken, t0.Add(3*time.Second))
	must(t, err)
	must(t, s.ReplaceTokens(ctx, auth.ID, []keyhole.Token{token(auth.ID, keyhole.AccessToken), token(auth.ID, keyhole.RefreshToken)}))
	if old, _, err := s.TokenByHash(ctx, r2.Hash); err != nil || old.UsedAt.IsZero() {
		t.Errorf("rotated refresh token = %+v, %v; want kept, used", old, err)
	}

	wantErr(t, s.ReplaceTokens(ctx, id(), []keyhole.Token{token(id(), keyhole.AccessToken)}), store.ErrNotFound)
	dup := token(auth.ID, keyhole.AccessToken)
	dup.Hash = r2.Hash
	wantErr(t, s.ReplaceTokens(ctx, auth.ID, []keyhole.Token{dup}), store.ErrConflict)

	// Expiry sweeping.
	exp := token(auth.ID, keyhole.GrantCode)
	exp.ExpiresAt = t0.Add(time.Minute)
	must(t, s.ReplaceTokens(ctx, auth.ID, []keyhole.Token{exp}))
	n, err := s.DeleteExpiredTokens(ctx, t0.Add(time.Minute-time.Microsecond), 100)
	must(t, err)
	if n != 0 {
		t.Errorf("deleted %d tokens before their expiry", n)
	}
	n, err = s.DeleteExpiredTokens(ctx, t0.Add(time.Minute), 100)
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteExpiredTokens = %d, want 1 (never-expiring tokens stay)", n)
	}

	// Several authorizations' tokens at once.
	other, otherTokens := newAuthorization(t, s, a.ID, "", "", keyhole.AccessToken, keyhole.RefreshToken)
	cur, err := s.Tokens(ctx, auth.ID)
	must(t, err)
	both, err := s.Tokens(ctx, auth.ID, other.ID, id())
	must(t, err)
	mine, theirs := 0, 0
	for _, x := range both {
		switch x.AuthorizationID {
		case auth.ID:
			mine++
		case other.ID:
			theirs++
		}
	}
	if mine != len(cur) || theirs != len(otherTokens) || len(both) != mine+theirs {
		t.Errorf("Tokens of two authorizations: %d + %d of %d, want %d + %d", mine, theirs, len(both), len(cur), len(otherTokens))
	}
	if none, err := s.Tokens(ctx); err != nil || len(none) != 0 {
		t.Errorf("Tokens() = %v, %v", none, err)
	}

	// Deleting the authorization takes every token.
	must(t, s.DeleteAuthorization(ctx, auth.ID))
	all, err = s.Tokens(ctx, auth.ID)
	must(t, err)
	if len(all) != 0 {
		t.Errorf("%d tokens outlived their authorization", len(all))
	}
}

func testUseTokenOnce(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	_, tokens := newAuthorization(t, s, a.ID, "", "", keyhole.GrantCode)
	code := tokens[0]
	_, err := s.UseToken(ctx, code.Hash, keyhole.RefreshToken, t0)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UseToken(ctx, "nope", keyhole.GrantCode, t0)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UseToken(ctx, code.Hash, keyhole.GrantCode, t0.Add(time.Second))
	must(t, err)
	stored, err := s.UseToken(ctx, code.Hash, keyhole.GrantCode, t0.Add(2*time.Second))
	wantErr(t, err, store.ErrConflict)
	if !stored.UsedAt.Equal(t0.Add(time.Second)) || stored.ID != code.ID {
		t.Errorf("second use returned %+v, want the stored token used at the first time", stored)
	}
}

// race runs f in n goroutines released together and fails the test, with a
// dump of every goroutine, if they do not finish in time.
func race(t *testing.T, n int, f func(i int) error) []error {
	t.Helper()
	errs := make([]error, n)
	var start, done sync.WaitGroup
	start.Add(1)
	done.Add(n)
	for i := range n {
		go func() {
			defer done.Done()
			start.Wait()
			errs[i] = f(i)
		}()
	}
	start.Done()
	finished := make(chan struct{})
	go func() { done.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(30 * time.Second):
		var b strings.Builder
		pprof.Lookup("goroutine").WriteTo(&b, 2)
		t.Fatalf("concurrent calls did not finish in 30s (deadlock?):\n%s", b.String())
	}
	return errs
}

func count(errs []error) (ok, conflict, other int) {
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrConflict):
			conflict++
		default:
			other++
		}
	}
	return
}

func testConcurrentUseToken(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	_, tokens := newAuthorization(t, s, a.ID, "", "", keyhole.GrantCode)
	errs := race(t, 8, func(int) error {
		_, err := s.UseToken(ctx, tokens[0].Hash, keyhole.GrantCode, t0)
		return err
	})
	if ok, conflict, other := count(errs); ok != 1 || conflict != 7 {
		t.Errorf("8 concurrent uses: %d won, %d conflicts, %d other errors (%v); want exactly one winner", ok, conflict, other, errs)
	}
}

func testConcurrentSameEmail(t *testing.T, s store.Store) {
	errs := race(t, 8, func(i int) error {
		a := account([]string{"ada@example.com", "ADA@example.com"}[i%2])
		key, tokens := apiKey(a.ID)
		return s.CreateAccount(ctx, a, key, tokens)
	})
	if ok, conflict, other := count(errs); ok != 1 || conflict != 7 {
		t.Errorf("8 concurrent sign-ups with one email: %d won, %d conflicts, %d other errors (%v)", ok, conflict, other, errs)
	}
}

func testSessions(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	browser := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "sh-" + id(), Description: "Browser", IP: "127.0.0.1", UserAgent: "UA",
		CreatedAt: t0, ExpiresAt: t0.Add(24 * time.Hour), AMR: []string{"pwd", "otp", "mfa"}}
	must(t, s.CreateSession(ctx, browser, 1, nil, nil))
	got, err := s.SessionByHash(ctx, browser.Hash)
	must(t, err)
	if !reflect.DeepEqual(got, browser) {
		t.Errorf("SessionByHash = %+v, want %+v", got, browser)
	}
	dup := browser
	dup.ID = id()
	wantErr(t, s.CreateSession(ctx, dup, 1, nil, nil), store.ErrConflict)
	if acct, _ := s.Account(ctx, a.ID); !acct.LastLogin.Equal(browser.CreatedAt) {
		t.Errorf("LastLogin = %v, want the sign-in's %v", acct.LastLogin, browser.CreatedAt)
	}
	_, err = s.SessionByHash(ctx, "")
	wantErr(t, err, store.ErrNotFound)

	// CLI logins: no hash, several of them, each with its authorization.
	var cli []keyhole.Session
	var cliTokens []keyhole.Token
	for range 2 {
		ss := keyhole.Session{ID: id(), AccountID: a.ID, Description: "CLI", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
		auth := keyhole.Authorization{ID: id(), AccountID: a.ID, SessionID: ss.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
		tk := token(auth.ID, keyhole.AccessToken)
		must(t, s.CreateSession(ctx, ss, 1, &auth, []keyhole.Token{tk}))
		cli, cliTokens = append(cli, ss), append(cliTokens, tk)
	}
	// A failing authorization leaves no session behind.
	ss := keyhole.Session{ID: id(), AccountID: a.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	bad := keyhole.Authorization{ID: id(), AccountID: a.ID, SessionID: ss.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	badToken := token(bad.ID, keyhole.AccessToken)
	badToken.Hash = cliTokens[0].Hash
	wantErr(t, s.CreateSession(ctx, ss, 1, &bad, []keyhole.Token{badToken}), store.ErrConflict)
	_, err = s.Session(ctx, ss.ID)
	wantErr(t, err, store.ErrNotFound)

	list, err := s.ListSessions(ctx, a.ID, store.Range{})
	must(t, err)
	if len(list) != 3 {
		t.Errorf("ListSessions = %d, want 3", len(list))
	}
	if got, err := s.Session(ctx, cli[0].ID); err != nil || got.Hash != "" {
		t.Errorf("Session = %+v, %v", got, err)
	}
	// Deleting a session takes what was authorized through it, only that.
	must(t, s.DeleteSession(ctx, cli[0].ID))
	_, _, err = s.TokenByHash(ctx, cliTokens[0].Hash)
	wantErr(t, err, store.ErrNotFound)
	if _, _, err := s.TokenByHash(ctx, cliTokens[1].Hash); err != nil {
		t.Errorf("another session's token went: %v", err)
	}
	wantErr(t, s.DeleteSession(ctx, cli[0].ID), store.ErrNotFound)
	_, err = s.Session(ctx, id())
	wantErr(t, err, store.ErrNotFound)
}

func testApps(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	b, _ := newAccount(t, s, "bob@example.com")
	app := keyhole.App{ID: id(), AccountID: a.ID, Name: "zeta", Region: "eu", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateApp(ctx, app))
	got, err := s.App(ctx, app.ID)
	must(t, err)
	if got != app {
		t.Errorf("App = %+v, want %+v", got, app)
	}
	if got, err := s.AppByName(ctx, "zeta"); err != nil || got.ID != app.ID {
		t.Errorf("AppByName = %+v, %v", got, err)
	}
	taken := app
	taken.ID, taken.AccountID = id(), b.ID
	wantErr(t, s.CreateApp(ctx, taken), store.ErrConflict)
	for _, n := range []string{"alpha", "mid"} {
		must(t, s.CreateApp(ctx, keyhole.App{ID: id(), AccountID: a.ID, Name: n, Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}))
	}
	must(t, s.CreateApp(ctx, keyhole.App{ID: id(), AccountID: b.ID, Name: "bobs", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}))
	byName, err := s.ListApps(ctx, a.ID, store.Range{Field: "name", Start: "alpha", Exclusive: true})
	must(t, err)
	if len(byName) != 2 || byName[0].Name != "mid" || byName[1].Name != "zeta" {
		t.Errorf("ListApps by name after alpha = %v", byName)
	}
	_, err = s.UpdateApp(ctx, app.ID, func(x *keyhole.App) error { x.Name = "alpha"; return nil })
	wantErr(t, err, store.ErrConflict)
	_, err = s.UpdateApp(ctx, app.ID, func(x *keyhole.App) error {
		x.Name, x.Maintenance, x.UpdatedAt = "omega", true, t0.Add(time.Hour)
		return nil
	})
	must(t, err)
	if got, _ := s.App(ctx, app.ID); got.Name != "omega" || !got.Maintenance || !got.UpdatedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("after update: %+v", got)
	}
	must(t, s.DeleteApp(ctx, app.ID))
	_, err = s.App(ctx, app.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteApp(ctx, app.ID), store.ErrNotFound)
	_, err = s.AppByName(ctx, "omega")
	wantErr(t, err, store.ErrNotFound)
}

func testConfigVars(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	app := keyhole.App{ID: id(), AccountID: a.ID, Name: "app", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateApp(ctx, app))
	vars, err := s.ConfigVars(ctx, app.ID)
	must(t, err)
	if vars == nil || len(vars) != 0 {
		t.Errorf("new app's config vars = %#v, want an empty map", vars)
	}
	one, two := "1", "2"
	vars, err = s.UpdateConfigVars(ctx, app.ID, map[string]*string{"A": &one, "B": &two}, t0.Add(time.Second))
	must(t, err)
	if len(vars) != 2 || vars["A"] != "1" {
		t.Errorf("after set: %v", vars)
	}
	three := "3"
	vars, err = s.UpdateConfigVars(ctx, app.ID, map[string]*string{"A": nil, "B": &three, "MISSING": nil}, t0.Add(2*time.Second))
	must(t, err)
	if len(vars) != 1 || vars["B"] != "3" {
		t.Errorf("after merge: %v", vars)
	}
	if got, _ := s.App(ctx, app.ID); !got.UpdatedAt.Equal(t0.Add(2 * time.Second)) {
		t.Errorf("app UpdatedAt = %v", got.UpdatedAt)
	}
	_, err = s.UpdateConfigVars(ctx, id(), map[string]*string{"A": &one}, t0)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.ConfigVars(ctx, id())
	wantErr(t, err, store.ErrNotFound)
	must(t, s.DeleteApp(ctx, app.ID))
	must(t, s.CreateApp(ctx, app))
	if vars, _ := s.ConfigVars(ctx, app.ID); len(vars) != 0 {
		t.Errorf("config vars outlived their app: %v", vars)
	}
}

func deviceGrant(clientID string) keyhole.DeviceGrant {
	return keyhole.DeviceGrant{ID: id(), ClientID: clientID, Scope: []string{"global"}, DeviceHash: "dh-" + id(),
		UserCode: strings.ToUpper(id()[:8]), Interval: 5, Status: keyhole.DevicePending, ExpiresAt: t0.Add(10 * time.Minute), CreatedAt: t0}
}

func testDeviceGrants(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	g := deviceGrant(c.ID)
	must(t, s.CreateDeviceGrant(ctx, g))
	dup := deviceGrant(c.ID)
	dup.UserCode = g.UserCode
	wantErr(t, s.CreateDeviceGrant(ctx, dup), store.ErrConflict)
	got, err := s.DeviceGrantByHash(ctx, g.DeviceHash)
	must(t, err)
	if got.ID != g.ID || got.UserCode != g.UserCode || got.Status != keyhole.DevicePending || !got.PolledAt.IsZero() || got.AccountID != "" ||
		!slices.Equal(got.Scope, g.Scope) || !got.ExpiresAt.Equal(g.ExpiresAt) || got.Interval != 5 {
		t.Errorf("DeviceGrantByHash = %+v", got)
	}
	if got, err := s.DeviceGrantByUserCode(ctx, g.UserCode); err != nil || got.ID != g.ID {
		t.Errorf("DeviceGrantByUserCode = %+v, %v", got, err)
	}
	_, err = s.DeviceGrantByUserCode(ctx, "NOPE")
	wantErr(t, err, store.ErrNotFound)
	_, err = s.UpdateDeviceGrant(ctx, g.ID, func(x *keyhole.DeviceGrant) error {
		x.Status, x.AccountID, x.PolledAt, x.Interval = keyhole.DeviceApproved, a.ID, t0.Add(time.Second), 10
		return nil
	})
	must(t, err)
	if got, _ := s.DeviceGrantByHash(ctx, g.DeviceHash); got.Status != keyhole.DeviceApproved || got.AccountID != a.ID || got.Interval != 10 || !got.PolledAt.Equal(t0.Add(time.Second)) {
		t.Errorf("after update: %+v", got)
	}
	auth := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: c.ID, Scope: g.Scope, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.RedeemDeviceGrant(ctx, g.ID, nil, auth, []keyhole.Token{token(auth.ID, keyhole.AccessToken)}))
	_, err = s.DeviceGrantByHash(ctx, g.DeviceHash)
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.Authorization(ctx, auth.ID); err != nil {
		t.Errorf("redeemed authorization: %v", err)
	}
	old := deviceGrant(c.ID)
	must(t, s.CreateDeviceGrant(ctx, old))
	n, err := s.DeleteExpiredDeviceGrants(ctx, old.ExpiresAt, 100)
	must(t, err)
	if n != 1 {
		t.Errorf("DeleteExpiredDeviceGrants = %d", n)
	}
}

func testConcurrentRedeemDevice(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	c := newClient(t, s, a.ID)
	g := deviceGrant(c.ID)
	must(t, s.CreateDeviceGrant(ctx, g))
	errs := race(t, 6, func(int) error {
		auth := keyhole.Authorization{ID: id(), AccountID: a.ID, ClientID: c.ID, Scope: g.Scope, CreatedAt: t0, UpdatedAt: t0}
		return s.RedeemDeviceGrant(ctx, g.ID, nil, auth, []keyhole.Token{token(auth.ID, keyhole.AccessToken)})
	})
	won, notFound := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case errors.Is(err, store.ErrNotFound):
			notFound++
		}
	}
	if won != 1 || notFound != 5 {
		t.Errorf("6 concurrent redeems: %d won, %d not found (%v); want exactly one", won, notFound, errs)
	}
	list, err := s.ListAuthorizations(ctx, a.ID, store.Range{})
	must(t, err)
	if len(list) != 2 {
		t.Errorf("%d authorizations after the race, want 2 (API key and the one redeemed)", len(list))
	}
}

// cliLogin builds what redeeming a device grant for the built-in CLI
// client writes: a session made through the browser session parent, and
// its authorization with one access token.
func cliLogin(accountID, parent string) (keyhole.Session, keyhole.Authorization, []keyhole.Token) {
	ss := keyhole.Session{ID: id(), AccountID: accountID, Description: "Keyhole CLI login from host", ParentID: parent,
		CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	auth := keyhole.Authorization{ID: id(), AccountID: accountID, ClientID: keyhole.CLIClientID, SessionID: ss.ID,
		Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
	return ss, auth, []keyhole.Token{token(auth.ID, keyhole.AccessToken)}
}

func testCLILoginThroughBrowser(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	browser := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "sh-" + id(), Description: "Browser", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, browser, 1, nil, nil))
	g := deviceGrant(keyhole.CLIClientID)
	g.Description = "Keyhole CLI login from host"
	must(t, s.CreateDeviceGrant(ctx, g))
	if got, err := s.DeviceGrantByHash(ctx, g.DeviceHash); err != nil || got.Description != g.Description {
		t.Errorf("DeviceGrantByHash description = %q, %v; want %q", got.Description, err, g.Description)
	}

	// A browser session that is gone takes nothing: the grant stays.
	ss, auth, tokens := cliLogin(a.ID, id())
	wantErr(t, s.RedeemDeviceGrant(ctx, g.ID, &ss, auth, tokens), store.ErrNotFound)
	if _, err := s.DeviceGrantByHash(ctx, g.DeviceHash); err != nil {
		t.Errorf("a failed redeem consumed the grant: %v", err)
	}
	if _, err := s.Session(ctx, ss.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("a failed redeem left its session: %v", err)
	}

	ss, auth, tokens = cliLogin(a.ID, browser.ID)
	must(t, s.RedeemDeviceGrant(ctx, g.ID, &ss, auth, tokens))
	got, err := s.Session(ctx, ss.ID)
	must(t, err)
	if !reflect.DeepEqual(got, ss) {
		t.Errorf("Session = %+v, want %+v", got, ss)
	}
	if _, _, err := s.TokenByHash(ctx, tokens[0].Hash); err != nil {
		t.Errorf("CLI login token: %v", err)
	}
	// Ending the browser session ends the CLI login made through it, its
	// authorization and its token.
	must(t, s.DeleteSession(ctx, browser.ID))
	if _, err := s.Session(ctx, ss.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CLI login outlived its browser session: %v", err)
	}
	if _, _, err := s.TokenByHash(ctx, tokens[0].Hash); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("CLI login token outlived its browser session: %v", err)
	}

	// Ending a CLI login leaves its browser session alone.
	browser2 := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "sh-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, browser2, 1, nil, nil))
	g2 := deviceGrant(keyhole.CLIClientID)
	must(t, s.CreateDeviceGrant(ctx, g2))
	ss2, auth2, tokens2 := cliLogin(a.ID, browser2.ID)
	must(t, s.RedeemDeviceGrant(ctx, g2.ID, &ss2, auth2, tokens2))
	must(t, s.DeleteSession(ctx, ss2.ID))
	if _, err := s.Session(ctx, browser2.ID); err != nil {
		t.Errorf("ending a CLI login ended its browser session: %v", err)
	}

	// A password change made with a CLI login's token keeps that login,
	// though the browser session it was made through ends.
	g3 := deviceGrant(keyhole.CLIClientID)
	must(t, s.CreateDeviceGrant(ctx, g3))
	ss3, auth3, tokens3 := cliLogin(a.ID, browser2.ID)
	must(t, s.RedeemDeviceGrant(ctx, g3.ID, &ss3, auth3, tokens3))
	acct, err := s.Account(ctx, a.ID)
	must(t, err)
	acct.CredentialsVersion++
	_, err = s.ResetAccount(ctx, store.Reset{Account: acct, Version: acct.CredentialsVersion - 1, Keep: auth3.ID})
	must(t, err)
	if _, err := s.Session(ctx, browser2.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the browser session survived the password change: %v", err)
	}
	if got, err := s.Session(ctx, ss3.ID); err != nil || got.ParentID != "" {
		t.Errorf("the kept CLI login: %+v, %v; want it kept, detached", got, err)
	}
	if _, _, err := s.TokenByHash(ctx, tokens3[0].Hash); err != nil {
		t.Errorf("the kept CLI login's token: %v", err)
	}
}

// testConcurrentCLILogin: 20 redeems of one grant, each with its own
// session: one wins and exactly one session is written.
func testConcurrentCLILogin(t *testing.T, s store.Store) {
	a, _ := newAccount(t, s, "ada@example.com")
	browser := keyhole.Session{ID: id(), AccountID: a.ID, Hash: "sh-" + id(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx, browser, 1, nil, nil))
	g := deviceGrant(keyhole.CLIClientID)
	must(t, s.CreateDeviceGrant(ctx, g))
	errs := race(t, 20, func(int) error {
		ss, auth, tokens := cliLogin(a.ID, browser.ID)
		return s.RedeemDeviceGrant(ctx, g.ID, &ss, auth, tokens)
	})
	won := 0
	for _, err := range errs {
		switch {
		case err == nil:
			won++
		case !errors.Is(err, store.ErrNotFound):
			t.Errorf("redeem: %v", err)
		}
	}
	sessions, err := s.ListSessions(ctx, a.ID, store.Range{})
	must(t, err)
	if won != 1 || len(sessions) != 2 {
		t.Errorf("20 concurrent redeems: %d won, %d sessions; want 1 and 2 (the browser's and one CLI login)", won, len(sessions))
	}
}

// testBuiltInClient: the migrations make the CLI's public client, owned by
// the system account.
func testBuiltInClient(t *testing.T, s store.Store) {
	c, err := s.Client(ctx, keyhole.CLIClientID)
	must(t, err)
	if !c.Public() || c.Trusted || c.AccountID != keyhole.SystemAccountID || c.Name != "Keyhole CLI" {
		t.Errorf("built-in client = %+v", c)
	}
	sys, err := s.Account(ctx, keyhole.SystemAccountID)
	must(t, err)
	if sys.PasswordHash != "" {
		t.Errorf("the system account has a password hash")
	}
}
