package api_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestTokenRefusedAtTheInstantItExpires: a program calling the Platform
// API with a token made with expires_in 60 is served until one tick
// before the minute is over and answered 401 from its last instant on.
func TestTokenRefusedAtTheInstantItExpires(t *testing.T) {
	onBackends(t, func(t *testing.T, b keyholetest.Backend) {
		start := time.Now().UTC().Truncate(time.Second)
		clk := keyholetest.NewClock(start)
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t), Now: clk.Now})
		c := client{t: t, base: ts.URL}
		ts.CreateAccount(t, ada, password)
		key := ts.APIKey(t, ada, password)
		for _, tt := range []struct {
			at     time.Duration
			status int
		}{
			{time.Minute - time.Microsecond, 200},
			{time.Minute, 401},
			{time.Minute + time.Microsecond, 401},
		} {
			clk.Set(start)
			r := c.do("POST", "/oauth/authorizations", map[string]any{"expires_in": 60}, bearer(key))
			if r.status != 201 {
				t.Fatalf("create: %d %s", r.status, r.body)
			}
			tok := accessToken(t, r)
			clk.Set(start.Add(tt.at))
			r = c.do("GET", "/account", nil, bearer(tok))
			if r.status != tt.status {
				t.Errorf("GET /account %v after the token was made: %d, want %d", tt.at, r.status, tt.status)
			}
			if tt.status == 401 {
				r.wantError(t, 401, "unauthorized")
			}
		}
	})
}

// TestLoginRefusesCodesTwoStepsAway: the Heroku CLI's login to an
// account with two-factor authentication is refused, 403 two_factor, with
// a code two or more 30-second steps from the server's time, and accepted
// with one of the step after.
func TestLoginRefusesCodesTwoStepsAway(t *testing.T) {
	onBackends(t, func(t *testing.T, b keyholetest.Backend) {
		clk := keyholetest.NewClock(time.Now().UTC())
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t), Now: clk.Now})
		c := client{t: t, base: ts.URL}
		cases := []struct {
			steps  int
			status int
		}{{-3, 403}, {-2, 403}, {2, 403}, {3, 403}, {1, 201}}
		// Each account enrolled an hour ago: its enrolment's code is of an
		// earlier step than any tried.
		seeds := map[int]string{}
		for _, tt := range cases {
			email := fmt.Sprintf("mfa%+d@example.com", tt.steps)
			ts.CreateAccount(t, email, password)
			seeds[tt.steps], _ = ts.EnableMFA(t, email, password)
		}
		clk.Add(time.Hour)
		for _, tt := range cases {
			email, seed := fmt.Sprintf("mfa%+d@example.com", tt.steps), seeds[tt.steps]
			code := keyholetest.TOTPCode(t, seed, clk.Now(), tt.steps)
			if tt.status == 403 {
				for d := -1; d <= 1; d++ {
					if keyholetest.TOTPCode(t, seed, clk.Now(), d) == code {
						code = "abcdef" // the same digits as an accepted step: tells nothing
					}
				}
			}
			r := c.do("POST", "/oauth/authorizations", nil, basic(email, password), header("Heroku-Two-Factor-Code", code))
			if r.status != tt.status {
				t.Errorf("a code %+d steps away: %d %s, want %d", tt.steps, r.status, r.body, tt.status)
			}
			if tt.status == 403 {
				r.wantError(t, 403, "two_factor")
			}
		}
	})
}
