package service_test

import (
	"fmt"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// TestVerificationLinkLastsVerifyLinkTTL: the link mailed at sign-up
// confirms the address up to one tick before VerifyLinkTTL and not at
// the instant.
func TestVerificationLinkLastsVerifyLinkTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		for i, at := range around(start.Add(service.VerifyLinkTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				email := fmt.Sprintf("new%d@example.com", i)
				if err := r.svc.SignUp(r.ctx, service.NewAccount{Email: email, Password: password}); err != nil {
					t.Fatal(err)
				}
				tok := linkToken(t, r.ts.Mail().Take(t, email, "confirm your email address"), service.VerifyPath)
				r.at(at.when)
				_, checkErr := r.svc.CheckEmailLink(r.ctx, tok)
				a, err := r.svc.VerifyEmail(r.ctx, tok, service.Origin{})
				if at.inside {
					wantCode(t, "CheckEmailLink", checkErr, "")
					if err != nil || !a.EmailVerified {
						t.Errorf("VerifyEmail: %+v, %v; want the address verified", a, err)
					}
					// A link works once.
					_, err := r.svc.CheckEmailLink(r.ctx, tok)
					wantCode(t, "CheckEmailLink of the used link", err, keyhole.Invalid)
					_, err = r.svc.VerifyEmail(r.ctx, tok, service.Origin{})
					wantCode(t, "VerifyEmail of the used link", err, keyhole.Invalid)
					return
				}
				wantCode(t, "CheckEmailLink", checkErr, keyhole.Invalid)
				wantCode(t, "VerifyEmail", err, keyhole.Invalid)
				_, err = r.svc.Authenticate(r.ctx, email, password, service.Origin{})
				wantCode(t, "the password of the unverified account", err, "")
				_, err = r.svc.Login(r.ctx, service.LoginRequest{Email: email, Password: password, IP: "192.0.2.1"})
				wantCode(t, "a login before the address is verified", err, keyhole.Forbidden)
			})
		}
	})
}

// requestReset mails a reset link to email and returns its token.
func (r *rig) requestReset(email string) string {
	r.t.Helper()
	if err := r.svc.RequestPasswordReset(r.ctx, email, service.Origin{IP: "192.0.2.1"}); err != nil {
		r.t.Fatal(err)
	}
	return linkToken(r.t, r.ts.Mail().Take(r.t, email, "reset your password"), service.ResetPath)
}

// wantPassword checks which password email signs in with.
func (r *rig) wantPassword(what, email, works, fails string) {
	r.t.Helper()
	if _, err := r.svc.Authenticate(r.ctx, email, works, service.Origin{IP: "192.0.2.1"}); err != nil {
		r.t.Errorf("%s: the password %q is refused: %v", what, works, err)
	}
	if _, err := r.svc.Authenticate(r.ctx, email, fails, service.Origin{IP: "192.0.2.1"}); keyhole.ErrorCode(err) != keyhole.Unauthorized {
		r.t.Errorf("%s: the password %q: %v, want it refused", what, fails, err)
	}
}

// TestResetLinkLastsResetLinkTTL: a reset link sets a new password up to
// one tick before ResetLinkTTL and not at the instant, which leaves the
// old password working.
func TestResetLinkLastsResetLinkTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		const newPassword = "a brand new passphrase"
		for i, at := range around(start.Add(service.ResetLinkTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				email := fmt.Sprintf("reset%d@example.com", i)
				r.ts.CreateAccount(t, email, password)
				tok := r.requestReset(email)
				r.at(at.when)
				_, linkErr := r.svc.ResetLink(r.ctx, tok)
				err := r.svc.ResetPassword(r.ctx, service.PasswordReset{Token: tok, NewPassword: newPassword})
				if at.inside {
					wantCode(t, "ResetLink", linkErr, "")
					wantCode(t, "ResetPassword", err, "")
					r.wantPassword("after the reset", email, newPassword, password)
					// A link works once.
					_, err := r.svc.ResetLink(r.ctx, tok)
					wantCode(t, "ResetLink of the used link", err, keyhole.Invalid)
					err = r.svc.ResetPassword(r.ctx, service.PasswordReset{Token: tok, NewPassword: password})
					wantCode(t, "ResetPassword with the used link", err, keyhole.Invalid)
					r.wantPassword("after the used link", email, newPassword, password)
					return
				}
				wantCode(t, "ResetLink", linkErr, keyhole.Invalid)
				wantCode(t, "ResetPassword", err, keyhole.Invalid)
				r.wantPassword("after the refused reset", email, password, newPassword)
			})
		}
	})
}

// TestResetWithTwoFactorNeedsTheCode: a mailbox alone does not get past a
// second factor. The reset of an account with two-factor authentication
// needs a one-time or recovery code; left empty, blank or wrong, it is
// refused and the old password keeps working.
func TestResetWithTwoFactorNeedsTheCode(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		seed, codes := r.mfaAccount("mfa@example.com")
		_, others := r.mfaAccount("other@example.com")
		const newPassword = "a brand new passphrase"
		tok := r.requestReset("mfa@example.com")
		if needs, err := r.svc.ResetLink(r.ctx, tok); err != nil || !needs {
			t.Fatalf("ResetLink = %t, %v; want that it needs a code", needs, err)
		}
		wrong := "000000"
		for d := -1; d <= 1; d++ {
			if r.totp(seed, d) == wrong {
				wrong = "999999"
			}
		}
		for _, tt := range []struct{ name, code string }{
			{"no code", ""},
			{"a blank code", "   "},
			{"a wrong code", wrong},
			{"another account's recovery code", others[0]},
			{"a code three steps old", r.totp(seed, -3)},
		} {
			err := r.svc.ResetPassword(r.ctx, service.PasswordReset{Token: tok, NewPassword: newPassword, Code: tt.code, Origin: service.Origin{IP: "192.0.2.1"}})
			wantCode(t, tt.name, err, keyhole.Invalid)
			r.wantPassword(tt.name, "mfa@example.com", password, newPassword)
		}
		tok = r.requestReset("mfa@example.com")
		if err := r.svc.ResetPassword(r.ctx, service.PasswordReset{Token: tok, NewPassword: newPassword, Code: codes[0], Origin: service.Origin{IP: "192.0.2.1"}}); err != nil {
			t.Fatalf("the reset with a recovery code: %v", err)
		}
		r.wantPassword("after the reset", "mfa@example.com", newPassword, password)
		if _, err := r.svc.Login(r.ctx, service.LoginRequest{Email: "mfa@example.com", Password: newPassword, IP: "192.0.2.1"}); keyhole.ErrorCode(err) != keyhole.TwoFactor {
			t.Errorf("a login with the new password and no code: %v, want two-factor still on", err)
		}
		// An account without two-factor authentication needs no code.
		r.ts.CreateAccount(t, "plain@example.com", password)
		if needs, err := r.svc.ResetLink(r.ctx, r.requestReset("plain@example.com")); err != nil || needs {
			t.Errorf("ResetLink of an account without two-factor = %t, %v", needs, err)
		}
	})
}
