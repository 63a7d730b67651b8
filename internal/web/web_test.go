package web_test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/web"
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
	for _, next := range []string{"https://evil.example/", "//evil.example/", "/\\evil.example", "javascript:alert(1)"} {
		creds.Set("next", next)
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
	if p.status != 422 || !strings.Contains(p.body, "valid address") {
		t.Errorf("bad email: %d", p.status)
	}
	p = b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {"new@example.com"}, "name": {"New"}, "password": {password}})
	if p.status != 303 || b.cookie(ts.URL, "keyhole_session") == nil {
		t.Fatalf("signup: %d", p.status)
	}
	p = b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {"NEW@example.com"}, "password": {password}})
	if p.status != 409 {
		t.Errorf("duplicate: %d", p.status)
	}

	closed := keyholetest.NewServer(t, keyholetest.Options{NoSignup: true})
	if p := newBrowser(t).do("GET", closed.URL+"/signup", nil); p.status != 404 || !strings.Contains(p.body, "Sign-up is closed") {
		t.Errorf("signup off: %d", p.status)
	}
}

// TestSecureCookiesOverHTTPS checks that an https issuer makes the session
// and form cookies Secure.
func TestSecureCookiesOverHTTPS(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	h := web.New(web.Deps{Service: ts.Service, Issuer: "https://id.example.com"})
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "https://id.example.com/login", nil))
	csrf := rec.Result().Cookies()[0]
	if csrf.Name != "keyhole_csrf" || !csrf.Secure || !csrf.HttpOnly {
		t.Fatalf("form cookie = %+v", csrf)
	}
	form := url.Values{"csrf": {csrf.Value}, "email": {"ada@example.com"}, "password": {password}}
	req := httptest.NewRequest("POST", "https://id.example.com/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(csrf)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	var sess *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == "keyhole_session" {
			sess = c
		}
	}
	if rec.Code != 303 || sess == nil || !sess.Secure || !sess.HttpOnly || sess.SameSite != http.SameSiteLaxMode {
		t.Fatalf("login over https: %d, session cookie %+v", rec.Code, sess)
	}
}
