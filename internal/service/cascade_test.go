package service_test

import (
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// holdings is what ada holds at once: a browser session, a CLI login, a
// CLI login approved in that browser, an application's grant and the API
// key.
type holdings struct {
	cookie        string
	cli           string // a CLI login's access token
	browserCLI    string // the token of a CLI login approved in the browser
	app           service.ClientInfo
	grant         service.TokenGrant
	apiKey        string
	cookieSession string
}

func (r *rig) hold() holdings {
	r.t.Helper()
	h := holdings{cookie: r.browser(), cli: r.ts.Login(r.t, "ada@example.com", password), app: r.client("App", false)}
	h.grant = r.tokens(h.app, "read")
	h.apiKey = r.ts.APIKey(r.t, "ada@example.com", password)
	actor := r.sessionActor(h.cookie)
	h.cookieSession = actor.Authorization.SessionID
	login, err := r.svc.StartCLILogin(r.ctx, "CLI login from laptop", "192.0.2.8")
	if err != nil {
		r.t.Fatal(err)
	}
	dc, err := r.svc.DeviceRequest(r.ctx, actor, login.UserCode)
	if err != nil {
		r.t.Fatal(err)
	}
	if _, err := r.svc.AnswerDevice(r.ctx, actor, dc.Handle, true); err != nil {
		r.t.Fatal(err)
	}
	g, err := r.svc.AwaitCLILogin(r.ctx, login.PollToken.Reveal(), "192.0.2.8")
	if err != nil {
		r.t.Fatal(err)
	}
	h.browserCLI = g.Access.Value.Reveal()
	return h
}

// alive tells, for each of what ada holds, whether it still works.
func (r *rig) alive(h holdings) map[string]bool {
	r.t.Helper()
	ok := func(err error) bool {
		if code := keyhole.ErrorCode(err); err != nil && code != keyhole.Unauthorized && code != keyhole.InvalidGrant && code != keyhole.InvalidClient {
			r.t.Fatal(err)
		}
		return err == nil
	}
	_, _, errCookie := r.svc.SessionActor(r.ctx, h.cookie)
	_, errCLI := r.svc.VerifyToken(r.ctx, h.cli)
	_, errBrowserCLI := r.svc.VerifyToken(r.ctx, h.browserCLI)
	_, errAccess := r.svc.VerifyToken(r.ctx, h.grant.Access.Value.Reveal())
	_, errKey := r.svc.VerifyToken(r.ctx, h.apiKey)
	// The refresh token last: a refresh rotates it.
	_, errRefresh := r.refresh(h.app, h.grant.Refresh)
	return map[string]bool{
		"browser session": ok(errCookie), "CLI login": ok(errCLI), "CLI login through the browser": ok(errBrowserCLI),
		"application's access token": ok(errAccess), "application's refresh token": ok(errRefresh), "API key": ok(errKey),
	}
}

func wantAlive(t *testing.T, what string, got, want map[string]bool) {
	t.Helper()
	for k, w := range want {
		if got[k] != w {
			t.Errorf("%s: %s works: %t, want %t", what, k, got[k], w)
		}
	}
}

// TestWhatEndsWithWhat: each way of ending access ends exactly what it
// says, at once: signing out of a browser ends the CLI logins approved in
// it and nothing else; a password change keeps only the caller's own;
// a password reset ends everything; revoking or deleting ends its own.
func TestWhatEndsWithWhat(t *testing.T) {
	all := func(v bool) map[string]bool {
		return map[string]bool{"browser session": v, "CLI login": v, "CLI login through the browser": v,
			"application's access token": v, "application's refresh token": v, "API key": v}
	}
	with := func(m map[string]bool, k string, v bool) map[string]bool { m[k] = v; return m }
	eachRig(t, func(t *testing.T, r *rig) {
		t.Run("sign out of the browser", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if err := r.svc.EndSession(r.ctx, h.cookie, service.Origin{}); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after signing out", r.alive(h), with(with(all(true), "browser session", false), "CLI login through the browser", false))
		})
		t.Run("delete the browser session from the CLI", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if _, err := r.svc.DeleteSession(r.ctx, r.verify(h.cli), h.cookieSession); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after deleting the session", r.alive(h), with(with(all(true), "browser session", false), "CLI login through the browser", false))
		})
		t.Run("log out of the CLI login", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if _, err := r.svc.DeleteSession(r.ctx, r.verify(h.cli), "~"); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after the CLI's logout", r.alive(h), with(all(true), "CLI login", false))
		})
		t.Run("end every other session", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			actor := r.sessionActor(h.cookie)
			if _, err := r.svc.EndOtherSessions(r.ctx, actor); err != nil {
				t.Fatal(err)
			}
			got := r.alive(h)
			// The CLI login approved in this browser is a session of its own.
			wantAlive(t, "after ending the other sessions", got, with(with(all(true), "CLI login", false), "CLI login through the browser", false))
		})
		t.Run("change the password", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			next := "another passphrase " + t.Name()
			if _, err := r.svc.UpdateAccount(r.ctx, r.verify(h.cli), service.AccountUpdate{NewPassword: &next, CurrentPassword: password}); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after the password change", r.alive(h), with(all(false), "CLI login", true))
			// Put it back for the next subtests.
			if _, err := r.svc.UpdateAccount(r.ctx, r.verify(h.cli), service.AccountUpdate{NewPassword: ptr(password), CurrentPassword: next}); err != nil {
				t.Fatal(err)
			}
		})
		t.Run("a wrong current password changes nothing", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			_, err := r.svc.UpdateAccount(r.ctx, r.verify(h.cli), service.AccountUpdate{NewPassword: ptr("another passphrase"), CurrentPassword: "wrong password"})
			wantCode(t, "a password change with a wrong current password", err, keyhole.Invalid)
			_, err = r.svc.UpdateAccount(r.ctx, r.verify(h.cli), service.AccountUpdate{NewPassword: ptr("another passphrase")})
			wantCode(t, "a password change without the current password", err, keyhole.Invalid)
			wantAlive(t, "after the refused changes", r.alive(h), all(true))
			r.wantPassword("after the refused changes", "ada@example.com", password, "another passphrase")
		})
		t.Run("reset the password", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if err := r.svc.ResetPassword(r.ctx, service.PasswordReset{Token: r.requestReset("ada@example.com"), NewPassword: "a reset passphrase"}); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after the reset", r.alive(h), all(false))
			r.ts.Login(t, "ada@example.com", "a reset passphrase")
			if k := r.ts.APIKey(t, "ada@example.com", "a reset passphrase"); k == h.apiKey {
				t.Error("the reset kept the API key")
			}
		})
	})
}

// TestRevokingEndsItsOwn: revoking an authorization, regenerating its
// tokens or deleting its client ends its tokens at once, and nothing else.
func TestRevokingEndsItsOwn(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		t.Run("revoke the authorization", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if _, err := r.svc.RevokeAuthorization(r.ctx, r.verify(h.cli), h.grant.Authorization.ID); err != nil {
				t.Fatal(err)
			}
			want := map[string]bool{"browser session": true, "CLI login": true, "API key": true, "application's access token": false, "application's refresh token": false}
			wantAlive(t, "after revoking the application", r.alive(h), want)
		})
		t.Run("regenerate the tokens", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			info, err := r.svc.RegenerateTokens(r.ctx, r.verify(h.cli), h.grant.Authorization.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after regenerating", r.alive(h), map[string]bool{"application's access token": false, "application's refresh token": false, "CLI login": true})
			r.verify(info.Access.Value.Reveal())
			if _, err := r.refresh(h.app, info.Refresh); err != nil {
				t.Errorf("the regenerated refresh token: %v", err)
			}
		})
		t.Run("regenerate the API key", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			actor := r.sessionActor(h.cookie)
			key, err := r.svc.RegenerateAPIKey(r.ctx, actor, password)
			if err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after regenerating the API key", r.alive(h), map[string]bool{"API key": false, "CLI login": true, "application's access token": true})
			r.verify(key.Reveal())
		})
		t.Run("delete the client", func(t *testing.T) {
			r := r.with(t)
			h := r.hold()
			if _, err := r.svc.DeleteClient(r.ctx, r.verify(h.cli), h.app.ID); err != nil {
				t.Fatal(err)
			}
			wantAlive(t, "after deleting the client", r.alive(h), map[string]bool{"application's access token": false, "CLI login": true, "API key": true})
			_, err := r.svc.AuthenticateClient(r.ctx, auth(h.app))
			wantCode(t, "the deleted client's secret", err, keyhole.InvalidClient)
		})
	})
}

// TestSecondFactorChangesNeedThePassword: turning two-factor
// authentication on or off, or making new recovery codes, needs the
// password (and, to turn it off, a code); refused, nothing changes.
func TestSecondFactorChangesNeedThePassword(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		actor := r.sessionActor(r.browser())
		e, err := r.svc.StartMFA(r.ctx, actor)
		if err != nil {
			t.Fatal(err)
		}
		for _, pw := range []string{"", "wrong password"} {
			_, err := r.svc.EnableMFA(r.ctx, actor, e.Handle, pw, r.totp(e.Secret.Reveal(), 0))
			wantCode(t, "EnableMFA with the password "+pw, err, keyhole.Invalid)
		}
		if st, err := r.svc.TwoFactorStatus(r.ctx, actor); err != nil || st.Enabled {
			t.Fatalf("after the refused enrolments: %+v, %v; want off", st, err)
		}
		codes, err := r.svc.EnableMFA(r.ctx, actor, e.Handle, password, r.totp(e.Secret.Reveal(), 0))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.RegenerateRecoveryCodes(r.ctx, actor, "wrong password")
		wantCode(t, "new recovery codes with a wrong password", err, keyhole.Invalid)
		for _, tt := range []struct{ name, pw, code string }{
			{"a wrong password", "wrong password", codes[0].Reveal()},
			{"no code", password, ""},
			{"a wrong code", password, "nonsense"},
		} {
			err := r.svc.DisableMFA(r.ctx, actor, tt.pw, tt.code)
			wantCode(t, "DisableMFA with "+tt.name, err, keyhole.Invalid)
		}
		st, err := r.svc.TwoFactorStatus(r.ctx, actor)
		if err != nil || !st.Enabled || st.CodesLeft != service.RecoveryCodeCount {
			t.Errorf("after the refused changes: %+v, %v; want on with every recovery code", st, err)
		}
		if err := r.svc.DisableMFA(r.ctx, actor, password, codes[1].Reveal()); err != nil {
			t.Errorf("DisableMFA with the password and a recovery code: %v", err)
		}
	})
}
