package web_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// TestBrowserSessionEndsAtItsLifetime: a person signed in sees the
// dashboard until one tick before the session's lifetime is over, and is
// sent to sign in again from its last instant on.
func TestBrowserSessionEndsAtItsLifetime(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		start := time.Now().UTC().Truncate(time.Second)
		clk := keyholetest.NewClock(start)
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: clk.Now})
		ts.CreateAccount(t, "ada@example.com", password)
		b := signedIn(t, ts, "ada@example.com")
		clk.Set(start.Add(service.SessionTTL - time.Microsecond))
		if p := b.do("GET", ts.URL+"/dashboard", nil); p.status != 200 {
			t.Errorf("the dashboard one tick before the session ends: %d, want 200", p.status)
		}
		clk.Set(start.Add(service.SessionTTL))
		p := b.do("GET", ts.URL+"/dashboard", nil)
		if loc := p.header.Get("Location"); p.status != http.StatusSeeOther || !strings.HasPrefix(loc, "/login") {
			t.Errorf("the dashboard when the session ends: %d to %q, want a redirect to /login", p.status, loc)
		}
	})
}

// TestResetWithTwoFactorAndNoCode: a person resetting the password of an
// account with two-factor authentication, through the pages (no
// JavaScript), who leaves the code empty is refused; the old password
// still signs in and the new one does not.
func TestResetWithTwoFactorAndNoCode(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: keyholetest.NewClock(time.Now()).Now})
		ts.CreateAccount(t, "ada@example.com", password)
		ts.EnableMFA(t, "ada@example.com", password)
		b := newBrowser(t)
		if p := b.post(t, ts.URL, "/password/forgot", "/password/forgot", url.Values{"email": {"ada@example.com"}}); p.status != 200 {
			t.Fatalf("forgot: %d", p.status)
		}
		link := ts.Mail().Take(t, "ada@example.com", "reset your password").Link("/password/reset?token=")
		form := b.do("GET", link, nil)
		if form.status != 200 || !strings.Contains(form.body, `name="code"`) {
			t.Fatalf("reset page: %d; want it to ask for a code", form.status)
		}
		const newPassword = "a brand new passphrase"
		for _, code := range []string{"", "  "} {
			f := formFields(form)
			f.Set("new_password", newPassword)
			f.Set("code", code)
			p := b.do("POST", ts.URL+"/password/reset", f)
			if p.status != http.StatusBadRequest || strings.Contains(p.body, "Password changed") || errorText(p) == "" {
				t.Errorf("reset with the code %q: %d %q, want 400 with a message", code, p.status, errorText(p))
			}
		}
		f := formFields(form)
		f.Set("new_password", newPassword)
		if p := b.do("POST", ts.URL+"/password/reset", f); p.status != http.StatusBadRequest {
			t.Errorf("reset without the code field: %d, want 400", p.status)
		}
		// The right password leads to the second step of the sign-in.
		if p := login(t, newBrowser(t), ts.URL, "ada@example.com", password); p.status != 200 || !strings.Contains(p.body, `action="/login/mfa"`) {
			t.Errorf("sign-in with the old password after the refused resets: %d %q, want its second step", p.status, errorText(p))
		}
		if p := login(t, newBrowser(t), ts.URL, "ada@example.com", newPassword); p.status != http.StatusUnauthorized || strings.Contains(p.body, `action="/login/mfa"`) {
			t.Errorf("sign-in with the refused new password: %d %q, want 401", p.status, errorText(p))
		}
	})
}
