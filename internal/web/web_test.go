package web_test

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/server"
	"github.com/keyhole/keyhole/internal/service"
)

const password = "correct horse battery"

type browser struct {
	t   *testing.T
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t *testing.T) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status int
	header http.Header
	body   string
}

func (b *browser) do(method, u string, form url.Values, hdr ...string) page {
	b.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, u, body)
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	s, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(s)}
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (p page) csrf(t *testing.T) string {
	t.Helper()
	m := csrfRe.FindStringSubmatch(p.body)
	if m == nil {
		t.Fatalf("no csrf field in %s", p.body)
	}
	return m[1]
}

func (b *browser) cookie(base, name string) *http.Cookie {
	u, _ := url.Parse(base)
	for _, c := range b.jar.Cookies(u) {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func login(t *testing.T, b *browser, base, email, pw string) page {
	t.Helper()
	form := b.do("GET", base+"/login", nil)
	return b.do("POST", base+"/login", url.Values{"csrf": {form.csrf(t)}, "email": {email}, "password": {pw}, "next": {"/device"}})
}

func TestPagesCarrySecurityHeaders(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	b := newBrowser(t)
	for _, path := range []string{"/", "/login", "/signup", "/logout", "/oauth/authorize?client_id=nope", "/static/keyhole.css"} {
		p := b.do("GET", ts.URL+path, nil)
		csp := p.header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
			p.header.Get("Cache-Control") != "no-store" || p.header.Get("X-Frame-Options") != "DENY" || p.header.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, p.header)
		}
		if strings.Contains(p.body, "<script") {
			t.Errorf("%s has a script", path)
		}
	}
}

func TestLoginSessionsAndLogout(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
			ts.CreateAccount(t, "ada@example.com", password)
			b := newBrowser(t)

			p := login(t, b, ts.URL, "ada@example.com", "wrong password")
			if p.status != 401 || !strings.Contains(p.body, "Incorrect email or password") || !strings.Contains(p.body, `value="ada@example.com"`) || strings.Contains(p.body, "wrong password") {
				t.Fatalf("wrong password: %d %s", p.status, p.body)
			}
			if b.cookie(ts.URL, "keyhole_session") != nil {
				t.Fatal("a failed login set a session")
			}

			p = login(t, b, ts.URL, "ada@example.com", password)
			if p.status != 303 || p.header.Get("Location") != "/device" {
				t.Fatalf("login: %d %v", p.status, p.header)
			}
			raw := p.header.Get("Set-Cookie")
			if !strings.Contains(raw, "HttpOnly") || !strings.Contains(raw, "SameSite=Lax") || strings.Contains(raw, "Secure") {
				t.Errorf("session cookie = %s (Secure only over https)", raw)
			}
			first := b.cookie(ts.URL, "keyhole_session").Value
			if !strings.Contains(b.do("GET", ts.URL+"/", nil).body, "Signed in as <b>ada@example.com</b>") {
				t.Error("home page does not show the account")
			}

			// Signing in again rotates the session; the old one is dead.
			login(t, b, ts.URL, "ada@example.com", password)
			second := b.cookie(ts.URL, "keyhole_session").Value
			if second == first {
				t.Fatal("the session id did not change at sign-in")
			}
			old := newBrowser(t)
			u, _ := url.Parse(ts.URL)
			old.jar.SetCookies(u, []*http.Cookie{{Name: "keyhole_session", Value: first}})
			if strings.Contains(old.do("GET", ts.URL+"/", nil).body, "Signed in") {
				t.Error("the previous session still works")
			}
			// The browser session is listed with the account's sessions.
			key := ts.APIKey(t, "ada@example.com", password)
			req, _ := http.NewRequest("GET", ts.URL+"/oauth/sessions", nil)
			req.Header.Set("Authorization", "Bearer "+key)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if strings.Count(string(body), `"Browser session @ 127.0.0.1"`) != 1 {
				t.Errorf("sessions = %s", body)
			}

			// Logout needs the form token; then the session is gone.
			if p := b.do("POST", ts.URL+"/logout", url.Values{}); p.status != 403 {
				t.Errorf("logout without token: %d", p.status)
			}
			form := b.do("GET", ts.URL+"/logout", nil)
			if p := b.do("POST", ts.URL+"/logout", url.Values{"csrf": {form.csrf(t)}}); p.status != 303 {
				t.Fatalf("logout: %d", p.status)
			}
			if strings.Contains(b.do("GET", ts.URL+"/", nil).body, "Signed in") {
				t.Error("still signed in after logout")
			}
			again := newBrowser(t)
			again.jar.SetCookies(u, []*http.Cookie{{Name: "keyhole_session", Value: second}})
			if strings.Contains(again.do("GET", ts.URL+"/", nil).body, "Signed in") {
				t.Error("the logged-out session still works")
			}
		})
	}
}

func TestCSRFAndOpenRedirects(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	b := newBrowser(t)
	form := b.do("GET", ts.URL+"/login", nil)
	tok := form.csrf(t)
	creds := url.Values{"email": {"ada@example.com"}, "password": {password}}
	if p := b.do("POST", ts.URL+"/login", creds); p.status != 403 {
		t.Errorf("no token: %d", p.status)
	}
	creds.Set("csrf", "forged-token")
	if p := b.do("POST", ts.URL+"/login", creds); p.status != 403 {
		t.Errorf("forged token: %d", p.status)
	}
	creds.Set("csrf", tok)
	if p := b.do("POST", ts.URL+"/login", creds, "Sec-Fetch-Site", "cross-site"); p.status != 403 {
		t.Errorf("cross-site: %d", p.status)
	}
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "/\t/evil.example", "/\n/evil.example", "javascript:alert(1)"} {
		creds.Set("next", next)
		// Each sign-in makes the forms of the session before stale.
		creds.Set("csrf", b.do("GET", ts.URL+"/login", nil).csrf(t))
		p := b.do("POST", ts.URL+"/login", creds)
		if p.status != 303 || p.header.Get("Location") != "/" {
			t.Errorf("next=%q: %d → %q, want /", next, p.status, p.header.Get("Location"))
		}
	}
}

func TestSignup(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	b := newBrowser(t)
	form := b.do("GET", ts.URL+"/signup", nil)
	tok := form.csrf(t)
	p := b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {"not-an-email"}, "password": {password}})
	if p.status != 400 || !strings.Contains(p.body, "valid address") {
		t.Errorf("bad email: %d", p.status)
	}
	p = b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {"new@example.com"}, "name": {"New"}, "password": {password}})
	if p.status != 200 || !strings.Contains(p.body, "Check your mail") || b.cookie(ts.URL, "keyhole_session") != nil {
		t.Fatalf("signup: %d, want the check-your-mail page and no session", p.status)
	}
	// The account cannot sign in before its address is confirmed.
	if p := login(t, b, ts.URL, "new@example.com", password); p.status != 403 || !strings.Contains(p.body, "Confirm your email address first") {
		t.Errorf("sign-in before confirming: %d %s", p.status, errorText(p))
	}
	link := ts.Mail().Take(t, "new@example.com", "confirm your email address").Link("/email/verify?token=")
	verify := b.do("GET", link, nil)
	if verify.status != 200 || !strings.Contains(verify.body, "new@example.com") {
		t.Fatalf("verification page: %d %s", verify.status, verify.body)
	}
	fields := formFields(verify)
	if p := b.do("POST", ts.URL+"/email/verify", fields); p.status != 200 || !strings.Contains(p.body, "confirmed") {
		t.Fatalf("confirm: %d %s", p.status, p.body)
	}
	if p := b.do("POST", ts.URL+"/email/verify", fields); p.status != 400 {
		t.Errorf("the link worked twice: %d", p.status)
	}
	if p := login(t, b, ts.URL, "new@example.com", password); p.status != 303 {
		t.Fatalf("sign-in after confirming: %d %s", p.status, errorText(p))
	}

	closed := keyholetest.NewServer(t, keyholetest.Options{NoSignup: true})
	if p := newBrowser(t).do("GET", closed.URL+"/signup", nil); p.status != 404 || !strings.Contains(p.body, "Sign-up is closed") {
		t.Errorf("signup off: %d", p.status)
	}
}

// TestSignupLooksTheSameForExistingAddresses: signing up with an address
// that has an account answers exactly as for a new one (status, page,
// cookies set), and the owner gets a mail about it instead of a link.
func TestSignupLooksTheSameForExistingAddresses(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		ts.CreateAccount(t, "ada@example.com", password)
		signup := func(email string) page {
			b := newBrowser(t)
			tok := b.do("GET", ts.URL+"/signup", nil).csrf(t)
			return b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {email}, "name": {"Someone"}, "password": {"another long passphrase"}})
		}
		fresh, taken := signup("bob@example.com"), signup("ADA@example.com")
		norm := func(p page) string {
			return strings.NewReplacer("bob@example.com", "EMAIL", "ADA@example.com", "EMAIL").Replace(csrfRe.ReplaceAllString(p.body, ""))
		}
		if fresh.status != taken.status || norm(fresh) != norm(taken) {
			t.Errorf("new address: %d, existing address: %d; the pages differ:\n%s\n---\n%s", fresh.status, taken.status, norm(fresh), norm(taken))
		}
		cookieNames := func(p page) []string {
			var names []string
			for _, c := range (&http.Response{Header: p.header}).Cookies() {
				names = append(names, c.Name)
			}
			return names
		}
		if !slices.Equal(cookieNames(fresh), cookieNames(taken)) {
			t.Errorf("cookies differ: %v vs %v", cookieNames(fresh), cookieNames(taken))
		}
		for _, h := range []string{"Content-Type", "Cache-Control", "Content-Security-Policy"} {
			if fresh.header.Get(h) != taken.header.Get(h) {
				t.Errorf("%s differs: %q vs %q", h, fresh.header.Get(h), taken.header.Get(h))
			}
		}
		ts.Mail().Take(t, "bob@example.com", "confirm your email address")
		m := ts.Mail().Take(t, "ada@example.com", "someone tried to sign up")
		if m.Link("/email/verify") != "" || !strings.Contains(m.Body, "/password/forgot") {
			t.Errorf("the owner's mail: %s", m.Body)
		}
		// The existing account is untouched: its password still works.
		if p := login(t, newBrowser(t), ts.URL, "ada@example.com", password); p.status != 303 {
			t.Errorf("the owner's sign-in after the attempt: %d", p.status)
		}
	})
}

// TestSecureCookiesOverHTTPS checks that an https issuer makes the session
// and form cookies Secure and __Host- prefixed (so no other host can set
// or shadow them), and that every answer carries HSTS.
func TestSecureCookiesOverHTTPS(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	h := server.New(server.Config{Service: ts.Service, Keys: ts.Keys, Issuer: "https://id.example.com"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://id.example.com/login", nil))
	csrf := rec.Result().Cookies()[0]
	if csrf.Name != "__Host-keyhole_csrf" || !csrf.Secure || !csrf.HttpOnly || csrf.Path != "/" || csrf.Domain != "" {
		t.Fatalf("form cookie = %+v", csrf)
	}
	if got := rec.Header().Get("Strict-Transport-Security"); !strings.HasPrefix(got, "max-age=") {
		t.Errorf("Strict-Transport-Security = %q", got)
	}
	tok := page{body: rec.Body.String()}.csrf(t)
	form := url.Values{"csrf": {tok}, "email": {"ada@example.com"}, "password": {password}}
	req := httptest.NewRequest("POST", "https://id.example.com/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "__Host-keyhole_session" {
			sess = c
		}
	}
	if rec.Code != 303 || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode || sess.Path != "/" || sess.Domain != "" {
		t.Fatalf("login over https: %d, session cookie %+v", rec.Code, sess)
	}
	// Over http (a developer's machine) there is no HSTS.
	rec = httptest.NewRecorder()
	server.New(server.Config{Service: ts.Service, Keys: ts.Keys, Issuer: ts.Issuer}).ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
	if got := rec.Header().Get("Strict-Transport-Security"); got != "" {
		t.Errorf("HSTS over http: %q", got)
	}
}

// ---- /oauth/authorize and /device

// oauthSetup is a server with a signed-in browser for ada and the service
// actor of her account, to register clients with.
type oauthSetup struct {
	ts    *keyholetest.Server
	b     *browser
	actor service.Actor
}

func newOAuthSetup(t *testing.T) oauthSetup {
	t.Helper()
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	if p := login(t, b, ts.URL, "ada@example.com", password); p.status != 303 {
		t.Fatalf("login: %d", p.status)
	}
	return oauthSetup{ts: ts, b: b, actor: actor}
}

func (s oauthSetup) client(t *testing.T, name, redirect string, public bool) service.ClientInfo {
	t.Helper()
	c, err := s.ts.Service.CreateClient(context.Background(), s.actor, service.ClientParams{Name: &name, RedirectURI: &redirect, Public: public})
	if err != nil {
		t.Fatalf("create client: %v", err)
	}
	return c
}

// authorizeURL builds an authorization request from name/value pairs.
func (s oauthSetup) authorizeURL(kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		q.Add(kv[i], kv[i+1])
	}
	return s.ts.URL + "/oauth/authorize?" + q.Encode()
}

// redirected checks a 303 to the client's redirect URI and returns its
// query, failing when a parameter appears more than once.
func redirected(t *testing.T, p page, prefix string) url.Values {
	t.Helper()
	loc := p.header.Get("Location")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(loc, prefix) {
		t.Fatalf("got %d Location %q, want 303 to %s (body %s)", p.status, loc, prefix, p.body)
	}
	u, err := url.Parse(loc)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	for k, v := range q {
		if len(v) != 1 {
			t.Errorf("parameter %s sent %d times in %s", k, len(v), loc)
		}
	}
	return q
}

// formFields reads the hidden fields of a form page.
var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

func formFields(p page) url.Values {
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		v.Set(m[1], html.UnescapeString(m[2]))
	}
	return v
}

const challenge = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM" // RFC 7636 appendix B

func TestAuthorizeErrorsBeforeVerificationArePages(t *testing.T) {
	s := newOAuthSetup(t)
	c := s.client(t, "Acme", "https://client.example/cb", false)
	for _, tc := range []struct {
		name string
		url  string
	}{
		{"no client", s.authorizeURL("response_type", "code")},
		{"malformed client", s.authorizeURL("client_id", "nope", "response_type", "code")},
		{"unknown client", s.authorizeURL("client_id", "01234567-89ab-cdef-0123-456789abcdef", "response_type", "code")},
		{"extra path", s.authorizeURL("client_id", c.ID, "response_type", "code", "redirect_uri", "https://client.example/cb/extra")},
		{"other host", s.authorizeURL("client_id", c.ID, "response_type", "code", "redirect_uri", "https://evil.example/cb")},
		{"trailing slash", s.authorizeURL("client_id", c.ID, "response_type", "code", "redirect_uri", "https://client.example/cb/")},
		{"repeated client_id", s.authorizeURL("client_id", c.ID, "client_id", c.ID, "response_type", "code")},
		{"long state", s.authorizeURL("client_id", c.ID, "response_type", "code", "state", strings.Repeat("s", 2049))},
		{"long query", s.authorizeURL("client_id", c.ID, "response_type", "code", "junk", strings.Repeat("j", 8<<10))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := s.b.do("GET", tc.url, nil)
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" {
				t.Fatalf("got %d Location %q, want a 400 page", p.status, p.header.Get("Location"))
			}
			if !strings.Contains(p.header.Get("Content-Type"), "text/html") || !strings.Contains(p.body, "<h1>") {
				t.Errorf("not an HTML page: %s", p.body)
			}
			if !strings.Contains(p.header.Get("Content-Security-Policy"), "frame-ancestors 'none'") {
				t.Errorf("CSP = %q", p.header.Get("Content-Security-Policy"))
			}
		})
	}
	if p := s.b.do("GET", s.authorizeURL("client_id", "01234567-89ab-cdef-0123-456789abcdef"), nil); !strings.Contains(p.body, "Unknown OAuth client.") {
		t.Errorf("unknown client page: %s", p.body)
	}
}

func TestAuthorizeErrorsAfterVerificationAreRedirected(t *testing.T) {
	s := newOAuthSetup(t)
	conf := s.client(t, "Acme", "https://client.example/cb?app=1", false)
	pub := s.client(t, "Acme CLI", "http://127.0.0.1:8765/cb", true)
	for _, tc := range []struct {
		name, redirect, want string
		params               []string
	}{
		{"token response", conf.RedirectURI, "unsupported_response_type", []string{"client_id", conf.ID, "response_type", "token"}},
		{"no response type", conf.RedirectURI, "invalid_request", []string{"client_id", conf.ID}},
		{"unknown scope", conf.RedirectURI, "invalid_scope", []string{"client_id", conf.ID, "response_type", "code", "scope", "read root"}},
		{"plain PKCE", conf.RedirectURI, "invalid_request", []string{"client_id", conf.ID, "response_type", "code", "code_challenge", challenge, "code_challenge_method", "plain"}},
		{"PKCE without method", conf.RedirectURI, "invalid_request", []string{"client_id", conf.ID, "response_type", "code", "code_challenge", challenge}},
		{"short challenge", conf.RedirectURI, "invalid_request", []string{"client_id", conf.ID, "response_type", "code", "code_challenge", "abc", "code_challenge_method", "S256"}},
		{"public without PKCE", pub.RedirectURI, "invalid_request", []string{"client_id", pub.ID, "response_type", "code", "redirect_uri", pub.RedirectURI}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			const state = "st/+&= é"
			q := redirected(t, s.b.do("GET", s.authorizeURL(append(tc.params, "state", state)...), nil), strings.Split(tc.redirect, "?")[0])
			if got := q.Get("error"); got != tc.want {
				t.Errorf("error = %q, want %q", got, tc.want)
			}
			if q.Get("error_description") == "" || q.Get("state") != state || q.Get("iss") != s.ts.Issuer || q.Has("code") {
				t.Errorf("query = %v", q)
			}
			if tc.redirect == conf.RedirectURI && q.Get("app") != "1" {
				t.Errorf("the redirect URI's own query was lost: %v", q)
			}
		})
	}
	// No state sent, none returned.
	q := redirected(t, s.b.do("GET", s.authorizeURL("client_id", conf.ID, "response_type", "token"), nil), "https://client.example/cb")
	if q.Has("state") {
		t.Errorf("state returned though none was sent: %v", q)
	}
}

func TestAuthorizeSignInConsentAndGrant(t *testing.T) {
	s := newOAuthSetup(t)
	c := s.client(t, "Acme Deploys", "https://client.example/cb?app=1", false)
	const state = "af0ifjsldkj"
	authz := s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", "identity read", "state", state, "redirect_uri", c.RedirectURI)

	// A signed-out browser is sent to sign in, and back here afterwards.
	fresh := newBrowser(t)
	p := fresh.do("GET", authz, nil)
	loc := p.header.Get("Location")
	if p.status != 303 || !strings.HasPrefix(loc, "/login?next=") {
		t.Fatalf("signed out: %d %q", p.status, loc)
	}
	lu, _ := url.Parse(loc)
	next := lu.Query().Get("next")
	nu, _ := url.Parse(next)
	if nu.Path != "/oauth/authorize" || nu.Query().Get("client_id") != c.ID || nu.Query().Get("state") != state {
		t.Fatalf("next = %q", next)
	}
	form := fresh.do("GET", s.ts.URL+loc, nil)
	if got := formFields(form).Get("next"); got != next {
		t.Errorf("login form next = %q, want %q", got, next)
	}
	p = fresh.do("POST", s.ts.URL+"/login", url.Values{"csrf": {form.csrf(t)}, "email": {"ada@example.com"}, "password": {password}, "next": {next}})
	if p.status != 303 || p.header.Get("Location") != next {
		t.Fatalf("login: %d %q, want %q", p.status, p.header.Get("Location"), next)
	}

	// The consent page names the client, its redirect host, the scopes in
	// words, and the account; its form may post to the client's origin.
	consent := fresh.do("GET", s.ts.URL+next, nil)
	for _, want := range []string{
		"Authorize Acme Deploys?", "client.example", "ada@example.com",
		html.EscapeString(keyhole.ScopeDescriptions["identity"]), html.EscapeString(keyhole.ScopeDescriptions["read"]),
		`value="Allow"`, `value="Deny"`, `action="/oauth/authorize"`,
	} {
		if !strings.Contains(consent.body, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consent.body)
		}
	}
	if csp := consent.header.Get("Content-Security-Policy"); consent.status != 200 || !strings.Contains(csp, "form-action 'self' https://client.example") || !strings.Contains(csp, "frame-ancestors 'none'") {
		t.Errorf("consent: %d CSP %q", consent.status, csp)
	}
	if strings.Contains(consent.body, "<script") {
		t.Error("consent page has a script")
	}
	// The form carries only its token and the handle of what it shows.
	fields := formFields(consent)
	if len(fields) != 2 || fields.Get("csrf") == "" || fields.Get("consent") == "" {
		t.Fatalf("hidden fields = %v, want csrf and consent only", fields)
	}

	// Allow counts only on POST.
	if p := fresh.do("GET", s.ts.URL+next+"&authorize=Allow", nil); p.status != 200 || !strings.Contains(p.body, "Authorize Acme Deploys?") {
		t.Errorf("GET with authorize=Allow: %d", p.status)
	}
	// The form token and same-origin posting are both required.
	noToken := url.Values{}
	for k, v := range fields {
		noToken[k] = v
	}
	noToken.Del("csrf")
	noToken.Set("authorize", "Allow")
	if p := fresh.do("POST", s.ts.URL+"/oauth/authorize", noToken); p.status != 403 || p.header.Get("Location") != "" {
		t.Errorf("Allow without token: %d %q", p.status, p.header.Get("Location"))
	}
	fields.Set("authorize", "Allow")
	if p := fresh.do("POST", s.ts.URL+"/oauth/authorize", fields, "Sec-Fetch-Site", "cross-site"); p.status != 403 || p.header.Get("Location") != "" {
		t.Errorf("cross-site Allow: %d %q", p.status, p.header.Get("Location"))
	}

	// Deny.
	fields.Set("authorize", "Deny")
	q := redirected(t, fresh.do("POST", s.ts.URL+"/oauth/authorize", fields), "https://client.example/cb?")
	if q.Get("error") != "access_denied" || q.Get("state") != state || q.Get("iss") != s.ts.Issuer || q.Get("app") != "1" || q.Has("code") {
		t.Errorf("deny: %v", q)
	}

	// Allow: a code the client can redeem.
	fields.Set("authorize", "Allow")
	q = redirected(t, fresh.do("POST", s.ts.URL+"/oauth/authorize", fields), "https://client.example/cb?")
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != s.ts.Issuer || q.Get("app") != "1" || q.Has("error") {
		t.Fatalf("allow: %v", q)
	}
	tg, err := s.ts.Service.Exchange(context.Background(), service.TokenRequest{
		GrantType: service.GrantAuthorizationCode, Client: service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal()}, Code: q.Get("code"), RedirectURI: c.RedirectURI,
	})
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	if got := strings.Join(tg.Authorization.Scope, " "); got != "identity read" {
		t.Errorf("scope = %q", got)
	}

	// The same client and scope again: no question, straight back with a code.
	q = redirected(t, fresh.do("GET", authz, nil), "https://client.example/cb?")
	if q.Get("code") == "" || q.Get("state") != state || q.Get("iss") != s.ts.Issuer {
		t.Errorf("second authorize: %v", q)
	}
	// Another scope is asked again.
	if p := fresh.do("GET", s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", "global"), nil); p.status != 200 || !strings.Contains(p.body, "Authorize Acme Deploys?") {
		t.Errorf("new scope: %d", p.status)
	}
}

func TestAuthorizePublicClientAlwaysAsks(t *testing.T) {
	s := newOAuthSetup(t)
	c := s.client(t, "Acme CLI", "http://127.0.0.1:8765/cb", true)
	authz := s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", "identity", "code_challenge", challenge, "code_challenge_method", "S256")
	for i := range 2 {
		consent := s.b.do("GET", authz, nil)
		if consent.status != 200 || !strings.Contains(consent.body, "Authorize Acme CLI?") {
			t.Fatalf("round %d: %d", i, consent.status)
		}
		if csp := consent.header.Get("Content-Security-Policy"); !strings.Contains(csp, "form-action 'self' http://127.0.0.1:8765") {
			t.Errorf("CSP = %q", csp)
		}
		fields := formFields(consent)
		fields.Set("authorize", "Allow")
		q := redirected(t, s.b.do("POST", s.ts.URL+"/oauth/authorize", fields), "http://127.0.0.1:8765/cb?")
		if q.Get("code") == "" || q.Has("state") || q.Get("iss") != s.ts.Issuer {
			t.Fatalf("round %d: %v", i, q)
		}
		if _, err := s.ts.Service.Exchange(context.Background(), service.TokenRequest{
			GrantType: service.GrantAuthorizationCode, Client: service.ClientAuth{ID: c.ID}, Code: q.Get("code"),
			CodeVerifier: "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk",
		}); err != nil {
			t.Fatalf("round %d: exchange: %v", i, err)
		}
	}
}

func TestDevice(t *testing.T) {
	for _, allow := range []bool{true, false} {
		t.Run(map[bool]string{true: "allow", false: "deny"}[allow], func(t *testing.T) {
			s := newOAuthSetup(t)
			c := s.client(t, "Acme TV", "https://client.example/cb", false)
			ctx := context.Background()
			da, err := s.ts.Service.StartDevice(ctx, service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal()}, []string{"read", "email"}, "")
			if err != nil {
				t.Fatal(err)
			}

			// Signed out: sign in first, then back with the code.
			p := newBrowser(t).do("GET", s.ts.URL+"/device?user_code="+url.QueryEscape(da.UserCode), nil)
			if want := "/login?next=" + url.QueryEscape("/device?user_code="+url.QueryEscape(da.UserCode)); p.status != 303 || p.header.Get("Location") != want {
				t.Fatalf("signed out: %d %q, want %q", p.status, p.header.Get("Location"), want)
			}

			form := s.b.do("GET", s.ts.URL+"/device?user_code="+url.QueryEscape(da.UserCode), nil)
			if form.status != 200 || !strings.Contains(form.body, `value="`+da.UserCode+`"`) {
				t.Fatalf("device form: %d %s", form.status, form.body)
			}
			tok := form.csrf(t)
			bad := s.b.do("POST", s.ts.URL+"/device", url.Values{"csrf": {tok}, "user_code": {"BCDF-GHJK"}})
			if bad.status != 400 || !strings.Contains(bad.body, "not valid") {
				t.Errorf("bad code: %d %s", bad.status, bad.body)
			}
			if p := s.b.do("POST", s.ts.URL+"/device", url.Values{"user_code": {da.UserCode}}); p.status != 403 {
				t.Errorf("no token: %d", p.status)
			}
			consent := s.b.do("POST", s.ts.URL+"/device", url.Values{"csrf": {tok}, "user_code": {strings.ToLower(da.UserCode)}})
			if consent.status != 200 || !strings.Contains(consent.body, "Authorize Acme TV?") ||
				!strings.Contains(consent.body, html.EscapeString(keyhole.ScopeDescriptions["read"])) || !strings.Contains(consent.body, `action="/device"`) {
				t.Fatalf("device consent: %d %s", consent.status, consent.body)
			}
			// What it learns and what it may do are told apart, as on the
			// authorization consent page.
			learn, do := strings.Index(consent.body, "It will learn:"), strings.Index(consent.body, "It will be able to:")
			email := strings.Index(consent.body, html.EscapeString(keyhole.ScopeDescriptions["email"]))
			if learn < 0 || do < learn || email < learn || email > do {
				t.Errorf("device consent does not list email under what it learns, before what it may do")
			}
			if _, err := s.ts.Service.PollDevice(ctx, service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal()}, da.DeviceCode.Reveal()); keyhole.ErrorCode(err) != keyhole.AuthorizationPending {
				t.Errorf("before the answer: %v", err)
			}
			fields := formFields(consent)
			fields.Set("authorize", map[bool]string{true: "Allow", false: "Deny"}[allow])
			done := s.b.do("POST", s.ts.URL+"/device", fields)
			tg, err := s.ts.Service.PollDevice(ctx, service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal()}, da.DeviceCode.Reveal())
			if allow {
				if done.status != 200 || !strings.Contains(done.body, "Done: you can return to your device") {
					t.Errorf("allow page: %d %s", done.status, done.body)
				}
				if err != nil || tg.Access.Value == "" || tg.Refresh == nil {
					t.Fatalf("poll after Allow: %+v, %v", tg, err)
				}
			} else {
				if done.status != 200 || !strings.Contains(done.body, "Request denied") {
					t.Errorf("deny page: %d %s", done.status, done.body)
				}
				if keyhole.ErrorCode(err) != keyhole.AccessDenied {
					t.Fatalf("poll after Deny: %v, want access_denied", err)
				}
			}
			// The code is answered: it cannot be answered again.
			if p := s.b.do("POST", s.ts.URL+"/device", fields); p.status != 400 {
				t.Errorf("second answer: %d", p.status)
			}
		})
	}
}

func TestErrorPages(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	h := server.New(server.Config{Service: ts.Service, Keys: ts.Keys, Issuer: ts.Issuer})
	for _, tc := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/static/missing.css", 404},
		{"GET", "/static/", 404},
		{"GET", "/nowhere", 404},
		{"DELETE", "/login", 405},
		{"PUT", "/oauth/authorize", 405},
		{"POST", "/static/keyhole.css", 405},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(tc.method, tc.path, nil)
		req.Header.Set("Accept", "text/html,application/xhtml+xml,*/*;q=0.8") // a browser
		h.ServeHTTP(rec, req)
		if rec.Code != tc.status || !strings.Contains(rec.Header().Get("Content-Type"), "text/html") ||
			rec.Header().Get("Cache-Control") != "no-store" || !strings.Contains(rec.Header().Get("Content-Security-Policy"), "frame-ancestors 'none'") {
			t.Errorf("%s %s: %d %v", tc.method, tc.path, rec.Code, rec.Header())
		}
	}
}
