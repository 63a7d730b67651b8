package cached_test

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/cached"
	"github.com/keyhole/keyhole/internal/store/sqlite"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

var ctx = context.Background()

// TestConformance runs the store suite through the cache: the cached store
// keeps every contract of the store behind it, on both backends.
func TestConformance(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			storetest.Run(t, func(t *testing.T) store.Store { return cached.New(b.Open(t), cached.Options{}) })
		})
	}
}

// fixture is an account with a live access token, and a client, in a
// cached SQLite store.
type fixture struct {
	s      *cached.Store
	acct   keyhole.Account
	client keyhole.Client
	auth   keyhole.Authorization
	tok    keyhole.Token
}

var t0 = time.Now().UTC().Truncate(time.Microsecond)

func newFixture(t *testing.T, o cached.Options) fixture {
	t.Helper()
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return fixtureOn(t, db, o)
}

// fixtureOn is newFixture on the store inner.
func fixtureOn(t *testing.T, inner store.Store, o cached.Options) fixture {
	t.Helper()
	s := cached.New(inner, o)
	f := fixture{s: s}
	f.acct = keyhole.Account{ID: uuid.NewString(), Email: "ada@example.com", PasswordHash: "h", CredentialsVersion: 1, CreatedAt: t0, UpdatedAt: t0}
	key := keyhole.Authorization{ID: uuid.NewString(), AccountID: f.acct.ID, Scope: []string{"global"}, Default: true, CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateAccount(ctx, f.acct, key, nil); err != nil {
		t.Fatal(err)
	}
	f.client = keyhole.Client{ID: uuid.NewString(), AccountID: f.acct.ID, Name: "App", RedirectURI: "https://app.example/cb", SecretHash: "s1", CreatedAt: t0, UpdatedAt: t0}
	if err := s.CreateClient(ctx, f.client); err != nil {
		t.Fatal(err)
	}
	f.auth = keyhole.Authorization{ID: uuid.NewString(), AccountID: f.acct.ID, ClientID: f.client.ID, Scope: []string{"read"}, CreatedAt: t0, UpdatedAt: t0}
	f.tok = keyhole.Token{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.AccessToken, Hash: "hash-" + uuid.NewString(), CreatedAt: t0}
	if err := s.CreateAuthorization(ctx, f.auth, []keyhole.Token{f.tok}); err != nil {
		t.Fatal(err)
	}
	return f
}

// warm reads the token, the account and the client twice, so that the
// second reads come from the cache, and checks they did.
func (f fixture) warm(t *testing.T) {
	t.Helper()
	for range 2 {
		if _, _, err := f.s.TokenByHash(ctx, f.tok.Hash); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Account(ctx, f.acct.ID); err != nil {
			t.Fatal(err)
		}
		if _, err := f.s.Client(ctx, f.client.ID); err != nil {
			t.Fatal(err)
		}
	}
	if f.s.Stats.Hits.Load() < 3 {
		t.Fatalf("hits = %d after reading everything twice, want at least 3", f.s.Stats.Hits.Load())
	}
}

// TestEveryChangeDropsWhatItAffects: each way a cached token can die, or a
// cached account or client change, is seen by the very next read.
func TestEveryChangeDropsWhatItAffects(t *testing.T) {
	gone := func(t *testing.T, f fixture) {
		t.Helper()
		if _, _, err := f.s.TokenByHash(ctx, f.tok.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("token after the change: %v, want ErrNotFound", err)
		}
	}
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, f fixture)
		check  func(t *testing.T, f fixture)
	}{
		{"revoke", func(t *testing.T, f fixture) { must(t, f.s.DeleteAuthorization(ctx, f.auth.ID)) }, gone},
		{"regenerate", func(t *testing.T, f fixture) {
			must(t, f.s.ReplaceTokens(ctx, f.auth.ID, []keyhole.Token{{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.AccessToken, Hash: "new-" + uuid.NewString(), CreatedAt: t0}}))
		}, gone},
		{"rotate", func(t *testing.T, f fixture) {
			refresh := keyhole.Token{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.RefreshToken, Hash: "r-" + uuid.NewString(), CreatedAt: t0}
			must(t, f.s.AddTokens(ctx, f.auth, []keyhole.Token{refresh}))
			next := []keyhole.Token{
				{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.AccessToken, Hash: "a2-" + uuid.NewString(), CreatedAt: t0},
				{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.RefreshToken, Hash: "r2-" + uuid.NewString(), CreatedAt: t0},
			}
			_, err := f.s.RotateRefreshToken(ctx, store.Rotation{Hash: refresh.Hash, Grace: time.Second, Retain: time.Hour, Keep: 3, Next: next, Successor: []byte("s")})
			must(t, err)
		}, gone},
		{"delete one token", func(t *testing.T, f fixture) { must(t, f.s.DeleteToken(ctx, f.tok.ID)) }, gone},
		{"delete the client", func(t *testing.T, f fixture) { must(t, f.s.DeleteClient(ctx, f.client.ID)) }, func(t *testing.T, f fixture) {
			gone(t, f)
			if _, err := f.s.Client(ctx, f.client.ID); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("client after deletion: %v", err)
			}
		}},
		{"password change", func(t *testing.T, f fixture) {
			a := f.acct
			a.PasswordHash, a.CredentialsVersion = "h2", 2
			_, err := f.s.ResetAccount(ctx, store.Reset{Account: a, Version: 1})
			must(t, err)
		}, gone},
		{"end of the session", func(t *testing.T, f fixture) {
			sess := keyhole.Session{ID: uuid.NewString(), AccountID: f.acct.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			cli := keyhole.Authorization{ID: uuid.NewString(), AccountID: f.acct.ID, SessionID: sess.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
			tok := keyhole.Token{ID: uuid.NewString(), AuthorizationID: cli.ID, Kind: keyhole.AccessToken, Hash: "cli-" + uuid.NewString(), CreatedAt: t0}
			must(t, f.s.CreateSession(ctx, sess, 1, &cli, []keyhole.Token{tok}))
			for range 2 {
				_, _, err := f.s.TokenByHash(ctx, tok.Hash)
				must(t, err)
			}
			must(t, f.s.DeleteSession(ctx, sess.ID))
			if _, _, err := f.s.TokenByHash(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CLI token after its session ended: %v", err)
			}
		}, func(t *testing.T, f fixture) {}},
		{"browser sign-out ends the CLI logins made through it", func(t *testing.T, f fixture) {
			browser := keyhole.Session{ID: uuid.NewString(), AccountID: f.acct.ID, Hash: "b-" + uuid.NewString(), CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			must(t, f.s.CreateSession(ctx, browser, 1, nil, nil))
			g := keyhole.DeviceGrant{ID: uuid.NewString(), ClientID: keyhole.CLIClientID, Scope: []string{"global"}, DeviceHash: "d-" + uuid.NewString(),
				UserCode: "BCDFGHJK", Interval: 5, Status: keyhole.DeviceApproved, AccountID: f.acct.ID, SessionID: browser.ID, ExpiresAt: t0.Add(time.Hour), CreatedAt: t0}
			must(t, f.s.CreateDeviceGrant(ctx, g))
			login := keyhole.Session{ID: uuid.NewString(), AccountID: f.acct.ID, ParentID: browser.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			cli := keyhole.Authorization{ID: uuid.NewString(), AccountID: f.acct.ID, ClientID: keyhole.CLIClientID, SessionID: login.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
			tok := keyhole.Token{ID: uuid.NewString(), AuthorizationID: cli.ID, Kind: keyhole.AccessToken, Hash: "cli-" + uuid.NewString(), CreatedAt: t0}
			must(t, f.s.RedeemDeviceGrant(ctx, g.ID, &login, cli, []keyhole.Token{tok}))
			for range 2 {
				_, _, err := f.s.TokenByHash(ctx, tok.Hash)
				must(t, err)
			}
			must(t, f.s.DeleteSession(ctx, browser.ID))
			if _, _, err := f.s.TokenByHash(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CLI login token after its browser session ended: %v", err)
			}
		}, func(t *testing.T, f fixture) {}},
		{"account update", func(t *testing.T, f fixture) {
			_, err := f.s.UpdateAccount(ctx, f.acct.ID, func(a *keyhole.Account) error { a.Name = "Ada King"; return nil })
			must(t, err)
		}, func(t *testing.T, f fixture) {
			if a, _ := f.s.Account(ctx, f.acct.ID); a.Name != "Ada King" {
				t.Errorf("account name = %q after the change", a.Name)
			}
		}},
		{"two-factor on and off", func(t *testing.T, f fixture) {
			must(t, f.s.EnableMFA(ctx, f.acct.ID, []byte("seed"), nil, t0))
			if a, _ := f.s.Account(ctx, f.acct.ID); !a.MFAEnabled {
				t.Error("MFA off in the cache after EnableMFA")
			}
			must(t, f.s.DisableMFA(ctx, f.acct.ID, t0))
		}, func(t *testing.T, f fixture) {
			if a, _ := f.s.Account(ctx, f.acct.ID); a.MFAEnabled {
				t.Error("MFA on in the cache after DisableMFA")
			}
		}},
		{"email verified", func(t *testing.T, f fixture) {
			must(t, f.s.CreateMailToken(ctx, keyhole.MailToken{Hash: "m1", AccountID: f.acct.ID, Purpose: keyhole.MailVerify, Email: "ada@new.example", Version: f.acct.CredentialsVersion, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}))
			_, err := f.s.VerifyEmail(ctx, "m1", t0)
			must(t, err)
		}, func(t *testing.T, f fixture) {
			if a, _ := f.s.Account(ctx, f.acct.ID); a.Email != "ada@new.example" || !a.EmailVerified || a.CredentialsVersion != 2 {
				t.Errorf("account in the cache after the email change: %+v", a)
			}
		}},
		{"token used", func(t *testing.T, f fixture) {
			must(t, f.s.TouchAuthorization(ctx, f.auth.ID, t0.Add(time.Hour), time.Minute))
		}, func(t *testing.T, f fixture) {
			if _, a, err := f.s.TokenByHash(ctx, f.tok.Hash); err != nil || !a.LastUsedAt.Equal(t0.Add(time.Hour)) {
				t.Errorf("LastUsedAt of the cached token's authorization = %v, %v", a.LastUsedAt, err)
			}
		}},
		{"every other session ended", func(t *testing.T, f fixture) {
			sess := keyhole.Session{ID: uuid.NewString(), AccountID: f.acct.ID, CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
			cli := keyhole.Authorization{ID: uuid.NewString(), AccountID: f.acct.ID, SessionID: sess.ID, Scope: []string{"global"}, CreatedAt: t0, UpdatedAt: t0}
			tok := keyhole.Token{ID: uuid.NewString(), AuthorizationID: cli.ID, Kind: keyhole.AccessToken, Hash: "cli-" + uuid.NewString(), CreatedAt: t0}
			must(t, f.s.CreateSession(ctx, sess, 1, &cli, []keyhole.Token{tok}))
			for range 2 {
				_, _, err := f.s.TokenByHash(ctx, tok.Hash)
				must(t, err)
			}
			_, err := f.s.DeleteOtherSessions(ctx, f.acct.ID, "")
			must(t, err)
			if _, _, err := f.s.TokenByHash(ctx, tok.Hash); !errors.Is(err, store.ErrNotFound) {
				t.Errorf("CLI token after every other session ended: %v", err)
			}
		}, func(t *testing.T, f fixture) {}},
		{"client secret rotated", func(t *testing.T, f fixture) {
			_, err := f.s.UpdateClient(ctx, f.client.ID, func(c *keyhole.Client) error { c.SecretHash = "s2"; return nil })
			must(t, err)
		}, func(t *testing.T, f fixture) {
			if c, _ := f.s.Client(ctx, f.client.ID); c.SecretHash != "s2" {
				t.Errorf("client secret hash = %q after rotation", c.SecretHash)
			}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, cached.Options{})
			f.warm(t)
			tc.change(t, f)
			tc.check(t, f)
		})
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestNoStaleFill: a read that started before a change cannot put what it
// read back after the change dropped it. A hundred rounds of a reader
// racing a revocation never leave the revoked token in the cache.
func TestNoStaleFill(t *testing.T) {
	for i := range 100 {
		f := newFixture(t, cached.Options{})
		var wg sync.WaitGroup
		wg.Go(func() { f.s.TokenByHash(ctx, f.tok.Hash) })
		wg.Go(func() { must(t, f.s.DeleteAuthorization(ctx, f.auth.ID)) })
		wg.Wait()
		if _, _, err := f.s.TokenByHash(ctx, f.tok.Hash); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("round %d: revoked token answered from the cache", i)
		}
	}
}

// TestSharedStoreTrustsOnlyLiveNotifications: a store other processes
// change is read from the cache only while its notifications flow and
// have shown life within LiveWindow.
func TestSharedStoreTrustsOnlyLiveNotifications(t *testing.T) {
	clk := keyholetest.NewClock(time.Now())
	f := newFixture(t, cached.Options{Shared: true, Now: clk.Now})
	read := func() {
		if _, _, err := f.s.TokenByHash(ctx, f.tok.Hash); err != nil {
			t.Fatal(err)
		}
	}
	read()
	read()
	if f.s.Stats.Hits.Load() != 0 || f.s.Stats.Bypassed.Load() != 2 {
		t.Fatalf("before the notifications are live: hits %d, bypassed %d; want the database every time", f.s.Stats.Hits.Load(), f.s.Stats.Bypassed.Load())
	}
	f.s.SetLive(true)
	read()
	read()
	if f.s.Stats.Hits.Load() != 1 {
		t.Fatalf("live: hits %d, want 1", f.s.Stats.Hits.Load())
	}
	// Quiet for longer than the window: not trusted any more.
	clk.Add(cached.LiveWindow + time.Millisecond)
	read()
	if f.s.Stats.Bypassed.Load() != 3 {
		t.Errorf("after %v without a sign of life: bypassed %d, want 3", cached.LiveWindow, f.s.Stats.Bypassed.Load())
	}
	f.s.Alive()
	read()
	if f.s.Stats.Hits.Load() != 2 {
		t.Errorf("alive again: hits %d, want 2", f.s.Stats.Hits.Load())
	}
	// A change announced by another replica drops the value.
	f.s.Invalidate("auth:" + f.auth.ID)
	if f.s.Len() != 0 {
		t.Errorf("after the notification %d values remain", f.s.Len())
	}
	f.s.SetLive(false)
	read()
	if f.s.Stats.Bypassed.Load() != 4 {
		t.Errorf("notifications lost: bypassed %d, want 4", f.s.Stats.Bypassed.Load())
	}
}

// TestBoundedSize: the cache never holds more than Max values.
func TestBoundedSize(t *testing.T) {
	f := newFixture(t, cached.Options{Max: 50})
	var tokens []keyhole.Token
	for i := range 200 {
		tokens = append(tokens, keyhole.Token{ID: uuid.NewString(), AuthorizationID: f.auth.ID, Kind: keyhole.AccessToken, Hash: fmt.Sprint("b-", i, uuid.NewString()), CreatedAt: t0})
	}
	must(t, f.s.AddTokens(ctx, f.auth, tokens))
	for _, tk := range tokens {
		if _, _, err := f.s.TokenByHash(ctx, tk.Hash); err != nil {
			t.Fatal(err)
		}
		if n := f.s.Len(); n > 50 {
			t.Fatalf("cache holds %d values, want at most 50", n)
		}
	}
}

// TestOff: a cache that is off holds nothing, and every read goes to the
// store behind.
func TestOff(t *testing.T) {
	f := newFixture(t, cached.Options{Off: true})
	for range 3 {
		if _, _, err := f.s.TokenByHash(ctx, f.tok.Hash); err != nil {
			t.Fatal(err)
		}
	}
	if f.s.Len() != 0 || f.s.Stats.Hits.Load() != 0 || f.s.Stats.Bypassed.Load() != 3 {
		t.Errorf("off: %d values, %d hits, %d bypassed; want none, none and 3", f.s.Len(), f.s.Stats.Hits.Load(), f.s.Stats.Bypassed.Load())
	}
}

// lookups counts the token lookups and touches that reach the store
// behind the cache.
type lookups struct {
	store.Store
	tokens, touches atomic.Int64
}

func (l *lookups) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	l.tokens.Add(1)
	return l.Store.TokenByHash(ctx, hash)
}

func (l *lookups) TokenByHashGuarded(ctx context.Context, hash, key string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	l.tokens.Add(1)
	return l.Store.TokenByHashGuarded(ctx, hash, key, g)
}

func (l *lookups) TouchAuthorization(ctx context.Context, id string, at time.Time, every time.Duration) error {
	l.touches.Add(1)
	return l.Store.TouchAuthorization(ctx, id, at, every)
}

// TestTouchAuthorizationKeepsCache checks that stamping an
// authorization's last use keeps its tokens cached: the next lookup is
// answered from memory, with the new stamp, so that the stamp is not
// due again (and written again) on every request afterwards.
func TestTouchAuthorizationKeepsCache(t *testing.T) {
	db, err := sqlite.Open(ctx, filepath.Join(t.TempDir(), "k.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	inner := &lookups{Store: db}
	f := fixtureOn(t, inner, cached.Options{})
	s := f.s
	read := func() keyhole.Authorization {
		t.Helper()
		_, a, err := s.TokenByHash(ctx, f.tok.Hash)
		must(t, err)
		return a
	}
	read()
	read()
	at := t0.Add(time.Hour)
	must(t, s.TouchAuthorization(ctx, f.auth.ID, at, time.Minute))
	if a := read(); !a.LastUsedAt.Equal(at) {
		t.Errorf("LastUsedAt of the cached token's authorization = %v, want %v", a.LastUsedAt, at)
	}
	if n := inner.tokens.Load(); n != 1 {
		t.Errorf("token lookups that reached the database: %d, want 1 (the touch evicted the token)", n)
	}
	// A touch that is not due leaves the stamp as the database has it.
	must(t, s.TouchAuthorization(ctx, f.auth.ID, at.Add(-time.Minute), time.Minute))
	if a := read(); !a.LastUsedAt.Equal(at) {
		t.Errorf("an earlier touch moved the cached stamp to %v, want %v", a.LastUsedAt, at)
	}
	if a, err := db.Authorization(ctx, f.auth.ID); err != nil || !a.LastUsedAt.Equal(at) {
		t.Errorf("LastUsedAt in the database = %v, %v; want %v", a.LastUsedAt, err, at)
	}
}
