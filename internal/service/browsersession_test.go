package service_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// TestBrowserSessionEndsAtSessionTTL: a browser session's cookie works up
// to one tick before SessionTTL and not at the instant; the ended session
// is no longer listed, and signing out of it is no error.
func TestBrowserSessionEndsAtSessionTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		for _, at := range around(start.Add(service.SessionTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				in, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: "ada@example.com", Password: password, IP: "192.0.2.7"})
				if err != nil {
					t.Fatal(err)
				}
				if want := start.Add(service.SessionTTL); !in.Session.ExpiresAt.Equal(want) {
					t.Errorf("the session ends %v, want %v", in.Session.ExpiresAt, want)
				}
				r.at(at.when)
				_, _, err = r.svc.SessionActor(r.ctx, in.Secret.Reveal())
				if at.inside {
					wantCode(t, "SessionActor", err, "")
				} else {
					wantCode(t, "SessionActor", err, keyhole.Unauthorized)
				}
				list, err := r.svc.Sessions(r.ctx, r.actor, store.Range{})
				if err != nil {
					t.Fatal(err)
				}
				listed := false
				for _, s := range list {
					listed = listed || s.ID == in.Session.ID
				}
				if listed != at.inside {
					t.Errorf("the session is listed: %t, want %t", listed, at.inside)
				}
				if err := r.svc.EndSession(r.ctx, in.Secret.Reveal(), service.Origin{}); err != nil {
					t.Errorf("EndSession: %v", err)
				}
			})
		}
		for _, bad := range []string{"", "garbage", "khb_unknown"} {
			_, _, err := r.svc.SessionActor(r.ctx, bad)
			wantCode(t, fmt.Sprintf("SessionActor(%q)", bad), err, keyhole.Unauthorized)
		}
	})
}

// TestPendingSignInLastsPendingTTL: the second step of a sign-in with
// two-factor authentication is answered up to one tick before PendingTTL
// and not at the instant; it is worth nothing in another browser, after
// the password changed or once two-factor authentication is off.
func TestPendingSignInLastsPendingTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		pending := func(email string) string {
			t.Helper()
			in, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: email, Password: password, IP: "192.0.2.7", Binding: "browser-1"})
			if err != nil || in.Pending == "" || in.Secret != "" {
				t.Fatalf("password step: %+v, %v; want only a pending handle", in, err)
			}
			return in.Pending
		}
		for i, at := range around(start.Add(service.PendingTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				email := fmt.Sprintf("pending%d@example.com", i)
				seed, _ := r.mfaAccount(email)
				handle := pending(email)
				r.at(at.when)
				_, secret, err := r.svc.FinishSignIn(r.ctx, service.SecondStep{Pending: handle, Binding: "browser-1", Code: r.totp(seed, 0), IP: "192.0.2.7"})
				if at.inside {
					wantCode(t, "FinishSignIn", err, "")
					r.sessionActor(secret.Reveal())
				} else {
					wantCode(t, "FinishSignIn", err, keyhole.Unauthorized)
				}
			})
		}
		r.at(start)
		seed, codes := r.mfaAccount("bound@example.com")
		_, _, err := r.svc.FinishSignIn(r.ctx, service.SecondStep{Pending: pending("bound@example.com"), Binding: "browser-2", Code: r.totp(seed, 0)})
		wantCode(t, "the handle in another browser", err, keyhole.Unauthorized)
		_, _, err = r.svc.FinishSignIn(r.ctx, service.SecondStep{Pending: "garbage", Binding: "browser-1", Code: r.totp(seed, 0)})
		wantCode(t, "a forged handle", err, keyhole.Unauthorized)

		// The password changes between the two steps.
		handle := pending("bound@example.com")
		login, err := r.svc.Login(r.ctx, service.LoginRequest{Email: "bound@example.com", Password: password, OTP: codes[0], IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		actor := r.verify(login.Access.Value.Reveal())
		if _, err := r.svc.UpdateAccount(r.ctx, actor, service.AccountUpdate{NewPassword: ptr("a brand new passphrase"), CurrentPassword: password}); err != nil {
			t.Fatal(err)
		}
		_, _, err = r.svc.FinishSignIn(r.ctx, service.SecondStep{Pending: handle, Binding: "browser-1", Code: codes[1]})
		wantCode(t, "the second step after a password change", err, keyhole.Unauthorized)

		// Two-factor authentication is turned off between the two steps.
		seed, codes = r.mfaAccount("off@example.com")
		handle = pending("off@example.com")
		login, err = r.svc.Login(r.ctx, service.LoginRequest{Email: "off@example.com", Password: password, OTP: codes[0], IP: "192.0.2.1"})
		if err != nil {
			t.Fatal(err)
		}
		if err := r.svc.DisableMFA(r.ctx, r.verify(login.Access.Value.Reveal()), password, codes[1]); err != nil {
			t.Fatal(err)
		}
		_, _, err = r.svc.FinishSignIn(r.ctx, service.SecondStep{Pending: handle, Binding: "browser-1", Code: r.totp(seed, 0)})
		wantCode(t, "the second step once two-factor authentication is off", err, keyhole.Unauthorized)
	})
}

// TestReauthenticationLastsReauthTTL: a password entered again in a
// browser session counts for ReauthTTL, up to one tick before and not at
// the instant, in that session only, and never for a token.
func TestReauthenticationLastsReauthTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		actor := r.sessionActor(r.browser())
		other := r.sessionActor(r.browser())
		_, err := r.svc.RevealAPIKey(r.ctx, actor, "")
		wantCode(t, "reveal without having entered the password", err, keyhole.Forbidden)
		_, err = r.svc.RevealAPIKey(r.ctx, actor, "wrong password")
		wantCode(t, "reveal with a wrong password", err, keyhole.Invalid)
		key, err := r.svc.RevealAPIKey(r.ctx, actor, password)
		if err != nil || key.Reveal() != r.ts.APIKey(t, "ada@example.com", password) {
			t.Fatalf("reveal with the password: %v", err)
		}
		for _, at := range around(start.Add(service.ReauthTTL)) {
			r.at(at.when)
			_, err := r.svc.RevealAPIKey(r.ctx, actor, "")
			if at.inside {
				wantCode(t, at.name+": reveal", err, "")
			} else {
				wantCode(t, at.name+": reveal", err, keyhole.Forbidden)
			}
		}
		r.at(start.Add(time.Minute))
		_, err = r.svc.RevealAPIKey(r.ctx, other, "")
		wantCode(t, "another session of the account, without the password", err, keyhole.Forbidden)
		_, err = r.svc.RevealAPIKey(r.ctx, r.actor, password)
		wantCode(t, "a CLI login's token, with the password", err, keyhole.Forbidden)
		app := r.client("App", false)
		_, err = r.svc.RevealClientSecret(r.ctx, r.actor, app.ID, password)
		wantCode(t, "a client's secret for a CLI login's token", err, keyhole.Forbidden)
		info, err := r.svc.RevealClientSecret(r.ctx, actor, app.ID, "")
		if err != nil || info.Secret.Reveal() != app.Secret.Reveal() {
			t.Errorf("a client's secret in the re-authenticated session: %v", err)
		}
	})
}

// TestCLILoginEndsWithTheBrowserSession: a CLI login approved in a
// browser is redeemed up to one tick before that browser session ends,
// not at the instant, and never outlives it.
func TestCLILoginEndsWithTheBrowserSession(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		end := start.Add(service.SessionTTL)
		for _, at := range around(end) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				cookie := r.browser()
				r.at(end.Add(-5 * time.Minute))
				login, err := r.svc.StartCLILogin(r.ctx, "Heroku CLI login from laptop", "192.0.2.8")
				if err != nil {
					t.Fatal(err)
				}
				actor := r.sessionActor(cookie)
				dc, err := r.svc.DeviceRequest(r.ctx, actor, login.UserCode)
				if err != nil {
					t.Fatal(err)
				}
				if _, err := r.svc.AnswerDevice(r.ctx, actor, dc.Handle, true); err != nil {
					t.Fatal(err)
				}
				r.at(at.when)
				g, err := r.svc.AwaitCLILogin(r.ctx, login.PollToken.Reveal(), "192.0.2.8")
				if !at.inside {
					wantCode(t, "AwaitCLILogin", err, keyhole.AccessDenied)
					return
				}
				if err != nil {
					t.Fatalf("AwaitCLILogin: %v", err)
				}
				if !g.Access.ExpiresAt.Equal(end) {
					t.Errorf("the CLI login's token expires %v, want the browser session's end %v", g.Access.ExpiresAt, end)
				}
				a := r.verify(g.Access.Value.Reveal())
				s, err := r.ts.Store.Session(r.ctx, a.Authorization.SessionID)
				if err != nil || !s.ExpiresAt.Equal(end) {
					t.Errorf("the CLI login session ends %v, %v; want %v", s.ExpiresAt, err, end)
				}
				r.at(end)
				_, err = r.svc.VerifyToken(r.ctx, g.Access.Value.Reveal())
				wantCode(t, "the CLI login's token when the browser session ends", err, keyhole.Unauthorized)
			})
		}
	})
}

// TestBrowserLoginWaitsForTheCLIsCodesOnly: the browser login's poll
// token is a device code of Keyhole's own CLI client; another client's
// device code, even approved, is refused there (its client must
// authenticate at the token endpoint).
func TestBrowserLoginWaitsForTheCLIsCodesOnly(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		actor := r.sessionActor(r.browser())
		d, err := r.svc.StartDevice(r.ctx, auth(app), []string{"read"}, "")
		if err != nil {
			t.Fatal(err)
		}
		dc, err := r.svc.DeviceRequest(r.ctx, actor, d.UserCode)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.svc.AnswerDevice(r.ctx, actor, dc.Handle, true); err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.AwaitCLILogin(r.ctx, d.DeviceCode.Reveal(), "192.0.2.8")
		wantCode(t, "another client's approved device code as a poll token", err, keyhole.Unauthorized)
		if _, err := r.svc.PollDevice(r.ctx, auth(app), d.DeviceCode.Reveal()); err != nil {
			t.Errorf("the client's own poll afterwards: %v", err)
		}
	})
}
