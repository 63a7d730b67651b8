package service_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// pending starts a browser sign-in of an account with two-factor on and
// returns the handle of its second step.
func pending(t *testing.T, ts *keyholetest.Server, email string) string {
	t.Helper()
	in, err := ts.Service.StartSession(context.Background(), service.BrowserLogin{Email: email, Password: password, IP: "192.0.2.7", Binding: "browser"})
	if err != nil || in.Pending == "" {
		t.Fatalf("start sign-in: %+v, %v", in, err)
	}
	return in.Pending
}

func finish(ts *keyholetest.Server, handle, code string) error {
	_, _, err := ts.Service.FinishSignIn(context.Background(), service.SecondStep{Pending: handle, Binding: "browser", Code: code, IP: "192.0.2.7"})
	return err
}

// TestTOTPCodesOnlyInIncreasingOrder: once a code of time step T was
// accepted, codes of T and of every earlier step are refused, even while
// they are still within the allowed drift; a later step is accepted.
func TestTOTPCodesOnlyInIncreasingOrder(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			clk := keyholetest.NewClock(time.Date(2026, 12, 6, 12, 0, 15, 0, time.UTC))
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: clk.Now})
			ts.CreateAccount(t, "ada@example.com", password)
			seed, _ := ts.EnableMFA(t, "ada@example.com", password) // step T used at enrolment
			code := func(steps int) string { return keyholetest.TOTPCode(t, seed, clk.Now(), steps) }

			if err := finish(ts, pending(t, ts, "ada@example.com"), code(+1)); err != nil {
				t.Fatalf("the next step's code: %v", err)
			}
			for _, tt := range []struct {
				name  string
				steps int
			}{{"the same step again", +1}, {"the step of the enrolment", 0}, {"an earlier step within the drift", -1}} {
				if err := finish(ts, pending(t, ts, "ada@example.com"), code(tt.steps)); keyhole.ErrorCode(err) != keyhole.TwoFactor {
					t.Errorf("%s: err = %v, want a refused code", tt.name, err)
				}
			}
			// 30 seconds on, the step after the last used one is current.
			clk.Add(30 * time.Second)
			if err := finish(ts, pending(t, ts, "ada@example.com"), code(+1)); err != nil {
				t.Errorf("a later step: %v", err)
			}
			if err := finish(ts, pending(t, ts, "ada@example.com"), code(0)); keyhole.ErrorCode(err) != keyhole.TwoFactor {
				t.Errorf("the current step after a later one was used: err = %v, want refused", err)
			}
		})
	}
}

// TestPendingSignInEndsAfterFiveWrongCodes: the second step of a sign-in
// takes at most five codes; twenty wrong codes at once reach the check
// five times, the handle is dead afterwards even for the right code, and
// signing in again with the password starts afresh.
func TestPendingSignInEndsAfterFiveWrongCodes(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			clk := keyholetest.NewClock(time.Date(2026, 12, 6, 12, 0, 15, 0, time.UTC))
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: clk.Now})
			id := ts.CreateAccount(t, "ada@example.com", password)
			seed, _ := ts.EnableMFA(t, "ada@example.com", password)
			ctx := context.Background()
			failedCodes := func() int {
				ev, err := ts.Store.Events(ctx, id, store.Range{})
				if err != nil {
					t.Fatal(err)
				}
				n := 0
				for _, e := range ev {
					if e.Type == keyhole.EventLoginFailed && e.Detail == "wrong two-factor code" {
						n++
					}
				}
				return n
			}

			// Four wrong codes, then the right one: still accepted.
			h := pending(t, ts, "ada@example.com")
			for i := range service.PendingCodes - 1 {
				if err := finish(ts, h, "00000"+string(rune('0'+i))); keyhole.ErrorCode(err) != keyhole.TwoFactor {
					t.Fatalf("wrong code %d: err = %v, want TwoFactor", i+1, err)
				}
			}
			if err := finish(ts, h, keyholetest.TOTPCode(t, seed, clk.Now(), +1)); err != nil {
				t.Fatalf("the right code after %d wrong ones: %v", service.PendingCodes-1, err)
			}

			clk.Add(time.Minute)
			before := failedCodes()
			h = pending(t, ts, "ada@example.com")
			var mu sync.Mutex
			refused := 0
			keyholetest.Parallel(20, func(i int) error {
				err := finish(ts, h, "99999"+string(rune('0'+i%10)))
				if keyhole.ErrorCode(err) == keyhole.Unauthorized {
					mu.Lock()
					refused++
					mu.Unlock()
				}
				return err
			})
			if got := failedCodes() - before; got != service.PendingCodes {
				t.Errorf("20 wrong codes at once: %d were checked, want %d", got, service.PendingCodes)
			}
			if refused != 20-service.PendingCodes+1 {
				t.Errorf("%d answers told the person to sign in again, want %d (the fifth wrong code, and every one after it)", refused, 20-service.PendingCodes+1)
			}
			err := finish(ts, h, keyholetest.TOTPCode(t, seed, clk.Now(), 0))
			if keyhole.ErrorCode(err) != keyhole.Unauthorized {
				t.Errorf("the right code on a spent sign-in: err = %v, want Unauthorized (start over)", err)
			}
			if err := finish(ts, pending(t, ts, "ada@example.com"), keyholetest.TOTPCode(t, seed, clk.Now(), 0)); err != nil {
				t.Errorf("a new sign-in with the password and the right code: %v", err)
			}
		})
	}
}
