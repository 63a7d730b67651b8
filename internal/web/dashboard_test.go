package web_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

// signedIn returns a browser signed in to ts as email.
func signedIn(t *testing.T, ts *keyholetest.Server, email string) *browser {
	t.Helper()
	b := newBrowser(t)
	if p := login(t, b, ts.URL, email, password); p.status != http.StatusSeeOther {
		t.Fatalf("sign in %s: %d %s", email, p.status, errorText(p))
	}
	return b
}

// post submits a form of the page at path (its form token included) to
// action, with fields.
func (b *browser) post(t *testing.T, base, path, action string, fields url.Values) page {
	t.Helper()
	form := b.do("GET", base+path, nil)
	if fields == nil {
		fields = url.Values{}
	}
	fields.Set("csrf", form.csrf(t))
	return b.do("POST", base+action, fields)
}

var dashboardPages = []string{
	"/dashboard", "/dashboard/account", "/dashboard/api-key", "/dashboard/two-factor", "/dashboard/applications",
	"/dashboard/authorized-applications", "/dashboard/sessions", "/dashboard/activity", "/dashboard/teams", "/dashboard/apps",
}

var formRe = regexp.MustCompile(`(?s)<form [^>]*method="post"[^>]*>.*?</form>`)

// TestDashboardPages: every section needs a sign-in (and sends a visitor
// back after it), carries the pages' headers, is never cached, has no
// script, and each of its forms carries the form token; posts without it,
// or from another site, are refused; another method gets the 405 page.
func TestDashboardPages(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	visitor := newBrowser(t)
	for _, path := range dashboardPages {
		p := visitor.do("GET", ts.URL+path, nil)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next="+url.QueryEscape(path) {
			t.Errorf("visitor at %s: %d → %q", path, p.status, p.header.Get("Location"))
		}
	}
	if p := visitor.do("POST", ts.URL+"/dashboard/api-key/reveal", url.Values{"password": {password}}); p.status != http.StatusSeeOther || strings.Contains(p.body, "kha_") {
		t.Errorf("visitor POST: %d", p.status)
	}

	b := signedIn(t, ts, "ada@example.com")
	for _, path := range dashboardPages {
		p := b.do("GET", ts.URL+path, nil)
		if p.status != 200 {
			t.Errorf("%s: %d %s", path, p.status, p.body)
			continue
		}
		h := p.header
		if csp := h.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
			h.Get("Cache-Control") != "no-store" || h.Get("X-Frame-Options") != "DENY" || h.Get("Referrer-Policy") != "no-referrer" {
			t.Errorf("%s: headers %v", path, h)
		}
		if strings.Contains(p.body, "<script") || !strings.Contains(p.body, `aria-current="page"`) {
			t.Errorf("%s: a script, or no current section in the navigation", path)
		}
		for _, f := range formRe.FindAllString(p.body, -1) {
			if !strings.Contains(f, `name="csrf"`) {
				t.Errorf("%s: a form without its token: %s", path, f)
			}
		}
	}
	if p := b.do("POST", ts.URL+"/dashboard/account/name", url.Values{"name": {"Mallory"}}); p.status != http.StatusForbidden {
		t.Errorf("POST without the form token: %d", p.status)
	}
	tok := b.do("GET", ts.URL+"/dashboard/account", nil).csrf(t)
	if p := b.do("POST", ts.URL+"/dashboard/account/name", url.Values{"csrf": {tok}, "name": {"Mallory"}}, "Sec-Fetch-Site", "cross-site"); p.status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d", p.status)
	}
	if p := b.do("DELETE", ts.URL+"/dashboard/sessions", nil); p.status != http.StatusMethodNotAllowed || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("DELETE: %d", p.status)
	}
	if p := b.do("GET", ts.URL+"/dashboard/account/name", nil); p.status != http.StatusMethodNotAllowed || p.header.Get("Allow") != "POST" {
		t.Errorf("GET of a form's action: %d %v", p.status, p.header)
	}
	if p := b.do("POST", ts.URL+"/dashboard/account/name", url.Values{"csrf": {tok}, "name": {"Ada King"}}); p.status != http.StatusSeeOther {
		t.Errorf("rename: %d", p.status)
	}
	if p := b.do("GET", ts.URL+"/dashboard", nil); !strings.Contains(p.body, "Ada King") {
		t.Error("the overview does not show the new name")
	}
	if p := b.do("GET", ts.URL+"/dashboard/nowhere", nil, "Accept", "text/html"); p.status != 404 || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
		t.Errorf("unknown dashboard page: %d", p.status)
	}
}

// TestTwoFactorSignIn: for an account with MFA the password leads to a
// second page that sets no session; its handle is worth nothing in
// another browser; a wrong code is refused on the same page; the right
// one signs in; the same code cannot sign in again; a recovery code works
// once.
func TestTwoFactorSignIn(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		ts.CreateAccount(t, "ada@example.com", password)
		seed, codes := ts.EnableMFA(t, "ada@example.com", password)
		b := newBrowser(t)
		first := login(t, b, ts.URL, "ada@example.com", password)
		if first.status != 200 || !strings.Contains(first.body, `action="/login/mfa"`) || b.cookie(ts.URL, "keyhole_session") != nil {
			t.Fatalf("password step: %d, session cookie %v", first.status, b.cookie(ts.URL, "keyhole_session"))
		}
		if p := b.do("GET", ts.URL+"/dashboard", nil); p.status != http.StatusSeeOther {
			t.Errorf("half signed in, /dashboard: %d, want the way to sign in", p.status)
		}
		fields := formFields(first)
		// Another browser cannot finish this sign-in.
		thief := newBrowser(t)
		stolen := url.Values{"csrf": {thief.do("GET", ts.URL+"/login", nil).csrf(t)}, "handle": {fields.Get("handle")},
			"code": {keyholetest.TOTPCode(t, seed, time.Now(), 1)}}
		if p := thief.do("POST", ts.URL+"/login/mfa", stolen); p.status != http.StatusUnauthorized || thief.cookie(ts.URL, "keyhole_session") != nil {
			t.Errorf("a handle used in another browser: %d", p.status)
		}
		fields.Set("code", "12345")
		if p := b.do("POST", ts.URL+"/login/mfa", fields); p.status != http.StatusUnauthorized || !strings.Contains(p.body, `action="/login/mfa"`) || !strings.Contains(errorText(p), "not right") {
			t.Errorf("wrong code: %d %q", p.status, errorText(p))
		}
		code := keyholetest.TOTPCode(t, seed, time.Now(), 1)
		fields.Set("code", code)
		if p := b.do("POST", ts.URL+"/login/mfa", fields); p.status != http.StatusSeeOther || b.cookie(ts.URL, "keyhole_session") == nil {
			t.Fatalf("right code: %d %q", p.status, errorText(p))
		}
		// The code is used: a second sign-in cannot use it again.
		again := newBrowser(t)
		f := formFields(login(t, again, ts.URL, "ada@example.com", password))
		f.Set("code", code)
		if p := again.do("POST", ts.URL+"/login/mfa", f); p.status != http.StatusUnauthorized {
			t.Errorf("replayed code: %d", p.status)
		}
		f.Set("code", codes[0])
		if p := again.do("POST", ts.URL+"/login/mfa", f); p.status != http.StatusSeeOther {
			t.Errorf("recovery code: %d %q", p.status, errorText(p))
		}
		third := newBrowser(t)
		f = formFields(login(t, third, ts.URL, "ada@example.com", password))
		f.Set("code", codes[0])
		if p := third.do("POST", ts.URL+"/login/mfa", f); p.status != http.StatusUnauthorized {
			t.Errorf("a recovery code used twice: %d", p.status)
		}
	})
}

// TestWrongPasswordsDoNotLetTheRightOneThrough: after 20 wrong passwords
// in a row, the 21st, right, one is refused (429) rather than let through.
func TestWrongPasswordsDoNotLetTheRightOneThrough(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		ts.CreateAccount(t, "ada@example.com", password)
		b := newBrowser(t)
		for i := range 20 {
			p := login(t, b, ts.URL, "ada@example.com", fmt.Sprintf("wrong password %d", i))
			if p.status != http.StatusUnauthorized && p.status != http.StatusTooManyRequests {
				t.Fatalf("wrong password %d: %d", i+1, p.status)
			}
		}
		if p := login(t, b, ts.URL, "ada@example.com", password); p.status != http.StatusTooManyRequests || b.cookie(ts.URL, "keyhole_session") != nil {
			t.Errorf("the right password after 20 wrong ones: %d, want 429 and no session", p.status)
		}
	})
}

// TestRevealNeedsTheRecentPassword: the API key (and a client's secret)
// is shown after the password is entered again, which then counts for
// five minutes of this browser session, not longer and not in another.
func TestRevealNeedsTheRecentPassword(t *testing.T) {
	clk := keyholetest.NewClock(time.Now())
	start := clk.Now()
	ts := keyholetest.NewServer(t, keyholetest.Options{Now: clk.Now})
	ts.CreateAccount(t, "ada@example.com", password)
	key := ts.APIKey(t, "ada@example.com", password)
	b := signedIn(t, ts, "ada@example.com")
	reveal := func(b *browser, pw string) page {
		f := url.Values{}
		if pw != "" {
			f.Set("password", pw)
		}
		return b.post(t, ts.URL, "/dashboard/api-key", "/dashboard/api-key/reveal", f)
	}
	if p := b.do("GET", ts.URL+"/dashboard/api-key", nil); strings.Contains(p.body, key) || !strings.Contains(p.body, `id="reveal-password"`) {
		t.Fatal("the key page shows the key, or asks for no password")
	}
	if p := reveal(b, ""); p.status != http.StatusForbidden || strings.Contains(p.body, key) {
		t.Errorf("reveal without the password: %d", p.status)
	}
	if p := reveal(b, "wrong password"); p.status != http.StatusBadRequest || strings.Contains(p.body, key) {
		t.Errorf("reveal with a wrong password: %d", p.status)
	}
	p := reveal(b, password)
	if p.status != 200 || !strings.Contains(p.body, `value="`+key+`"`) || p.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("reveal: %d %v", p.status, p.header)
	}
	clk.Set(start.Add(4 * time.Minute))
	if p := reveal(b, ""); p.status != 200 || !strings.Contains(p.body, key) {
		t.Errorf("reveal 4 minutes later without the password: %d", p.status)
	}
	other := signedIn(t, ts, "ada@example.com")
	if p := reveal(other, ""); p.status != http.StatusForbidden {
		t.Errorf("another session of the same account, without the password: %d", p.status)
	}
	clk.Set(start.Add(6 * time.Minute))
	if p := reveal(b, ""); p.status != http.StatusForbidden {
		t.Errorf("reveal 6 minutes later without the password: %d", p.status)
	}

	// A client's secret: shown at registration, then behind the password.
	if p := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/create", url.Values{"name": {"Notebook"}, "redirect_uri": {"https://notebook.example/cb"},
		"post_logout_redirect_uris": {"http://notebook.example/"}}); p.status != http.StatusBadRequest ||
		!strings.Contains(errorText(p), "post_logout_redirect_uris must use https") || !strings.Contains(p.body, ">http://notebook.example/</textarea>") {
		t.Errorf("register with an http post-logout URI: %d %q; the form must be refilled", p.status, errorText(p))
	}
	p = b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/create", url.Values{"name": {"Notebook"}, "redirect_uri": {"https://notebook.example/cb"},
		"post_logout_redirect_uris": {"https://notebook.example/\r\nhttps://notebook.example/bye\r\n"}})
	secret := regexp.MustCompile(`value="(khs_[^"]+)"`).FindStringSubmatch(p.body)
	id := regexp.MustCompile(`id="client-id">([^<]+)<`).FindStringSubmatch(p.body)
	if p.status != 200 || secret == nil || id == nil {
		t.Fatalf("register: %d %s", p.status, p.body)
	}
	if !strings.Contains(p.body, "https://notebook.example/\nhttps://notebook.example/bye</code>") {
		t.Errorf("the registered client does not show its two post-logout URIs")
	}
	// The edit form carries the list; saving it empty clears it.
	edit := url.Values{"id": {id[1]}, "name": {"Notebook"}, "redirect_uri": {"https://notebook.example/cb"}, "post_logout_redirect_uris": {""}}
	if list := b.do("GET", ts.URL+"/dashboard/applications", nil); !strings.Contains(list.body, ">https://notebook.example/\nhttps://notebook.example/bye</textarea>") {
		t.Errorf("the edit form does not carry the post-logout URIs")
	}
	if p := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/update", edit); p.status != http.StatusSeeOther {
		t.Errorf("save with no post-logout URIs: %d %q", p.status, errorText(p))
	}
	if list := b.do("GET", ts.URL+"/dashboard/applications", nil); strings.Contains(list.body, "After sign-out</dt>") {
		t.Errorf("the cleared post-logout URIs are still shown")
	}
	list := b.do("GET", ts.URL+"/dashboard/applications", nil)
	if strings.Contains(list.body, secret[1]) || !strings.Contains(list.body, `name="id" value="`+id[1]+`"`) {
		t.Error("the list shows the secret, or its forms do not name the client")
	}
	if p := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/secret", url.Values{"id": {id[1]}}); p.status != http.StatusForbidden {
		t.Errorf("secret without the password: %d", p.status)
	}
	if p := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/secret", url.Values{"id": {id[1]}, "password": {password}}); p.status != 200 || !strings.Contains(p.body, secret[1]) {
		t.Errorf("secret with the password: %d", p.status)
	}
	rotated := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/rotate", url.Values{"id": {id[1]}})
	if rotated.status != 200 || strings.Contains(rotated.body, secret[1]) || !strings.Contains(rotated.body, "khs_") {
		t.Errorf("rotate: %d", rotated.status)
	}
	if p := b.post(t, ts.URL, "/dashboard/applications", "/dashboard/applications/delete", url.Values{"id": {id[1]}}); p.status != http.StatusSeeOther {
		t.Errorf("delete: %d", p.status)
	}
	if p := b.do("GET", ts.URL+"/dashboard/applications", nil); strings.Contains(p.body, id[1]) {
		t.Error("the deleted client is still listed")
	}
}

// TestRecoveryCodesAndDisable: enrolment through the page shows ten codes,
// each in its own element; turning MFA off needs the password and a code.
func TestRecoveryCodesAndDisable(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	b := signedIn(t, ts, "ada@example.com")
	enrol := b.do("GET", ts.URL+"/dashboard/two-factor", nil)
	if !strings.Contains(enrol.header.Get("Content-Security-Policy"), "img-src 'self' data:") || !strings.Contains(enrol.body, `src="data:image/png;base64,`) {
		t.Fatalf("enrolment page: CSP %q", enrol.header.Get("Content-Security-Policy"))
	}
	seed := regexp.MustCompile(`id="totp-secret" class="secret">([A-Z2-7]+)<`).FindStringSubmatch(enrol.body)
	if seed == nil {
		t.Fatal("no secret as text")
	}
	f := formFields(enrol)
	f.Set("password", password)
	f.Set("code", "000000")
	if p := b.do("POST", ts.URL+"/dashboard/two-factor/enable", f); p.status != http.StatusBadRequest || !strings.Contains(p.body, seed[1]) {
		t.Errorf("a wrong first code: %d; the page must show the same secret again", p.status)
	}
	f.Set("code", keyholetest.TOTPCode(t, seed[1], time.Now(), 0))
	p := b.do("POST", ts.URL+"/dashboard/two-factor/enable", f)
	codes := regexp.MustCompile(`<li><code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code></li>`).FindAllStringSubmatch(p.body, -1)
	if p.status != 200 || len(codes) != 10 {
		t.Fatalf("enable: %d, %d codes", p.status, len(codes))
	}
	if p := b.do("POST", ts.URL+"/dashboard/two-factor/enable", f); p.status == 200 {
		t.Error("the enrolment was confirmed twice")
	}
	if p := b.do("GET", ts.URL+"/dashboard/two-factor", nil); !strings.Contains(p.body, "10 recovery codes left") {
		t.Errorf("status page: %s", p.body)
	}
	off := url.Values{"password": {password}, "code": {"nonsense"}}
	if p := b.post(t, ts.URL, "/dashboard/two-factor", "/dashboard/two-factor/disable", off); p.status != http.StatusBadRequest {
		t.Errorf("disable with a wrong code: %d", p.status)
	}
	off.Set("code", codes[9][1])
	if p := b.post(t, ts.URL, "/dashboard/two-factor", "/dashboard/two-factor/disable", off); p.status != http.StatusSeeOther {
		t.Errorf("disable: %d %q", p.status, errorText(p))
	}
	ts.Mail().Take(t, "ada@example.com", "Two-factor authentication was turned off")
	if p := login(t, newBrowser(t), ts.URL, "ada@example.com", password); p.status != http.StatusSeeOther {
		t.Errorf("sign-in after disabling: %d", p.status)
	}
}

// TestPasswordResetByMail: the forgot page answers alike for known and
// unknown addresses; the link works once, within the hour; a reset signs
// out every session and revokes every authorization.
func TestPasswordResetByMail(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		clk := keyholetest.NewClock(time.Now())
		start := clk.Now()
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: clk.Now})
		ts.CreateAccount(t, "ada@example.com", password)
		key := ts.APIKey(t, "ada@example.com", password)
		session := signedIn(t, ts, "ada@example.com")
		ask := func(email string) page {
			return newBrowser(t).post(t, ts.URL, "/password/forgot", "/password/forgot", url.Values{"email": {email}})
		}
		known, unknown := ask("ada@example.com"), ask("nobody@example.com")
		if known.status != 200 || unknown.status != 200 ||
			strings.ReplaceAll(known.body, "ada@example.com", "X") != strings.ReplaceAll(unknown.body, "nobody@example.com", "X") {
			t.Errorf("known and unknown addresses are answered differently: %d %d", known.status, unknown.status)
		}
		link := ts.Mail().Take(t, "ada@example.com", "reset your password").Link("/password/reset?token=")
		b := newBrowser(t)
		form := b.do("GET", link, nil)
		if form.status != 200 || strings.Contains(form.body, `name="code"`) {
			t.Fatalf("reset page: %d", form.status)
		}
		f := formFields(form)
		f.Set("new_password", "password")
		if p := b.do("POST", ts.URL+"/password/reset", f); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "too easy to guess") {
			t.Errorf("a weak new password: %d %q", p.status, errorText(p))
		}
		f.Set("new_password", "a brand new passphrase")
		if p := b.do("POST", ts.URL+"/password/reset", f); p.status != 200 || !strings.Contains(p.body, "Password changed") {
			t.Fatalf("reset: %d %s", p.status, p.body)
		}
		if p := b.do("POST", ts.URL+"/password/reset", f); p.status != http.StatusBadRequest {
			t.Errorf("the link worked twice: %d", p.status)
		}
		ts.Mail().Take(t, "ada@example.com", "your password was reset")
		if p := session.do("GET", ts.URL+"/dashboard", nil); p.status != http.StatusSeeOther {
			t.Errorf("the old browser session after the reset: %d", p.status)
		}
		if p := api(t, ts.URL, "/account", key); p.status != 401 {
			t.Errorf("the old API key after the reset: %d", p.status)
		}
		if p := login(t, newBrowser(t), ts.URL, "ada@example.com", "a brand new passphrase"); p.status != http.StatusSeeOther {
			t.Errorf("sign in with the new password: %d", p.status)
		}
		// A link is good for an hour.
		ask("ada@example.com")
		late := ts.Mail().Take(t, "ada@example.com", "reset your password").Link("/password/reset?token=")
		clk.Set(start.Add(time.Hour + time.Second))
		if p := newBrowser(t).do("GET", late, nil); p.status != http.StatusBadRequest {
			t.Errorf("an hour-old link: %d", p.status)
		}
	})
}

// TestSessionsAndAuthorizedApplications: sessions are listed with this
// one marked; ending another, or all others, works; an authorization is
// revoked from its row, and its token fails at once.
func TestSessionsAndAuthorizedApplications(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	cli := ts.Login(t, "ada@example.com", password)
	other := signedIn(t, ts, "ada@example.com")
	b := signedIn(t, ts, "ada@example.com")
	p := b.do("GET", ts.URL+"/dashboard/sessions", nil)
	if strings.Count(p.body, `<li class="row`) != 3 || strings.Count(p.body, "this browser") != 1 || !strings.Contains(p.body, "Go-http-client") {
		t.Fatalf("sessions page: %s", p.body)
	}
	auths := b.do("GET", ts.URL+"/dashboard/authorized-applications", nil)
	ids := regexp.MustCompile(`(?s)<h2>CLI login</h2>.*?name="id" value="([^"]+)"`).FindStringSubmatch(auths.body)
	if ids == nil {
		t.Fatalf("no CLI login to revoke: %s", auths.body)
	}
	if p := b.post(t, ts.URL, "/dashboard/authorized-applications", "/dashboard/authorized-applications/revoke", url.Values{"id": {ids[1]}}); p.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d", p.status)
	}
	if p := api(t, ts.URL, "/account", cli); p.status != 401 {
		t.Errorf("the revoked token: %d", p.status)
	}
	if p := b.post(t, ts.URL, "/dashboard/sessions", "/dashboard/sessions/end-others", nil); p.status != http.StatusSeeOther {
		t.Fatalf("end others: %d", p.status)
	}
	if p := other.do("GET", ts.URL+"/dashboard", nil); p.status != http.StatusSeeOther {
		t.Errorf("the other browser is still signed in: %d", p.status)
	}
	if p := b.do("GET", ts.URL+"/dashboard/sessions", nil); strings.Count(p.body, `<li class="row`) != 1 {
		t.Errorf("sessions left: %s", p.body)
	}
	id := regexp.MustCompile(`id="session-([^"]+)"`).FindStringSubmatch(b.do("GET", ts.URL+"/dashboard/sessions", nil).body)
	if p := b.post(t, ts.URL, "/dashboard/sessions", "/dashboard/sessions/end", url.Values{"id": {id[1]}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login" {
		t.Errorf("ending this session: %d → %q", p.status, p.header.Get("Location"))
	}
	if p := b.do("GET", ts.URL+"/dashboard", nil); p.status != http.StatusSeeOther {
		t.Errorf("still signed in after ending this session: %d", p.status)
	}
}

// TestActivityPages: the log shows the newest first, 50 a page, with a
// link to older ones.
func TestActivityPages(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	id := ts.CreateAccount(t, "ada@example.com", password)
	for i := range 55 {
		e := keyhole.Event{ID: uuid.Must(uuid.NewV7()).String(), AccountID: id, Type: keyhole.EventLoginFailed, IP: "192.0.2.1",
			Detail: fmt.Sprint("attempt ", i), CreatedAt: time.Now().UTC().Truncate(time.Microsecond)}
		if err := ts.Store.Record(context.Background(), e); err != nil {
			t.Fatal(err)
		}
	}
	b := signedIn(t, ts, "ada@example.com")
	fresh := ts
	first := b.do("GET", fresh.URL+"/dashboard/activity", nil)
	events := regexp.MustCompile(`data-type="([^"]+)"`).FindAllStringSubmatch(first.body, -1)
	older := regexp.MustCompile(`href="(/dashboard/activity\?before=[^"]+)" rel="next"`).FindStringSubmatch(first.body)
	if len(events) != 50 || events[0][1] != "login.succeeded" || older == nil {
		t.Fatalf("first page: %d events, first %v, older link %v", len(events), events[0], older)
	}
	second := b.do("GET", fresh.URL+strings.ReplaceAll(older[1], "&amp;", "&"), nil)
	if n := strings.Count(second.body, `data-type="`); n != 6 || strings.Contains(second.body, `rel="next"`) || !strings.Contains(second.body, "attempt 0") {
		t.Errorf("second page: %d events", n)
	}
}
