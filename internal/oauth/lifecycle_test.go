package oauth_test

import (
	"cmp"
	"context"
	"crypto/rand"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/token"
)

// want429 checks a throttle's refusal: 429 with the RFC error
// temporarily_unavailable, id rate_limit, and Retry-After in whole seconds.
func want429(t testing.TB, a answer) {
	t.Helper()
	if a.status != http.StatusTooManyRequests || a.body["error"] != "temporarily_unavailable" || a.body["id"] != "rate_limit" {
		t.Fatalf("got %d %s, want 429 temporarily_unavailable with id rate_limit", a.status, a.raw)
	}
	if n, err := strconv.Atoi(a.header.Get("Retry-After")); err != nil || n <= 0 {
		t.Errorf("Retry-After = %q, want a positive number of seconds", a.header.Get("Retry-After"))
	}
}

// wantIntrospection checks an introspection answer: active with scope, or
// only {"active":false} when scope is "".
func wantIntrospection(t testing.TB, a answer, scope string) {
	t.Helper()
	if scope == "" {
		if a.status != 200 || a.raw != "{\"active\":false}\n" {
			t.Errorf("introspection: got %d %s, want only {\"active\":false}", a.status, a.raw)
		}
		return
	}
	if a.status != 200 || a.body["active"] != true || a.body["scope"] != scope {
		t.Errorf("introspection: got %d %s, want active with scope %q", a.status, a.raw, scope)
	}
}

func (f *fixture) introspect(tok string, creds []string) answer {
	f.t.Helper()
	return f.post("/oauth/introspect", url.Values{"token": {tok}}, creds)
}

func creds(c service.ClientInfo) []string { return []string{c.ID, c.Secret.Reveal()} }

func ccForm(scope string) url.Values {
	v := url.Values{"grant_type": {service.GrantClientCredentials}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return v
}

// addClient registers one more confidential client of the fixture's account.
func (f *fixture) addClient(name string) service.ClientInfo {
	f.t.Helper()
	c, err := f.ts.Service.CreateClient(context.Background(), f.actor, service.ClientParams{Name: &name, RedirectURI: &f.redirect})
	if err != nil {
		f.t.Fatal(err)
	}
	return c
}

// on is f served by another server over the same store, account and
// clients: a replica of the deployment, built with o.
func (f *fixture) on(o keyholetest.Options) *fixture {
	f.t.Helper()
	o.Store = f.ts.Store
	if o.Now == nil {
		o.Now = f.clock.Now
	}
	g := *f
	g.ts = keyholetest.NewServer(f.t, o)
	return &g
}

// exchange redeems a new code of f.app for scope.
func (f *fixture) exchange(scope ...string) (access, refresh string) {
	f.t.Helper()
	return f.post("/oauth/token", codeForm(f.grant(f.app, scope, "", ""), "", ""), creds(f.app)).wantTokens(f.t)
}

// tokens are every token of the authorization, from the store.
func (f *fixture) tokens(authID string) []keyhole.Token {
	f.t.Helper()
	list, err := f.ts.Store.Tokens(context.Background(), authID)
	if err != nil {
		f.t.Fatal(err)
	}
	return list
}

func TestClientCredentialsTokensOfTheirOwn(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := creds(f.app)
			asked := []string{"identity", "read", ""}
			granted := func(i int) string { return cmp.Or(asked[i%3], "identity") }
			answers := keyholetest.Parallel(20, func(i int) answer { return f.post("/oauth/token", ccForm(asked[i%3]), app) })
			toks := make([]string, len(answers))
			seen := map[string]int{}
			for i, a := range answers {
				toks[i], _ = a.wantTokens(t)
				if j, ok := seen[toks[i]]; ok {
					t.Errorf("requests %d and %d got the same token", j, i)
				}
				seen[toks[i]] = i
				if got, want := a.body["scope"], granted(i); got != want {
					t.Errorf("request %d asked %q: got scope %v, want %q", i, asked[i%3], got, want)
				}
				if got, _ := a.body["expires_in"].(float64); got < 3590 || got > 3600 {
					t.Errorf("request %d: got expires_in %v, want about 3600", i, a.body["expires_in"])
				}
			}
			for i, tok := range toks {
				wantIntrospection(t, f.introspect(tok, app), granted(i))
			}

			// RFC 7009: revoking one client token deletes that token only.
			if a := f.post("/oauth/revoke", url.Values{"token": {toks[0]}}, app); a.status != 200 {
				t.Fatalf("revoke: got %d %s, want 200", a.status, a.raw)
			}
			wantIntrospection(t, f.introspect(toks[0], app), "")
			for i, tok := range toks[1:] {
				wantIntrospection(t, f.introspect(tok, app), granted(i+1))
			}
			authID := uuid.NewSHA1(uuid.NameSpaceOID, []byte("keyhole:client-credentials:"+f.app.ID)).String()
			if got := len(f.tokens(authID)); got != 19 {
				t.Errorf("after revoking one: got %d tokens stored, want 19", got)
			}

			f.clock.Add(service.DefaultClientTokenTTL + time.Second)
			for _, tok := range toks {
				wantIntrospection(t, f.introspect(tok, app), "")
			}
			if err := f.ts.Service.Sweep(context.Background()); err != nil {
				t.Fatal(err)
			}
			if got := f.tokens(authID); len(got) != 0 {
				t.Errorf("after the sweep: got %d tokens stored, want 0", len(got))
			}
		})
	}
}

func TestRefreshLifecycle(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := creds(f.app)

			t.Run("narrowing", func(t *testing.T) {
				_, r1 := f.exchange("identity", "read")
				a := refresh(f, r1, "identity", app)
				a2, r2 := a.wantTokens(t)
				if a.body["scope"] != "identity" {
					t.Errorf("narrowed refresh: got scope %v, want identity", a.body["scope"])
				}
				if got := f.apiStatus("/apps", a2); got != 403 {
					t.Errorf("narrowed token on GET /apps: got %d, want 403", got)
				}
				if got := f.apiStatus("/account", a2); got != 200 {
					t.Errorf("narrowed token on GET /account: got %d, want 200", got)
				}
				wantIntrospection(t, f.introspect(a2, app), "identity")
				wantIntrospection(t, f.introspect(r2, app), "identity")
				refresh(f, r2, "read", app).wantError(t, 400, "invalid_scope")
				a = refresh(f, r2, "", app)
				a.wantTokens(t)
				if a.body["scope"] != "identity" {
					t.Errorf("refresh of a narrowed token: got scope %v, want identity", a.body["scope"])
				}
			})

			t.Run("repeats within the grace get the same pair", func(t *testing.T) {
				_, r1 := f.exchange("read")
				answers := keyholetest.Parallel(20, func(int) answer { return refresh(f, r1, "", app) })
				a0, r0 := answers[0].wantTokens(t)
				for i, a := range answers[1:] {
					if ai, ri := a.wantTokens(t); ai != a0 || ri != r0 {
						t.Errorf("refresh %d got another pair than refresh 0", i+1)
					}
				}
				if got := f.apiStatus("/apps", a0); got != 200 {
					t.Errorf("the pair's access token on GET /apps: got %d, want 200", got)
				}
				refresh(f, r0, "", app).wantTokens(t)
			})

			t.Run("used refresh tokens are bounded", func(t *testing.T) {
				// A scope of its own: the grant of "read" also holds the
				// code redeemed above until it expires.
				access, r := f.exchange("write")
				for range 15 {
					access, r = refresh(f, r, "", app).wantTokens(t)
				}
				_, auth, err := f.ts.Store.TokenByHash(context.Background(), token.Hash(access))
				if err != nil {
					t.Fatal(err)
				}
				count := map[string]int{}
				for _, tk := range f.tokens(auth.ID) {
					count[fmt.Sprintf("%s used=%t", tk.Kind, !tk.UsedAt.IsZero())]++
					if tk.Kind == keyhole.RefreshToken && !tk.UsedAt.IsZero() {
						if d := tk.ExpiresAt.Sub(tk.UsedAt) - service.ReuseHorizon; tk.ExpiresAt.IsZero() || d < -time.Minute || d > time.Minute {
							t.Errorf("used refresh token: used at %v, expires at %v; want it to expire %v after its use", tk.UsedAt, tk.ExpiresAt, service.ReuseHorizon)
						}
					}
				}
				// One live pair, the newest used refresh tokens, and the
				// redeemed code until it expires.
				want := map[string]int{"access used=false": 1, "refresh used=false": 1, "refresh used=true": service.KeepRotated, "code used=true": 1}
				if !maps.Equal(count, want) {
					t.Errorf("after 15 rotations the store holds %v, want %v", count, want)
				}
			})
		})
	}
}

func TestRotationByDatabaseClock(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := creds(f.app)

			t.Run("a replica whose clock is ahead is within the grace", func(t *testing.T) {
				key := make([]byte, 32)
				_, _ = rand.Read(key)
				one := f.on(keyholetest.Options{Key: key})
				two := f.on(keyholetest.Options{Key: key, Now: func() time.Time { return f.clock.Now().Add(time.Hour) }})
				_, r1 := one.exchange("read")
				a2, r2 := refresh(one, r1, "", app).wantTokens(t)
				a3, r3 := refresh(two, r1, "", app).wantTokens(t)
				if a3 != a2 || r3 != r2 {
					t.Errorf("the replica ahead answered another pair")
				}
				if got := two.apiStatus("/apps", a3); got != 200 {
					t.Errorf("the pair on GET /apps: got %d, want 200", got)
				}
				refresh(one, r3, "", app).wantTokens(t)
			})

			t.Run("a reuse after the grace revokes the authorization", func(t *testing.T) {
				g := f.on(keyholetest.Options{RefreshGrace: 300 * time.Millisecond})
				_, r1 := g.exchange("read")
				a2, r2 := refresh(g, r1, "", app).wantTokens(t)
				time.Sleep(400 * time.Millisecond)
				refresh(g, r1, "", app).wantError(t, 400, "invalid_grant")
				if got := g.apiStatus("/apps", a2); got != 401 {
					t.Errorf("live access token after the reuse: got %d, want 401", got)
				}
				refresh(g, r2, "", app).wantError(t, 400, "invalid_grant")
			})
		})
	}
}

func TestWrongMethod(t *testing.T) {
	f := &fixture{t: t, ts: keyholetest.NewServer(t, keyholetest.Options{})}
	do := func(method, path string) answer {
		req, _ := http.NewRequest(method, f.ts.URL+path, nil)
		return f.send(req)
	}
	for _, path := range []string{"/oauth/token", "/oauth/revoke", "/oauth/introspect", "/oauth/device/code"} {
		for _, method := range []string{"GET", "PUT", "DELETE"} {
			a := do(method, path)
			if a.status != 405 || a.header.Get("Allow") != "POST" {
				t.Errorf("%s %s: got %d with Allow %q, want 405 with Allow POST", method, path, a.status, a.header.Get("Allow"))
			}
			if e, _ := a.body["error"].(string); e == "" || !strings.HasPrefix(a.header.Get("Content-Type"), "application/json") {
				t.Errorf("%s %s: got %s (%s), want the OAuth JSON error", method, path, a.raw, a.header.Get("Content-Type"))
			}
		}
	}
	if a := do("GET", "/.well-known/oauth-authorization-server"); a.status != 200 {
		t.Errorf("GET metadata: got %d, want 200", a.status)
	}
	if a := do("POST", "/.well-known/oauth-authorization-server"); a.status != 405 || a.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST metadata: got %d with Allow %q, want 405 with Allow \"GET, HEAD\"", a.status, a.header.Get("Allow"))
	}
}

// The throttles live in the server, not in the store: SQLite suffices.
func TestClientSecretThrottle(t *testing.T) {
	b := keyholetest.Backends(t)[0]
	for _, e := range []struct {
		path string
		form url.Values
	}{
		{"/oauth/token", ccForm("")},
		{"/oauth/introspect", url.Values{"token": {"khr_unknown"}}},
		{"/oauth/revoke", url.Values{"token": {"khr_unknown"}}},
		{"/oauth/device/code", url.Values{"scope": {"read"}}},
	} {
		t.Run("per client "+e.path, func(t *testing.T) {
			f := newFixture(t, b)
			answers := keyholetest.Parallel(40, func(int) answer { return f.post(e.path, e.form, []string{f.app.ID, "khs_wrong"}) })
			failed := 0
			for _, a := range answers {
				if a.status == 401 {
					failed++
					a.wantError(t, 401, "invalid_client")
				} else {
					want429(t, a)
				}
			}
			if failed == 0 || failed > 20 {
				t.Errorf("got %d of 40 wrong secrets checked, want at most 20 (and some)", failed)
			}
			// The budget is spent: even the right secret waits, told whose
			// budget it is.
			a := f.post(e.path, e.form, creds(f.app))
			want429(t, a)
			if d, _ := a.body["error_description"].(string); !strings.Contains(d, "for this client") {
				t.Errorf("error_description = %q, want it to name the client", d)
			}
			if a := f.post(e.path, e.form, creds(f.other)); a.status != 200 {
				t.Errorf("another client from the same address: got %d %s, want 200", a.status, a.raw)
			}
		})
	}
	t.Run("per address", func(t *testing.T) {
		f := newFixture(t, b)
		for i := range 5 {
			c := f.addClient(fmt.Sprintf("Client %d", i))
			for _, a := range keyholetest.Parallel(20, func(int) answer { return f.post("/oauth/token", ccForm(""), []string{c.ID, "khs_wrong"}) }) {
				a.wantError(t, 401, "invalid_client")
			}
		}
		fresh := f.addClient("Fresh")
		want429(t, f.post("/oauth/token", ccForm(""), []string{fresh.ID, "khs_wrong"}))
	})
}

func TestIntrospectionScanning(t *testing.T) {
	f := newFixture(t, keyholetest.Backends(t)[0])
	app := creds(f.app)
	own, _ := f.post("/oauth/token", ccForm(""), app).wantTokens(t)
	unknown := []func(i int) string{
		func(int) string { return token.New(token.Access).Reveal() },
		func(int) string { return token.New(token.Refresh).Reveal() },
		func(int) string { return rand.Text() },
		func(i int) string { return fmt.Sprintf("garbage-%d", i) },
	}
	wantIntrospection(t, f.introspect(own, app), "identity")
	for i := range 70 {
		if i == 30 {
			wantIntrospection(t, f.introspect(own, app), "identity")
		}
		a := f.introspect(unknown[i%len(unknown)](i), app)
		// 60 inactive answers, not 58: the live token's took nothing.
		if i < 60 {
			wantIntrospection(t, a, "")
		} else {
			want429(t, a)
		}
	}
}
