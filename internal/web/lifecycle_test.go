package web_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

const (
	herokuV3      = "application/vnd.heroku+json; version=3"
	browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
)

// eachBackend runs f as a subtest on every storage backend.
func eachBackend(t *testing.T, f func(t *testing.T, be keyholetest.Backend)) {
	t.Helper()
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) { f(t, be) })
	}
}

// oauthSetupOn is newOAuthSetup on the given backend.
func oauthSetupOn(t *testing.T, be keyholetest.Backend) oauthSetup {
	t.Helper()
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
	ts.CreateAccount(t, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t)
	if p := login(t, b, ts.URL, "ada@example.com", password); p.status != http.StatusSeeOther {
		t.Fatalf("login: %d", p.status)
	}
	return oauthSetup{ts: ts, b: b, actor: actor}
}

// api calls the Platform API with a bearer token.
func api(t *testing.T, base, path, tok string) page {
	t.Helper()
	return newBrowser(t).do("GET", base+path, nil, "Authorization", "Bearer "+tok, "Accept", herokuV3)
}

// clientCall posts form to an OAuth endpoint with c's credentials in HTTP
// Basic auth (RFC 6749 §2.3.1) and returns the JSON answer, failing the
// test unless it is a 200.
func clientCall(t *testing.T, base, path string, c service.ClientInfo, form url.Values) map[string]any {
	t.Helper()
	basic := base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(c.ID) + ":" + url.QueryEscape(c.Secret.Reveal())))
	p := newBrowser(t).do("POST", base+path, form, "Authorization", "Basic "+basic)
	var out map[string]any
	if err := json.Unmarshal([]byte(p.body), &out); p.status != http.StatusOK || err != nil {
		t.Fatalf("POST %s %v: got %d %s, want 200", path, form.Get("grant_type"), p.status, p.body)
	}
	return out
}

// exchange redeems a code at the token endpoint.
func exchange(t *testing.T, base string, c service.ClientInfo, code string) map[string]any {
	t.Helper()
	return clientCall(t, base, "/oauth/token", c, url.Values{"grant_type": {"authorization_code"}, "code": {code}})
}

// consentPage opens the consent page of c for scope in b.
func consentPage(t *testing.T, s oauthSetup, b *browser, c service.ClientInfo, scope string) page {
	t.Helper()
	p := b.do("GET", s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", scope, "state", "st-1"), nil)
	if p.status != http.StatusOK || !strings.Contains(p.body, "Authorize "+html.EscapeString(c.Name)+"?") {
		t.Fatalf("consent page for %s: got %d, want 200 (%s)", scope, p.status, p.body)
	}
	return p
}

// allow answers a consent page with Allow and returns the code sent to
// the client.
func allow(t *testing.T, s oauthSetup, b *browser, consent page, c service.ClientInfo) string {
	t.Helper()
	fields := formFields(consent)
	fields.Set("authorize", "Allow")
	q := redirected(t, b.do("POST", s.ts.URL+"/oauth/authorize", fields), c.RedirectURI)
	if q.Get("code") == "" {
		t.Fatalf("no code in %v", q)
	}
	return q.Get("code")
}

// logout signs b out with tok as the form token and returns the status.
func logout(b *browser, base, tok string) int {
	b.t.Helper()
	return b.do("POST", base+"/logout", url.Values{"csrf": {tok}}).status
}

var (
	errorRe = regexp.MustCompile(`<p class="error" role="alert">([^<]*)</p>`)
	linkRe  = regexp.MustCompile(`<a href="([^"]*)"`)
)

// errorText is the message above a form page's form, "" if none.
func errorText(p page) string {
	if m := errorRe.FindStringSubmatch(p.body); m != nil {
		return html.UnescapeString(m[1])
	}
	return ""
}

// TestGrantsOutliveSignOut checks that signing out of the browser ends
// the browser session only: an application authorized on the consent page
// keeps its access and refresh tokens, and CLI logins stay.
func TestGrantsOutliveSignOut(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		s := oauthSetupOn(t, be)
		base := s.ts.URL
		c := s.client(t, "Acme Deploys", "https://client.example/cb", false)
		cli := s.ts.Login(t, "ada@example.com", password)

		tok := exchange(t, base, c, allow(t, s, s.b, consentPage(t, s, s.b, c, "read"), c))
		access, refresh := fmt.Sprint(tok["access_token"]), fmt.Sprint(tok["refresh_token"])
		if p := api(t, base, "/apps", access); p.status != http.StatusOK {
			t.Fatalf("GET /apps with the app's token: got %d %s, want 200", p.status, p.body)
		}
		if got := strings.Count(api(t, base, "/oauth/sessions", cli).body, `"Browser session @ 127.0.0.1"`); got != 1 {
			t.Fatalf("browser sessions listed before sign-out: got %d, want 1", got)
		}

		if got := logout(s.b, base, s.b.do("GET", base+"/logout", nil).csrf(t)); got != http.StatusSeeOther {
			t.Fatalf("logout: got %d, want 303", got)
		}

		if p := api(t, base, "/apps", access); p.status != http.StatusOK {
			t.Errorf("the app's access token after sign-out: got %d %s, want 200", p.status, p.body)
		}
		tok = clientCall(t, base, "/oauth/token", c, url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}})
		if p := api(t, base, "/apps", fmt.Sprint(tok["access_token"])); p.status != http.StatusOK {
			t.Errorf("the refreshed access token: got %d %s, want 200", p.status, p.body)
		}
		sessions := api(t, base, "/oauth/sessions", cli)
		if sessions.status != http.StatusOK || strings.Contains(sessions.body, "Browser session") || !strings.Contains(sessions.body, `"test login"`) {
			t.Errorf("sessions after sign-out: got %d %s, want the CLI login and no browser session", sessions.status, sessions.body)
		}
		if p := api(t, base, "/apps", cli); p.status != http.StatusOK {
			t.Errorf("the CLI login after sign-out: got %d, want 200", p.status)
		}
		p := s.b.do("GET", s.authorizeURL("client_id", c.ID, "response_type", "code", "scope", "read"), nil)
		if p.status != http.StatusSeeOther || !strings.HasPrefix(p.header.Get("Location"), "/login?") {
			t.Errorf("authorize after sign-out: got %d %q, want 303 to /login", p.status, p.header.Get("Location"))
		}
	})
}

// TestConsentIsBoundToWhatWasShown checks that the consent form's answer
// applies to the request its page showed, in the session that saw it, and
// to nothing posted alongside.
func TestConsentIsBoundToWhatWasShown(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		s := oauthSetupOn(t, be)
		base := s.ts.URL
		c := s.client(t, "Acme", "https://client.example/cb", false)
		other := s.client(t, "Other", "https://other.example/cb", false)

		// Parameters posted with the answer are ignored.
		fields := formFields(consentPage(t, s, s.b, c, "identity"))
		fields.Set("scope", "global")
		fields.Set("client_id", other.ID)
		fields.Set("redirect_uri", other.RedirectURI)
		fields.Set("authorize", "Allow")
		q := redirected(t, s.b.do("POST", base+"/oauth/authorize", fields), c.RedirectURI)
		if q.Get("state") != "st-1" {
			t.Errorf("state = %q, want st-1", q.Get("state"))
		}
		if tok := exchange(t, base, c, q.Get("code")); tok["scope"] != "identity" {
			t.Errorf("scope = %v, want identity", tok["scope"])
		}

		// An authorization request posted with Allow, without a handle, is
		// asked about, not granted.
		p := s.b.do("POST", base+"/oauth/authorize", url.Values{
			"client_id": {c.ID}, "response_type": {"code"}, "scope": {"read"}, "authorize": {"Allow"}, "csrf": {fields.Get("csrf")},
		})
		if p.status != http.StatusOK || p.header.Get("Location") != "" || !strings.Contains(p.body, "Authorize Acme?") {
			t.Errorf("Allow without a consent handle: got %d Location %q, want the consent page", p.status, p.header.Get("Location"))
		}

		// A handle works only in the session that was shown its page.
		consent := consentPage(t, s, s.b, c, "write")
		handle := formFields(consent).Get("consent")
		b2 := newBrowser(t)
		if p := login(t, b2, base, "ada@example.com", password); p.status != http.StatusSeeOther {
			t.Fatalf("second login: %d", p.status)
		}
		for _, tc := range []struct {
			name   string
			b      *browser
			handle string
		}{
			{"another session's handle", b2, handle},
			{"garbage handle", s.b, "garbage"},
		} {
			tok := tc.b.do("GET", base+"/logout", nil).csrf(t)
			p := tc.b.do("POST", base+"/oauth/authorize", url.Values{"csrf": {tok}, "consent": {tc.handle}, "authorize": {"Allow"}})
			if p.status < 400 || p.status > 499 || p.header.Get("Location") != "" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("%s: got %d Location %q, want a 4xx page", tc.name, p.status, p.header.Get("Location"))
			}
		}
		if code := allow(t, s, s.b, consent, c); exchange(t, base, c, code)["scope"] != "write" {
			t.Error("the handle did not work in its own session")
		}
	})
}

// TestAuthorizeErrorsForVisitorsAreNotRedirected checks that a visitor who
// has not signed in is shown an invalid request's error with a link back to
// the client, never sent there; a signed-in person is sent there.
func TestAuthorizeErrorsForVisitorsAreNotRedirected(t *testing.T) {
	s := newOAuthSetup(t)
	c := s.client(t, "Acme Deploys", "https://client.example/cb", false)
	for _, tc := range []struct {
		name, want string
		params     []string
	}{
		{"unknown scope", "invalid_scope", []string{"response_type", "code", "scope", "root"}},
		{"token response", "unsupported_response_type", []string{"response_type", "token"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := s.authorizeURL(append([]string{"client_id", c.ID, "redirect_uri", c.RedirectURI, "state", "st-1"}, tc.params...)...)
			p := newBrowser(t).do("GET", u, nil)
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Fatalf("signed out: got %d Location %q, want a 400 page", p.status, p.header.Get("Location"))
			}
			var link *url.URL
			for _, m := range linkRe.FindAllStringSubmatch(p.body, -1) {
				if href := html.UnescapeString(m[1]); strings.HasPrefix(href, c.RedirectURI+"?") {
					link, _ = url.Parse(href)
				}
			}
			if link == nil {
				t.Fatalf("no link to %s in %s", c.RedirectURI, p.body)
			}
			q := link.Query()
			if q.Get("error") != tc.want || q.Get("state") != "st-1" || q.Get("iss") != s.ts.Issuer || q.Has("code") {
				t.Errorf("link query = %v, want error=%s, state and iss", q, tc.want)
			}
			text := html.UnescapeString(p.body)
			if !strings.Contains(text, "Acme Deploys") || q.Get("error_description") == "" || !strings.Contains(text, q.Get("error_description")) {
				t.Errorf("the page does not name the app and the error %q: %s", q.Get("error_description"), p.body)
			}

			q = redirected(t, s.b.do("GET", u, nil), c.RedirectURI)
			if q.Get("error") != tc.want || q.Get("state") != "st-1" || q.Get("iss") != s.ts.Issuer {
				t.Errorf("signed in: redirect query = %v, want error=%s", q, tc.want)
			}
		})
	}
}

// TestFormTokensAreBoundToTheSession checks that a form token is good only
// for the browser and the session it was made for.
func TestFormTokensAreBoundToTheSession(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		ts.CreateAccount(t, "ada@example.com", password)
		b := newBrowser(t)
		signedOut := b.do("GET", ts.URL+"/login", nil).csrf(t)
		if p := b.do("POST", ts.URL+"/login", url.Values{"csrf": {signedOut}, "email": {"ada@example.com"}, "password": {password}}); p.status != http.StatusSeeOther {
			t.Fatalf("login: %d", p.status)
		}
		if got := logout(b, ts.URL, signedOut); got != http.StatusForbidden {
			t.Errorf("token from before the sign-in: got %d, want 403", got)
		}

		sessionA := b.do("GET", ts.URL+"/logout", nil).csrf(t)
		if p := login(t, b, ts.URL, "ada@example.com", password); p.status != http.StatusSeeOther {
			t.Fatalf("second login: %d", p.status)
		}
		if got := logout(b, ts.URL, sessionA); got != http.StatusForbidden {
			t.Errorf("token from the previous session: got %d, want 403", got)
		}

		sess := b.cookie(ts.URL, "keyhole_session")
		if sess == nil || !strings.Contains(b.do("GET", ts.URL+"/", nil).body, "Signed in") {
			t.Fatal("signed out by a form that should have been refused")
		}

		// Another browser holding this session's cookie, with its own form
		// cookie, gets tokens of its own that this browser cannot use.
		other := newBrowser(t)
		u, _ := url.Parse(ts.URL)
		other.jar.SetCookies(u, []*http.Cookie{sess})
		if got := logout(b, ts.URL, other.do("GET", ts.URL+"/logout", nil).csrf(t)); got != http.StatusForbidden {
			t.Errorf("token made for another browser: got %d, want 403", got)
		}
		if got := logout(b, ts.URL, b.do("GET", ts.URL+"/logout", nil).csrf(t)); got != http.StatusSeeOther {
			t.Errorf("the session's own token: got %d, want 303", got)
		}
	})
}

// TestLoginThrottleReservesBeforeVerifying checks the sign-in page's
// throttle: parallel guesses cannot overrun an email's budget, and one
// address cannot spread guesses over many emails.
func TestLoginThrottleReservesBeforeVerifying(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		ts.CreateAccount(t, "ada@example.com", password)
		const n = 40
		browsers, forms, pages := make([]*browser, n), make([]url.Values, n), make([]page, n)
		for i := range browsers {
			browsers[i] = newBrowser(t)
			forms[i] = url.Values{"csrf": {browsers[i].do("GET", ts.URL+"/login", nil).csrf(t)}, "email": {"ada@example.com"}, "password": {"wrong password"}}
		}
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range browsers {
			wg.Go(func() { // b.do would call t.Fatal off the test's goroutine
				<-start
				resp, err := browsers[i].c.PostForm(ts.URL+"/login", forms[i])
				if err != nil {
					t.Error(err)
					return
				}
				defer resp.Body.Close()
				body, _ := io.ReadAll(resp.Body)
				pages[i] = page{status: resp.StatusCode, header: resp.Header, body: string(body)}
			})
		}
		close(start)
		wg.Wait()
		counts, bad := map[int]int{}, 0
		for _, p := range pages {
			counts[p.status]++
			if p.status == http.StatusTooManyRequests && (p.header.Get("Retry-After") == "" || !strings.Contains(errorText(p), "Too many") || !strings.Contains(p.body, `action="/login"`)) {
				bad++
			}
		}
		if counts[401] > 10 || counts[401]+counts[429] != n {
			t.Errorf("statuses = %v, want at most 10 × 401 and the rest 429", counts)
		}
		if bad > 0 {
			t.Errorf("%d answers 429 lack Retry-After, or the login form with the message", bad)
		}
		if p := login(t, newBrowser(t), ts.URL, "ada@example.com", password); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
			t.Errorf("right password after the budget: got %d, want 429 with Retry-After", p.status)
		}

		// Per address: 100 wrong passwords over 100 emails.
		ts = keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		b := newBrowser(t)
		tok := b.do("GET", ts.URL+"/login", nil).csrf(t)
		guess := func(email string) page {
			return b.do("POST", ts.URL+"/login", url.Values{"csrf": {tok}, "email": {email}, "password": {"wrong password"}})
		}
		for i := range 100 {
			if p := guess(fmt.Sprintf("user%d@example.com", i)); p.status != http.StatusUnauthorized {
				t.Fatalf("attempt %d: got %d, want 401", i+1, p.status)
			}
		}
		if p := guess("fresh@example.com"); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
			t.Errorf("101st attempt from the address: got %d, want 429 with Retry-After", p.status)
		}
	})
}

// TestSignupRefusesWeakPasswordsAndIsThrottled checks that /signup says
// why a password is weak without repeating it, and rations sign-ups per
// email and per address, counting every attempt.
func TestSignupRefusesWeakPasswordsAndIsThrottled(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		signup := func(email, pw string) page {
			b := newBrowser(t)
			tok := b.do("GET", ts.URL+"/signup", nil).csrf(t)
			return b.do("POST", ts.URL+"/signup", url.Values{"csrf": {tok}, "email": {email}, "password": {pw}})
		}
		for _, weak := range []string{"password", "12345678"} {
			p := signup("weak@example.com", weak)
			// The message's own words aside, it must not repeat the password.
			msg := strings.NewReplacer("This password", "", "common passwords", "", "password manager", "").Replace(errorText(p))
			if p.status != http.StatusBadRequest || !strings.Contains(msg, "too easy to guess") || strings.Contains(msg, weak) || strings.Contains(p.body, `value="`+weak+`"`) {
				t.Errorf("%q: got %d %q, want 400 saying why without the password", weak, p.status, errorText(p))
			}
		}

		want := []int{200, 200, 200, 200, 200, 429}
		for i, w := range want {
			p := signup("ada@example.com", password)
			if p.status != w || (w == 429 && (p.header.Get("Retry-After") == "" || !strings.Contains(errorText(p), "Too many"))) {
				t.Fatalf("sign-up %d for one email: got %d %q, want %d", i+1, p.status, errorText(p), w)
			}
		}

		ts = keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		for i := range 20 {
			if p := signup(fmt.Sprintf("user%d@example.com", i), password); p.status != http.StatusOK {
				t.Fatalf("sign-up %d from the address: got %d, want 200", i+1, p.status)
			}
		}
		if p := signup("fresh@example.com", password); p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" {
			t.Errorf("21st sign-up from the address: got %d, want 429 with Retry-After", p.status)
		}
	})
}

// TestDeviceUserCodeThrottle checks that an account may type only so many
// wrong user codes, and that a right one costs nothing.
func TestDeviceUserCodeThrottle(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		s := oauthSetupOn(t, be)
		c := s.client(t, "Acme TV", "https://client.example/cb", false)
		userCode := fmt.Sprint(clientCall(t, s.ts.URL, "/oauth/device/code", c, url.Values{"scope": {"read"}})["user_code"])
		tok := s.b.do("GET", s.ts.URL+"/device", nil).csrf(t)
		typeCode := func(code string) page {
			return s.b.do("POST", s.ts.URL+"/device", url.Values{"csrf": {tok}, "user_code": {code}})
		}
		if p := typeCode(userCode); p.status != http.StatusOK || !strings.Contains(p.body, "Authorize Acme TV?") {
			t.Fatalf("right code: got %d, want the consent page", p.status)
		}
		for i := range 10 {
			if code := "BCDF-GHJ" + string("BCDFGHJKLM"[i]); code != userCode {
				if p := typeCode(code); p.status != http.StatusBadRequest {
					t.Fatalf("wrong code %d: got %d, want 400", i+1, p.status)
				}
			}
		}
		p := typeCode(userCode)
		if p.status != http.StatusTooManyRequests || p.header.Get("Retry-After") == "" || strings.Contains(p.body, "Authorize Acme TV?") {
			t.Errorf("11th code: got %d Retry-After %q, want 429 with Retry-After", p.status, p.header.Get("Retry-After"))
		}
	})
}

// TestUnservedPathsAnswerInKind checks that a path no surface serves gets
// a page when a browser asks and the API's JSON error otherwise.
func TestUnservedPathsAnswerInKind(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	for _, tc := range []struct {
		name, path, accept string
		page               bool
	}{
		{"browser", "/nowhere", browserAccept, true},
		{"browser under an API path", "/account/nowhere", browserAccept, true},
		{"no Accept", "/nowhere", "", false},
		{"JSON", "/nowhere", "application/json", false},
		{"no Accept under an API path", "/account/nowhere", "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newBrowser(t).do("GET", ts.URL+tc.path, nil, "Accept", tc.accept)
			ct := p.header.Get("Content-Type")
			if tc.page {
				if p.status != http.StatusNotFound || !strings.HasPrefix(ct, "text/html") || !strings.Contains(p.body, "<h1>") {
					t.Errorf("got %d %q %s, want a 404 page", p.status, ct, p.body)
				}
				return
			}
			var body struct{ ID string }
			if err := json.Unmarshal([]byte(p.body), &body); p.status != http.StatusNotFound || !strings.Contains(ct, "json") || err != nil || body.ID != "not_found" {
				t.Errorf("got %d %q %s, want the API's 404 not_found", p.status, ct, p.body)
			}
		})
	}
}
