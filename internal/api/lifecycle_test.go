package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/api"
	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/schematest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// fullToken matches a token or secret shown in full (a stored one shows
// only as a hint with asterisks).
var fullToken = regexp.MustCompile(`kh[a-z]_[A-Za-z0-9]{40,}`)

// wire is the test client with a check every answer must pass: one that
// carries a token or secret is not cached.
type wire struct{ client }

func (w wire) do(method, path string, body any, opts ...opt) reply {
	w.t.Helper()
	r := w.client.do(method, path, body, opts...)
	if fullToken.Match(r.body) && r.header.Get("Cache-Control") != "no-store" {
		w.t.Errorf("%s %s: the answer carries a token but Cache-Control = %q, want no-store", method, path, r.header.Get("Cache-Control"))
	}
	return r
}

// eachWire is eachBackend with the checked client.
func eachWire(t *testing.T, f func(t *testing.T, ts *keyholetest.Server, c wire)) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) { f(t, ts, wire{c}) })
}

// onBackends runs f on each backend, for tests that build their own server.
func onBackends(t *testing.T, f func(t *testing.T, b keyholetest.Backend)) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f(t, b)
		})
	}
}

// accessToken and expiresIn read an authorization's access token.
func accessToken(t testing.TB, r reply) string {
	t.Helper()
	return r.json(t)["access_token"].(map[string]any)["token"].(string)
}

func expiresIn(t testing.TB, r reply) time.Duration {
	t.Helper()
	s, ok := r.json(t)["access_token"].(map[string]any)["expires_in"].(float64)
	if !ok {
		t.Errorf("access_token.expires_in is not a number: %s", r.body)
	}
	return time.Duration(s) * time.Second
}

func count(t testing.TB, r reply) int {
	t.Helper()
	var list []json.RawMessage
	if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 {
		t.Fatalf("list: status %d, %v; body %s", r.status, err, r.body)
	}
	return len(list)
}

// wantRateLimit checks a 429 rate_limit with a Retry-After in seconds.
func wantRateLimit(t testing.TB, r reply) {
	t.Helper()
	r.wantError(t, 429, "rate_limit")
	if got := r.header.Get("Retry-After"); got == "" || atoi(t, got) < 1 {
		t.Errorf("429 with Retry-After %q, want a number of seconds ≥ 1", got)
	}
}

func newClient(t testing.TB, c wire, tok string) (id, secret string) {
	t.Helper()
	r := c.do("POST", "/oauth/clients", map[string]any{"name": "Example", "redirect_uri": "https://client.example/cb"}, bearer(tok))
	if r.status != 201 {
		t.Fatalf("create client: %d %s", r.status, r.body)
	}
	return r.json(t)["id"].(string), r.json(t)["secret"].(string)
}

func login(c wire, email, pw string) reply {
	return c.do("POST", "/oauth/authorizations", map[string]any{"description": "CLI"}, basic(email, pw))
}

const (
	ada         = "ada@example.com"
	newPassword = "a different horse entirely"
)

// TestLoginThrottlePerEmail: forty wrong passwords at once reserve before
// they verify, so at most ten reach the check; the right password is then
// refused too.
func TestLoginThrottlePerEmail(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		checked := 0
		for _, r := range keyholetest.Parallel(40, func(int) reply { return login(c, ada, "wrong password") }) {
			switch r.status {
			case 401:
				checked++
			default:
				wantRateLimit(t, r)
			}
		}
		if checked > 10 {
			t.Errorf("%d of 40 parallel wrong passwords were checked (401), want at most 10", checked)
		}
		wantRateLimit(t, login(c, ada, password))
	})
}

// TestLoginThrottlePerAddress: one address guessing across many emails
// spends its own budget.
func TestLoginThrottlePerAddress(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		for i := range 100 {
			login(c, fmt.Sprintf("user%d@example.com", i), "wrong password").wantError(t, 401, "unauthorized")
		}
		wantRateLimit(t, login(c, "fresh@example.com", "wrong password"))
		wantRateLimit(t, login(c, ada, password))
	})
}

// TestCurrentPasswordThrottle: the current password of an account change
// is a sign-in attempt like any other.
func TestCurrentPasswordThrottle(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		change := func(current string) reply {
			return c.do("PATCH", "/account", map[string]any{"new_password": newPassword, "password": current}, bearer(tok))
		}
		for range 10 {
			change("wrong password").wantError(t, 422, "invalid_params")
		}
		wantRateLimit(t, change("wrong password"))
		wantRateLimit(t, change(password))
	})
}

func TestWeakPasswordRefused(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		for _, weak := range []string{"password", "12345678", "qwertyuiop"} {
			m := c.do("PATCH", "/account", map[string]any{"new_password": weak, "password": password}, bearer(tok)).wantError(t, 422, "invalid_params")
			msg := m["message"].(string)
			if !strings.Contains(msg, "too easy to guess") {
				t.Errorf("%q: message %q does not say why", weak, msg)
			}
			// The message may say "password"; it must not repeat the one sent.
			if strings.Contains(strings.ReplaceAll(strings.ToLower(msg), "password", ""), weak) {
				t.Errorf("%q: message repeats the password: %q", weak, msg)
			}
		}
		if r := c.do("PATCH", "/account", map[string]any{"new_password": newPassword, "password": password}, bearer(tok)); r.status != 200 {
			t.Errorf("strong password: %d %s", r.status, r.body)
		}
	})
}

// TestUnsafeText: names and descriptions refuse control characters and
// bidirectional overrides; accents and emoji are fine.
func TestUnsafeText(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		for _, bad := range []string{"a\x00b", "a\x07b", "\u202Eevil", "\u2066x", "line\nbreak"} {
			c.do("PATCH", "/account", map[string]any{"name": bad}, bearer(tok)).wantError(t, 422, "invalid_params")
			c.do("POST", "/oauth/clients", map[string]any{"name": bad, "redirect_uri": "https://client.example/cb"}, bearer(tok)).wantError(t, 422, "invalid_params")
			c.do("POST", "/oauth/authorizations", map[string]any{"description": bad}, bearer(tok)).wantError(t, 422, "invalid_params")
		}
		c.do("POST", "/apps", map[string]any{"name": "a\u202eb"}, bearer(tok)).wantError(t, 422, "invalid_params")
		c.do("POST", "/oauth/clients", map[string]any{"name": "Spaces", "redirect_uri": "https://client.example/a b"}, bearer(tok)).wantError(t, 422, "invalid_params")
		if n := count(t, c.do("GET", "/oauth/clients", nil, bearer(tok))); n != 0 {
			t.Errorf("refused clients were created: %d", n)
		}

		const name = "Zoë Ångström 🦊"
		if r := c.do("PATCH", "/account", map[string]any{"name": name}, bearer(tok)); r.status != 200 || r.json(t)["name"] != name {
			t.Errorf("PATCH /account name %q: %d %s", name, r.status, r.body)
		}
		if r := c.do("POST", "/oauth/clients", map[string]any{"name": name, "redirect_uri": "https://client.example/cb"}, bearer(tok)); r.status != 201 || r.json(t)["name"] != name {
			t.Errorf("POST /oauth/clients name %q: %d %s", name, r.status, r.body)
		}
		if r := c.do("POST", "/oauth/authorizations", map[string]any{"description": name}, bearer(tok)); r.status != 201 || r.json(t)["description"] != name {
			t.Errorf("POST /oauth/authorizations description %q: %d %s", name, r.status, r.body)
		}
	})
}

// TestLoginWithTwoFactor: an account with MFA logs in the way Heroku's
// CLI does it: the password alone answers 403 two_factor with
// Heroku-Two-Factor-Required, and the same request with the code in
// Heroku-Two-Factor-Code answers 201. A code is accepted once (a replay
// within its window is refused), a recovery code works once, and refused
// logins make nothing but activity.
func TestLoginWithTwoFactor(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		key := ts.APIKey(t, ada, password)
		seed, codes := ts.EnableMFA(t, ada, password)
		now := ts.Service.Now()
		login := func(code string) reply {
			opts := []opt{basic(ada, password)}
			if code != "" {
				opts = append(opts, header("Heroku-Two-Factor-Code", code))
			}
			return c.do("POST", "/oauth/authorizations", map[string]any{"description": "two-factor test"}, opts...)
		}
		twoFactor := func(r reply, what string) {
			t.Helper()
			r.wantError(t, 403, "two_factor")
			if got := r.header.Get("Heroku-Two-Factor-Required"); got != "true" {
				t.Errorf("%s: Heroku-Two-Factor-Required = %q, want true", what, got)
			}
		}
		twoFactor(login(""), "no code")
		wrong := "000000"
		for _, d := range []int{-1, 0, 1} {
			if keyholetest.TOTPCode(t, seed, now, d) == wrong {
				wrong = "999999"
			}
		}
		twoFactor(login(wrong), "a wrong code")
		next := keyholetest.TOTPCode(t, seed, now, 1)
		if r := login(next); r.status != 201 || r.json(t)["access_token"] == nil {
			t.Fatalf("login with the code: %d %s", r.status, r.body)
		}
		twoFactor(login(next), "the same code again")
		// The enrolment's own code (this step) was used up by it.
		twoFactor(login(keyholetest.TOTPCode(t, seed, now, 0)), "the enrolment's code")
		if r := login(strings.ToUpper(codes[3])); r.status != 201 {
			t.Fatalf("login with a recovery code: %d %s", r.status, r.body)
		}
		twoFactor(login(codes[3]), "a used recovery code")
		if n := count(t, c.do("GET", "/oauth/sessions", nil, bearer(key))); n != 2 {
			t.Errorf("sessions = %d, want the 2 successful logins", n)
		}
		r := c.do("GET", "/account/activity", nil, bearer(key), header("Range", "id ..; order=desc"))
		var events []struct{ Type string }
		if err := json.Unmarshal(r.body, &events); err != nil || r.status != 200 {
			t.Fatalf("activity: %d %v", r.status, err)
		}
		var got []string
		for _, e := range events {
			got = append(got, e.Type)
		}
		want := []string{"login.failed", "login.succeeded", "mfa.recovery_code_used", "login.failed", "login.failed", "login.succeeded", "login.failed"}
		if len(got) < len(want) || !slices.Equal(got[:len(want)], want) {
			t.Errorf("activity, newest first = %v; want it to start with %v", got, want)
		}
	})
}

// TestConcurrentTwoFactorCode: 20 parallel logins with one valid code, on
// two servers sharing the database (replicas): exactly one gets in; the
// others are refused as replays (or, once replays have spent the
// account's budget of wrong codes, throttled).
func TestConcurrentTwoFactorCode(t *testing.T) {
	onBackends(t, func(t *testing.T, b keyholetest.Backend) {
		st := b.Open(t)
		key := make([]byte, 32)
		one := keyholetest.NewServer(t, keyholetest.Options{Store: st, Key: key})
		two := keyholetest.NewServer(t, keyholetest.Options{Store: st, Key: key})
		one.CreateAccount(t, ada, password)
		seed, _ := one.EnableMFA(t, ada, password)
		code := keyholetest.TOTPCode(t, seed, one.Service.Now(), 1)
		replies := keyholetest.Parallel(20, func(i int) reply {
			srv := []*keyholetest.Server{one, two}[i%2]
			return (client{t: t, base: srv.URL}).do("POST", "/oauth/authorizations", nil, basic(ada, password), header("Heroku-Two-Factor-Code", code))
		})
		created, refused := 0, 0
		var statuses []int
		for _, r := range replies {
			statuses = append(statuses, r.status)
			switch r.status {
			case 201:
				created++
			case 403, 429: // a replay, or the code throttle spent by replays
				refused++
			}
		}
		if created != 1 || refused != 19 {
			t.Errorf("20 parallel logins with one code: %d created, %d refused (%v); want exactly one", created, refused, statuses)
		}
	})
}

// TestTwoFactorThrottle: wrong codes are throttled like passwords: after
// ten, even the right code is refused for a while with 429, before it is
// checked (a reservation is taken first).
func TestTwoFactorThrottle(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, ada, password)
	seed, _ := ts.EnableMFA(t, ada, password)
	good := keyholetest.TOTPCode(t, seed, ts.Service.Now(), 1)
	for i := range 10 {
		code := fmt.Sprintf("%06d", i)
		if code == good || code == keyholetest.TOTPCode(t, seed, ts.Service.Now(), 0) || code == keyholetest.TOTPCode(t, seed, ts.Service.Now(), -1) {
			code = "abcdef"
		}
		c.do("POST", "/oauth/authorizations", nil, basic(ada, password), header("Heroku-Two-Factor-Code", code)).wantError(t, 403, "two_factor")
	}
	wantRateLimit(t, c.do("POST", "/oauth/authorizations", nil, basic(ada, password), header("Heroku-Two-Factor-Code", good)))
}

// TestLoginSessionBoundsTokens: a CLI login's tokens end with its 30-day
// session, whatever expires_in asked for, and so does a regenerated one.
func TestLoginSessionBoundsTokens(t *testing.T) {
	onBackends(t, func(t *testing.T, b keyholetest.Backend) {
		clk := keyholetest.NewClock(time.Now())
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t), Now: clk.Now})
		c := wire{client{t: t, base: ts.URL}}
		ts.CreateAccount(t, ada, password)
		key := ts.APIKey(t, ada, password)

		plain := login(c, ada, password)
		long := c.do("POST", "/oauth/authorizations", map[string]any{"expires_in": 31536000}, basic(ada, password))
		for _, r := range []reply{plain, long} {
			if r.status != 201 {
				t.Fatalf("login: %d %s", r.status, r.body)
			}
			schematest.Validate(t, "oauth-authorization", r.body)
		}
		if got := expiresIn(t, long); got > service.SessionTTL {
			t.Errorf("login with expires_in of a year: token expires in %v, want at most the session's %v", got, service.SessionTTL)
		}

		clk.Add(24 * time.Hour)
		r := c.do("POST", "/oauth/authorizations/"+long.json(t)["id"].(string)+"/actions/regenerate-tokens", nil, bearer(key))
		if r.status != 200 {
			t.Fatalf("regenerate: %d %s", r.status, r.body)
		}
		if got, left := expiresIn(t, r), service.SessionTTL-24*time.Hour; got > left {
			t.Errorf("regenerated token expires in %v, want at most what is left of the session (%v)", got, left)
		}
		toks := map[string]string{"login without expires_in": accessToken(t, plain), "regenerated": accessToken(t, r)}
		for name, tok := range toks {
			if r := c.do("GET", "/account", nil, bearer(tok)); r.status != 200 {
				t.Fatalf("%s: GET /account = %d before the session ends", name, r.status)
			}
		}

		clk.Add(service.SessionTTL - 24*time.Hour + time.Minute)
		for name, tok := range toks {
			r := c.do("GET", "/account", nil, bearer(tok))
			if r.status != 401 {
				t.Errorf("%s: GET /account = %d after the session ended, want 401", name, r.status)
			}
		}
		if r := c.do("GET", "/account", nil, bearer(key)); r.status != 200 {
			t.Errorf("the API key stopped working: %d", r.status)
		}
	})
}

// hookStore runs a hook once, right after a sign-in has read the account:
// between the password check and the session write.
type hookStore struct {
	store.Store
	mu   sync.Mutex
	hook func()
}

func (s *hookStore) AccountByEmail(ctx context.Context, email string) (keyhole.Account, error) {
	a, err := s.Store.AccountByEmail(ctx, email)
	s.mu.Lock()
	h := s.hook
	s.hook = nil
	s.mu.Unlock()
	if h != nil {
		h()
	}
	return a, err
}

// TestSignInAgainstStalePassword: a login whose password was checked
// against credentials that changed before its session was written fails,
// and leaves nothing behind.
func TestSignInAgainstStalePassword(t *testing.T) {
	onBackends(t, func(t *testing.T, b keyholetest.Backend) {
		hs := &hookStore{Store: b.Open(t)}
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: hs})
		c := wire{client{t: t, base: ts.URL}}
		ts.CreateAccount(t, ada, password)
		key := ts.APIKey(t, ada, password)
		ctx := context.Background()
		actor, err := ts.Service.VerifyToken(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		var ran atomic.Bool
		hs.mu.Lock()
		hs.hook = func() {
			ran.Store(true)
			np := newPassword
			if _, err := ts.Service.UpdateAccount(ctx, actor, service.AccountUpdate{NewPassword: &np, CurrentPassword: password}); err != nil {
				t.Errorf("change the password during the login: %v", err)
			}
		}
		hs.mu.Unlock()

		login(c, ada, password).wantError(t, 401, "unauthorized")
		if !ran.Load() {
			t.Fatal("the hook never ran: the login did not read the account")
		}
		if n := count(t, c.do("GET", "/oauth/sessions", nil, bearer(key))); n != 0 {
			t.Errorf("the stale login left %d sessions", n)
		}
		if n := count(t, c.do("GET", "/oauth/authorizations", nil, bearer(key))); n != 1 {
			t.Errorf("the stale login left %d authorizations, want 1 (the API key)", n)
		}
		if r := login(c, ada, newPassword); r.status != 201 {
			t.Errorf("login with the new password: %d %s", r.status, r.body)
		}
	})
}

// TestSignInRacesPasswordChange: twenty logins with the old password race
// one password change; no token they got survives the change.
func TestSignInRacesPasswordChange(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		const n = 20
		rs := keyholetest.Parallel(n+1, func(i int) reply {
			if i < n {
				return login(c, ada, password)
			}
			// The logins in flight hold the email's attempts; the change
			// waits for one (no failure is counted before it succeeds).
			var r reply
			for range 500 {
				if r = c.do("PATCH", "/account", map[string]any{"new_password": newPassword, "password": password}, bearer(tok)); r.status != 429 {
					break
				}
				time.Sleep(2 * time.Millisecond)
			}
			return r
		})
		if r := rs[n]; r.status != 200 {
			t.Fatalf("password change: %d %s", r.status, r.body)
		}
		won := 0
		for i, r := range rs[:n] {
			switch r.status {
			case 201:
				won++
				c.do("GET", "/account", nil, bearer(accessToken(t, r))).wantError(t, 401, "unauthorized")
			case 401, 429:
			default:
				t.Errorf("login %d: %d %s", i, r.status, r.body)
			}
		}
		t.Logf("%d of %d logins got a token before the change", won, n)
	})
}

// TestSecretsAreNotStored walks every route that answers a token or a
// secret and checks Cache-Control: no-store.
func TestSecretsAreNotStored(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		id, secret := newClient(t, c, tok)
		grant := c.do("POST", "/oauth/authorizations", map[string]any{"client": id, "scope": []string{"identity"}}, bearer(tok))
		g, _ := grant.json(t)["grant"].(map[string]any)
		code, _ := g["code"].(string)
		direct := c.do("POST", "/oauth/authorizations", map[string]any{"description": "direct"}, bearer(tok))
		auth, _ := direct.json(t)["id"].(string)
		c.do("POST", "/apps", map[string]any{"name": "secret-app"}, bearer(tok))
		for _, s := range []struct {
			name string
			r    reply
		}{
			{"POST /oauth/authorizations with a token", direct},
			{"POST /oauth/authorizations with Basic login", login(c, ada, password)},
			{"POST /oauth/authorizations with a client (grant code)", grant},
			{"regenerate-tokens", c.do("POST", "/oauth/authorizations/"+auth+"/actions/regenerate-tokens", nil, bearer(tok))},
			{"POST /oauth/tokens", exchange(c.client, secret, code, "")},
			{"GET /oauth/clients", c.do("GET", "/oauth/clients", nil, bearer(tok))},
			{"GET /oauth/clients/{id}", c.do("GET", "/oauth/clients/"+id, nil, bearer(tok))},
			{"PATCH /oauth/clients/{id}", c.do("PATCH", "/oauth/clients/"+id, map[string]any{"name": "Renamed"}, bearer(tok))},
			{"rotate-credentials", c.do("POST", "/oauth/clients/"+id+"/actions/rotate-credentials", nil, bearer(tok))},
			{"DELETE /oauth/clients/{id}", c.do("DELETE", "/oauth/clients/"+id, nil, bearer(tok))},
			{"POST /oauth/clients", c.do("POST", "/oauth/clients", map[string]any{"name": "Second", "redirect_uri": "https://client.example/cb"}, bearer(tok))},
			{"PATCH /apps/{app}/config-vars", c.do("PATCH", "/apps/secret-app/config-vars", map[string]any{"TOKEN": "s3cret"}, bearer(tok))},
			{"GET /apps/{app}/config-vars", c.do("GET", "/apps/secret-app/config-vars", nil, bearer(tok))},
		} {
			if s.r.status >= 300 {
				t.Errorf("%s: %d %s", s.name, s.r.status, s.r.body)
			}
			if got := s.r.header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("%s: Cache-Control = %q, want no-store", s.name, got)
			}
		}
	})
}

func TestNoSniff(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, ada, password)
	tok := ts.Login(t, ada, password)
	form := header("Content-Type", "application/x-www-form-urlencoded")
	html := header("Accept", "text/html")
	for _, tt := range []struct {
		name, method, path string
		body               any
		opts               []opt
	}{
		{"API success", "GET", "/account", nil, []opt{bearer(tok)}},
		{"API error", "GET", "/account", nil, nil},
		{"OAuth token error", "POST", "/oauth/token", "grant_type=password", []opt{form}},
		{"OAuth wrong method", "GET", "/oauth/token", nil, nil},
		{"OAuth metadata", "GET", "/.well-known/oauth-authorization-server", nil, nil},
		{"web page", "GET", "/login", nil, []opt{html}},
		{"health", "GET", "/healthz", nil, nil},
		{"unknown path", "GET", "/no/such/path", nil, nil},
		{"unknown path in a browser", "GET", "/no/such/path", nil, []opt{html}},
	} {
		r := c.do(tt.method, tt.path, tt.body, tt.opts...)
		if got := r.header.Get("X-Content-Type-Options"); got != "nosniff" {
			t.Errorf("%s (%s %s, %d): X-Content-Type-Options = %q, want nosniff", tt.name, tt.method, tt.path, r.status, got)
		}
	}
}

func TestRateLimitRetryAfter(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{RateLimit: 2})
	c := wire{client{t: t, base: ts.URL}}
	ts.CreateAccount(t, ada, password)
	tok := ts.Login(t, ada, password)
	for i := range 2 {
		if r := c.do("GET", "/account", nil, bearer(tok)); r.status != 200 {
			t.Fatalf("call %d: %d %s", i, r.status, r.body)
		}
	}
	wantRateLimit(t, c.do("GET", "/account", nil, bearer(tok)))
}

// TestClientCredentialsOnAccountRoutes: a token that acts for a client,
// even with the global scope, reaches no account route.
func TestClientCredentialsOnAccountRoutes(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		tok := ts.Login(t, ada, password)
		id, secret := newClient(t, c, tok)
		form := url.Values{"grant_type": {"client_credentials"}, "scope": {"global"}, "client_id": {id}, "client_secret": {secret}}
		r := c.do("POST", "/oauth/token", form.Encode(), header("Content-Type", "application/x-www-form-urlencoded"))
		cc, _ := r.json(t)["access_token"].(string)
		if r.status != 200 || cc == "" {
			t.Fatalf("client_credentials: %d %s", r.status, r.body)
		}
		for _, rt := range api.Routes() {
			if rt.Pattern == "POST /oauth/tokens" {
				continue
			}
			method, path, _ := strings.Cut(rt.Pattern, " ")
			path = strings.NewReplacer("{id}", uuid.NewString(), "{app}", "some-app").Replace(path)
			var body any
			if method == "POST" || method == "PATCH" {
				body = map[string]any{}
			}
			got := c.do(method, path, body, bearer(cc))
			var e struct{ ID, Message string }
			_ = json.Unmarshal(got.body, &e)
			if got.status != 403 || e.ID != "forbidden" || !strings.Contains(e.Message, "client") {
				t.Errorf("%s with a client-credentials token: %d %s, want 403 forbidden naming the client", rt.Pattern, got.status, got.body)
			}
		}
	})
}

// TestActivityRange: GET /account/activity pages like every list: 206
// with Next-Range while more remain, newest first with order=desc.
func TestActivityRange(t *testing.T) {
	eachWire(t, func(t *testing.T, ts *keyholetest.Server, c wire) {
		ts.CreateAccount(t, ada, password)
		key := ts.APIKey(t, ada, password)
		for i := range 5 {
			c.do("POST", "/oauth/authorizations", map[string]any{"description": fmt.Sprint("token ", i)}, bearer(key))
		}
		r := c.do("GET", "/account/activity", nil, bearer(key), header("Range", "id ..; max=3, order=desc"))
		next := r.header.Get("Next-Range")
		if r.status != 206 || count206(t, r) != 3 || next == "" || !strings.Contains(r.header.Get("Content-Range"), "order=desc") {
			t.Fatalf("first page: %d %v %s", r.status, r.header, r.body)
		}
		var first []struct{ Type, Detail string }
		json.Unmarshal(r.body, &first)
		if first[0].Detail != "token 4" {
			t.Errorf("newest first: %+v", first[0])
		}
		r = c.do("GET", "/account/activity", nil, bearer(key), header("Range", next))
		var rest []struct{ Type, Detail string }
		if err := json.Unmarshal(r.body, &rest); err != nil || r.status != 200 || len(rest) != 2 || rest[1].Detail != "token 0" {
			t.Errorf("second page: %d %s", r.status, r.body)
		}
		c.do("GET", "/account/activity", nil, bearer(key), header("Range", "name ..")).wantError(t, 416, "requested_range_not_satisfiable")
	})
}

func count206(t testing.TB, r reply) int {
	t.Helper()
	var list []json.RawMessage
	if err := json.Unmarshal(r.body, &list); err != nil {
		t.Fatalf("list: %v; body %s", err, r.body)
	}
	return len(list)
}
