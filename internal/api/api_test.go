package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/schematest"
	"github.com/keyhole/keyhole/internal/service"
)

// client is a small Platform API client for tests.
type client struct {
	t    testing.TB
	base string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// errorID checks that the reply is a Heroku error with the given status and id.
func (r reply) wantError(t testing.TB, status int, id string) map[string]any {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	m := r.json(t)
	if m["id"] != id {
		t.Fatalf("error id = %v, want %q; body %s", m["id"], id, r.body)
	}
	if msg, _ := m["message"].(string); msg == "" {
		t.Fatalf("error has no message: %s", r.body)
	}
	return m
}

type opt func(*http.Request)

func bearer(tok string) opt {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func basic(user, pass string) opt {
	return func(r *http.Request) {
		r.Header.Set("Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte(user+":"+pass)))
	}
}

func header(k, v string) opt { return func(r *http.Request) { r.Header.Set(k, v) } }

func (c client) do(method, path string, body any, opts ...opt) reply {
	c.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		js, err := json.Marshal(b)
		if err != nil {
			c.t.Fatal(err)
		}
		rd = bytes.NewReader(js)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	if resp.Header.Get("Request-Id") == "" {
		c.t.Errorf("%s %s: no Request-Id header", method, path)
	}
	return reply{status: resp.StatusCode, header: resp.Header, body: b}
}

const password = "correct horse battery"

// setup starts a server on each backend and runs f with a client and a
// logged-in token.
func eachBackend(t *testing.T, f func(t *testing.T, ts *keyholetest.Server, c client)) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)})
			f(t, ts, client{t: t, base: ts.URL})
		})
	}
}

func TestLoginAndAccount(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		id := ts.CreateAccount(t, "Ada@Example.com", password)

		// The Heroku CLI's interactive login: Basic email:password, body
		// with description, expires_in as a number and scope.
		r := c.do("POST", "/oauth/authorizations", map[string]any{
			"description": "Heroku CLI login from laptop", "expires_in": 2592000, "scope": []string{"global"},
		}, basic("ada@example.com", password))
		if r.status != http.StatusCreated {
			t.Fatalf("login status = %d, want 201; body %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		auth := r.json(t)
		tok := auth["access_token"].(map[string]any)["token"].(string)
		if got := auth["user"].(map[string]any)["id"]; got != id {
			t.Errorf("user.id = %v, want %s", got, id)
		}
		if got := auth["access_token"].(map[string]any)["expires_in"]; got != float64(2592000) {
			t.Errorf("access_token.expires_in = %v, want 2592000", got)
		}

		for name, o := range map[string]opt{"bearer": bearer(tok), "basic with empty user": basic("", tok), "basic with email user (netrc)": basic("ada@example.com", tok)} {
			r = c.do("GET", "/account", nil, o)
			if r.status != http.StatusOK {
				t.Fatalf("%s: GET /account = %d; body %s", name, r.status, r.body)
			}
			schematest.Validate(t, "account", r.body)
			if got := r.json(t)["email"]; got != "Ada@Example.com" {
				t.Errorf("%s: email = %v, want Ada@Example.com", name, got)
			}
			if got := r.json(t)["last_login"]; got == nil {
				t.Errorf("%s: last_login is null after a login", name)
			}
		}

		// The account's API key exists from sign-up: "~".
		r = c.do("GET", "/oauth/authorizations/~", nil, bearer(tok))
		if r.status != http.StatusOK {
			t.Fatalf("GET ~ = %d; body %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		key := r.json(t)
		if key["access_token"].(map[string]any)["expires_in"] != nil {
			t.Errorf("API key expires_in = %v, want null (never)", key["access_token"])
		}
		if got := key["scope"].([]any); len(got) != 1 || got[0] != "global" {
			t.Errorf("API key scope = %v, want [global]", got)
		}
		if shown := key["access_token"].(map[string]any)["token"].(string); !strings.Contains(shown, "**********") {
			t.Errorf("a stored token is shown in full (%q); want its redacted hint", shown)
		}
	})
}

func TestLoginFailures(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		tests := []struct {
			name   string
			opts   []opt
			body   any
			status int
			id     string
		}{
			{"wrong password", []opt{basic("ada@example.com", "wrong password")}, nil, 401, "unauthorized"},
			{"unknown email", []opt{basic("nobody@example.com", password)}, nil, 401, "unauthorized"},
			{"no credentials", nil, nil, 401, "unauthorized"},
			{"unknown scope", []opt{basic("ada@example.com", password)}, map[string]any{"scope": []string{"global", "root"}}, 422, "invalid_params"},
			{"expires_in not a number", []opt{basic("ada@example.com", password)}, map[string]any{"expires_in": "soon"}, 422, "invalid_params"},
			{"expires_in negative", []opt{basic("ada@example.com", password)}, map[string]any{"expires_in": -5}, 422, "invalid_params"},
			{"scope of the wrong type", []opt{basic("ada@example.com", password)}, `{"scope":"global"}`, 422, "invalid_params"},
			{"malformed JSON", []opt{basic("ada@example.com", password)}, `{"scope":`, 400, "bad_request"},
			{"oversize body", []opt{basic("ada@example.com", password)}, `{"description":"` + strings.Repeat("x", 70<<10) + `"}`, 413, "request_entity_too_large"},
			{"a bearer token that is not one", []opt{bearer("kha_notatoken")}, nil, 401, "unauthorized"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do("POST", "/oauth/authorizations", tt.body, tt.opts...)
				r.wantError(t, tt.status, tt.id)
				if tt.status == 401 && r.header.Get("WWW-Authenticate") == "" {
					t.Errorf("401 without WWW-Authenticate")
				}
			})
		}
		// Nothing was created by the failures: only the API key exists.
		tok := ts.Login(t, "ada@example.com", password)
		r := c.do("GET", "/oauth/authorizations", nil, bearer(tok))
		var list []map[string]any
		if err := json.Unmarshal(r.body, &list); err != nil {
			t.Fatal(err)
		}
		if len(list) != 2 {
			t.Errorf("after failed logins there are %d authorizations, want 2 (API key + this login)", len(list))
		}
	})
}

func TestExpiresInAsNumericString(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	tok := ts.Login(t, "ada@example.com", password)
	// `heroku authorizations:create -e 3600` sends the number as a string.
	r := c.do("POST", "/oauth/authorizations", `{"description":"short","expires_in":"3600","scope":["read","identity"]}`, bearer(tok))
	if r.status != 201 {
		t.Fatalf("status %d, want 201; %s", r.status, r.body)
	}
	schematest.Validate(t, "oauth-authorization", r.body)
	m := r.json(t)
	if got := m["access_token"].(map[string]any)["expires_in"]; got != float64(3600) {
		t.Errorf("expires_in = %v, want 3600", got)
	}
	if got := m["scope"].([]any); len(got) != 2 || got[0] != "identity" || got[1] != "read" {
		t.Errorf("scope = %v, want [identity read]", got)
	}
}

func TestAcceptVersion(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	tok := ts.Login(t, "ada@example.com", password)
	for _, tt := range []struct {
		accept string
		status int
	}{
		{"application/vnd.heroku+json; version=3", 200},
		{"application/vnd.heroku+json; version=3.docker-releases", 200},
		{"application/vnd.heroku+json", 200},
		{"application/json", 200},
		{"*/*", 200},
		{"", 200},
		{"application/vnd.heroku+json; version=2", 406},
		{"text/html", 406},
	} {
		r := c.do("GET", "/account", nil, bearer(tok), header("Accept", tt.accept))
		if tt.status == 406 {
			r.wantError(t, 406, "not_acceptable")
			continue
		}
		if r.status != tt.status {
			t.Errorf("Accept %q: status %d, want %d", tt.accept, r.status, tt.status)
		}
	}
}

func TestTokenRejected(t *testing.T) {
	clk := keyholetest.NewClock(time.Now())
	ts := keyholetest.NewServer(t, keyholetest.Options{Now: clk.Now})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	tok := ts.Login(t, "ada@example.com", password)

	r := c.do("POST", "/oauth/authorizations", map[string]any{"expires_in": 60}, bearer(tok))
	short := r.json(t)["access_token"].(map[string]any)["token"].(string)
	r = c.do("POST", "/oauth/authorizations", map[string]any{"description": "to revoke"}, bearer(tok))
	revoked := r.json(t)
	revokedTok := revoked["access_token"].(map[string]any)["token"].(string)
	if r := c.do("GET", "/account", nil, bearer(revokedTok)); r.status != 200 {
		t.Fatalf("fresh token: %d", r.status)
	}
	r = c.do("DELETE", "/oauth/authorizations/"+revoked["id"].(string), nil, bearer(tok))
	if r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	schematest.Validate(t, "oauth-authorization", r.body)
	if got := r.json(t)["description"]; got != "to revoke" {
		t.Errorf("DELETE answered description %v, want the deleted authorization's", got)
	}
	clk.Add(61 * time.Second)

	for name, tk := range map[string]string{
		"revoked":   revokedTok,
		"expired":   short,
		"malformed": flipLast(tok),
		"garbage":   "hello",
		"empty":     "",
	} {
		r := c.do("GET", "/account", nil, bearer(tk))
		r.wantError(t, 401, "unauthorized")
		_ = name
	}
	if r := c.do("GET", "/account", nil, bearer(tok)); r.status != 200 {
		t.Errorf("the login token stopped working: %d", r.status)
	}
}

// flipLast changes the last character of tok, which breaks its checksum.
func flipLast(tok string) string {
	last := byte('x')
	if tok[len(tok)-1] == last {
		last = 'y'
	}
	return tok[:len(tok)-1] + string(last)
}

func TestUnknownRoute(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	c.do("GET", "/nope", nil).wantError(t, 404, "not_found")
	c.do("PUT", "/account", nil).wantError(t, 404, "not_found")
}

func TestPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		tok := ts.Login(t, "ada@example.com", password)
		for i := 0; i < 5; i++ {
			if r := c.do("POST", "/oauth/authorizations", map[string]any{"description": "n"}, bearer(tok)); r.status != 201 {
				t.Fatal(r.status)
			}
		}
		// 7 in all: API key, login, 5 more. Pages of 3: 206, 206, 200.
		var seen []string
		rng := "id ..; max=3"
		var statuses []int
		for rng != "" {
			r := c.do("GET", "/oauth/authorizations", nil, bearer(tok), header("Range", rng))
			statuses = append(statuses, r.status)
			schematest.ValidateList(t, "oauth-authorization", r.body)
			if r.header.Get("Content-Range") == "" {
				t.Errorf("no Content-Range")
			}
			var page []map[string]any
			if err := json.Unmarshal(r.body, &page); err != nil {
				t.Fatal(err)
			}
			for _, a := range page {
				seen = append(seen, a["id"].(string))
			}
			rng = r.header.Get("Next-Range")
			if len(statuses) > 5 {
				t.Fatal("pagination does not end")
			}
		}
		if want := []int{206, 206, 200}; !equalInts(statuses, want) {
			t.Errorf("statuses = %v, want %v", statuses, want)
		}
		if len(seen) != 7 {
			t.Errorf("saw %d authorizations, want 7", len(seen))
		}
		for i := 1; i < len(seen); i++ {
			if seen[i-1] >= seen[i] {
				t.Errorf("ids not ascending and unique: %v", seen)
			}
		}
		// Descending, and a bad Range.
		r := c.do("GET", "/oauth/authorizations", nil, bearer(tok), header("Range", "id ..; max=1000, order=desc"))
		var desc []map[string]any
		_ = json.Unmarshal(r.body, &desc)
		if r.status != 200 || len(desc) != 7 || desc[0]["id"] != seen[6] {
			t.Errorf("order=desc: status %d, %d items", r.status, len(desc))
		}
		c.do("GET", "/oauth/authorizations", nil, bearer(tok), header("Range", "name ..")).wantError(t, 416, "requested_range_not_satisfiable")
	})
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestETag(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	tok := ts.Login(t, "ada@example.com", password)
	r := c.do("GET", "/account", nil, bearer(tok))
	etag := r.header.Get("ETag")
	if etag == "" {
		t.Fatal("no ETag on GET /account")
	}
	r = c.do("GET", "/account", nil, bearer(tok), header("If-None-Match", etag))
	if r.status != http.StatusNotModified || len(r.body) != 0 {
		t.Errorf("If-None-Match: status %d body %q, want 304 and no body", r.status, r.body)
	}
	c.do("PATCH", "/account", map[string]any{"name": "Ada Lovelace"}, bearer(tok))
	r = c.do("GET", "/account", nil, bearer(tok), header("If-None-Match", etag))
	if r.status != 200 {
		t.Errorf("after a change, If-None-Match with the old ETag: status %d, want 200", r.status)
	}
}

func TestRateLimit(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{RateLimit: 5})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	tok := ts.Login(t, "ada@example.com", password)
	var last int
	for i := 0; i < 5; i++ {
		r := c.do("GET", "/account", nil, bearer(tok))
		if r.status != 200 {
			t.Fatalf("call %d: %d", i, r.status)
		}
		last = atoi(t, r.header.Get("RateLimit-Remaining"))
	}
	if last != 0 {
		t.Errorf("RateLimit-Remaining after 5 of 5 calls = %d, want 0", last)
	}
	// /account/rate-limits is free and still answers.
	r := c.do("GET", "/account/rate-limits", nil, bearer(tok))
	if r.status != 200 || r.json(t)["remaining"] != float64(0) {
		t.Errorf("rate-limits: %d %s", r.status, r.body)
	}
	schematest.Validate(t, "rate-limit", r.body)
	c.do("GET", "/account", nil, bearer(tok)).wantError(t, 429, "rate_limit")
}

func atoi(t testing.TB, s string) int {
	t.Helper()
	var n int
	if err := json.Unmarshal([]byte(s), &n); err != nil {
		t.Fatalf("not a number: %q", s)
	}
	return n
}

func TestAccountUpdate(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ts.CreateAccount(t, "bob@example.com", password)
		tok := ts.Login(t, "ada@example.com", password)
		other := ts.Login(t, "ada@example.com", password)
		oldKey := ts.APIKey(t, "ada@example.com", password)

		r := c.do("PATCH", "/account", map[string]any{"name": "Ada Lovelace"}, bearer(tok))
		if r.status != 200 || r.json(t)["name"] != "Ada Lovelace" {
			t.Fatalf("rename: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "account", r.body)

		for _, tt := range []struct {
			name string
			body map[string]any
			code int
			id   string
		}{
			{"email without password", map[string]any{"email": "ada2@example.com"}, 422, "invalid_params"},
			{"email with wrong password", map[string]any{"email": "ada2@example.com", "password": "nope nope"}, 422, "invalid_params"},
			{"invalid email", map[string]any{"email": "not an email", "password": password}, 422, "invalid_params"},
			{"short new password", map[string]any{"new_password": "short", "password": password}, 422, "invalid_params"},
			{"name of the wrong type", map[string]any{"name": 42}, 422, "invalid_params"},
		} {
			c.do("PATCH", "/account", tt.body, bearer(tok)).wantError(t, tt.code, tt.id)
		}
		r = c.do("GET", "/account", nil, bearer(tok))
		if r.json(t)["email"] != "ada@example.com" {
			t.Errorf("a refused change was written: %s", r.body)
		}
		// An address another account has is answered as a free one would
		// be (its owner is told instead), so that nobody learns which
		// addresses have an account.
		if r := c.do("PATCH", "/account", map[string]any{"email": "BOB@example.com", "password": password}, bearer(tok)); r.status != 200 || r.json(t)["email"] != "ada@example.com" {
			t.Errorf("a taken address: %d %s, want 200 and the account unchanged", r.status, r.body)
		}
		ts.Mail().Take(t, "bob@example.com", "someone tried to move another account to your address")

		r = c.do("PATCH", "/account", map[string]any{"email": "ada@lovelace.example", "new_password": "a new long password", "password": password}, bearer(tok))
		if r.status != 200 || r.json(t)["email"] != "ada@example.com" {
			t.Fatalf("email+password change: %d %s (the email changes only once confirmed)", r.status, r.body)
		}
		// The new address gets a link; opening it makes the change.
		link := ts.Mail().Take(t, "ada@lovelace.example", "confirm your new email address").Link("/email/verify?token=")
		u, _ := url.Parse(link)
		if _, err := ts.Service.VerifyEmail(context.Background(), u.Query().Get("token"), service.Origin{}); err != nil {
			t.Fatalf("verify the new email: %v", err)
		}
		ts.Mail().Take(t, "ada@example.com", "your password was changed")
		ts.Mail().Take(t, "ada@example.com", "your email address was changed")
		if r := c.do("GET", "/account", nil, bearer(tok)); r.json(t)["email"] != "ada@lovelace.example" || r.json(t)["verified"] != true {
			t.Fatalf("after confirming: %s", r.body)
		}
		// The password change revoked the other session's token, not this one.
		c.do("GET", "/account", nil, bearer(other)).wantError(t, 401, "unauthorized")
		// The old API key went with it; the account has a new one.
		c.do("GET", "/account", nil, bearer(oldKey)).wantError(t, 401, "unauthorized")
		if newKey := ts.APIKey(t, "ada@lovelace.example", "a new long password"); newKey == oldKey || c.do("GET", "/account", nil, bearer(newKey)).status != 200 {
			t.Errorf("no working new API key after the password change")
		}
		if r := c.do("GET", "/account", nil, bearer(tok)); r.status != 200 {
			t.Errorf("the token that changed the password stopped working: %d", r.status)
		}
		c.do("POST", "/oauth/authorizations", nil, basic("ada@lovelace.example", password)).wantError(t, 401, "unauthorized")
		if r := c.do("POST", "/oauth/authorizations", nil, basic("ada@lovelace.example", "a new long password")); r.status != 201 {
			t.Errorf("login with the new password: %d %s", r.status, r.body)
		}
	})
}

// TestFailedLoginThrottle: after ten wrong passwords for an email, even the
// right one is refused for a while, with 429 rate_limit; other accounts are
// not affected.
func TestFailedLoginThrottle(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	ts.CreateAccount(t, "bob@example.com", password)
	for i := 0; i < 10; i++ {
		c.do("POST", "/oauth/authorizations", nil, basic("ada@example.com", "wrong password")).wantError(t, 401, "unauthorized")
	}
	c.do("POST", "/oauth/authorizations", nil, basic("ADA@example.com", password)).wantError(t, 429, "rate_limit")
	if r := c.do("POST", "/oauth/authorizations", nil, basic("bob@example.com", password)); r.status != 201 {
		t.Errorf("another account was throttled: %d", r.status)
	}
}

// wantStatus fails the test unless the reply has the status.
func (r reply) wantStatus(t testing.TB, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("status = %d, want %d; body %s", r.status, status, r.body)
	}
	return r
}

// wantErrorOf is wantError that reports, without stopping, what the
// request was.
func (r reply) wantErrorOf(t testing.TB, what string, status int, id string) map[string]any {
	t.Helper()
	m := map[string]any{"message": ""}
	if r.status != status {
		t.Errorf("%s: status = %d, want %d; body %s", what, r.status, status, r.body)
		return m
	}
	if err := json.Unmarshal(r.body, &m); err != nil || m["id"] != id {
		t.Errorf("%s: error id = %v, want %q; body %s", what, m["id"], id, r.body)
	}
	if _, ok := m["message"].(string); !ok {
		m["message"] = ""
	}
	return m
}
