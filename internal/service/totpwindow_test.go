package service_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// TestTOTPWindowIsOneStepEitherWay: a one-time code is accepted in its
// own 30-second step and the one before and after it (RFC 6238 §5.2,
// clock drift), from the first microsecond of the step before to the last
// of the step after; two or more steps away it is refused. Each case is
// a new account, whose only code used before is its enrolment's, an hour
// earlier.
func TestTOTPWindowIsOneStepEitherWay(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		// step is the start of a 30-second step some way ahead.
		step := time.Unix((r.clk.Now().Unix()/30+10)*30, 0).UTC()
		for i, tt := range []struct {
			name     string
			codeAt   time.Time // the code is the one shown at this time
			serverAt time.Time // the server checks it at this time
			ok       bool
		}{
			{"three steps behind", step.Add(-90 * time.Second), step, false},
			{"two steps behind", step.Add(-60 * time.Second), step, false},
			{"one step behind", step.Add(-30 * time.Second), step, true},
			{"the current step", step, step, true},
			{"one step ahead", step.Add(30 * time.Second), step, true},
			{"two steps ahead", step.Add(60 * time.Second), step, false},
			{"three steps ahead", step.Add(90 * time.Second), step, false},
			{"the last tick of the step after", step, step.Add(60*time.Second - tick), true},
			{"the first tick two steps after", step, step.Add(60 * time.Second), false},
			{"the first tick of the step before", step, step.Add(-30 * time.Second), true},
			{"the last tick two steps before", step, step.Add(-30*time.Second - tick), false},
		} {
			t.Run(tt.name, func(t *testing.T) {
				r := r.with(t)
				r.at(tt.serverAt)
				// A refused code equal to an accepted one (1 in 10⁵ for
				// each) would tell nothing: such a seed is set aside.
				var email, code string
				for attempt := 0; ; attempt++ {
					email = fmt.Sprintf("totp%d-%d@example.com", i, attempt)
					seed, _ := r.mfaAccount(email)
					code = keyholetest.TOTPCode(t, seed, tt.codeAt, 0)
					same := false
					for d := -1; d <= 1; d++ {
						same = same || (!tt.ok && keyholetest.TOTPCode(t, seed, tt.serverAt, d) == code)
					}
					if !same {
						break
					}
				}
				_, err := r.svc.Login(r.ctx, service.LoginRequest{Email: email, Password: password, OTP: code, IP: "192.0.2.1"})
				if tt.ok {
					wantCode(t, "login", err, "")
				} else {
					wantCode(t, "login", err, keyhole.TwoFactor)
				}
			})
		}
	})
}

// TestEnrolmentLastsEnrolmentTTL: the two-factor set-up page is confirmed
// up to one tick before EnrolmentTTL and not at the instant; its handle
// is worth nothing in another session.
func TestEnrolmentLastsEnrolmentTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		for i, at := range around(start.Add(service.EnrolmentTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				email := fmt.Sprintf("enrol%d@example.com", i)
				r.ts.CreateAccount(t, email, password)
				in, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: email, Password: password, IP: "192.0.2.7"})
				if err != nil {
					t.Fatal(err)
				}
				actor := r.sessionActor(in.Secret.Reveal())
				e, err := r.svc.StartMFA(r.ctx, actor)
				if err != nil {
					t.Fatal(err)
				}
				r.at(at.when)
				_, resumeErr := r.svc.ResumeMFA(r.ctx, actor, e.Handle)
				codes, err := r.svc.EnableMFA(r.ctx, actor, e.Handle, password, r.totp(e.Secret.Reveal(), 0))
				if at.inside {
					wantCode(t, "ResumeMFA", resumeErr, "")
					if err != nil || len(codes) != service.RecoveryCodeCount {
						t.Errorf("EnableMFA: %d codes, %v", len(codes), err)
					}
					return
				}
				for name, err := range map[string]error{"ResumeMFA": resumeErr, "EnableMFA": err} {
					if keyhole.ErrorCode(err) != keyhole.Invalid || !strings.Contains(keyhole.ErrorMessage(err), "expired") {
						t.Errorf("%s at the instant: %v, want the set-up expired", name, err)
					}
				}
			})
		}
		r.at(start)
		r.ts.CreateAccount(t, "enrol-other@example.com", password)
		one, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: "enrol-other@example.com", Password: password, IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		two, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: "enrol-other@example.com", Password: password, IP: "192.0.2.7"})
		if err != nil {
			t.Fatal(err)
		}
		e, err := r.svc.StartMFA(r.ctx, r.sessionActor(one.Secret.Reveal()))
		if err != nil {
			t.Fatal(err)
		}
		_, err = r.svc.EnableMFA(r.ctx, r.sessionActor(two.Secret.Reveal()), e.Handle, password, r.totp(e.Secret.Reveal(), 0))
		wantCode(t, "the set-up confirmed in another session", err, keyhole.Invalid)
	})
}
