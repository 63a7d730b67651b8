package service

import (
	"fmt"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/ratelimit"
)

// A throttle bounds how many secret checks of one kind may fail, per
// target (an email, a client, an account) and per source address, over a
// period. A check reserves an attempt from both budgets before it
// verifies, so that parallel guesses cannot all reach the check; a check
// that succeeds gives its reservation back, so only failures count.
type throttle struct {
	what           string // for messages: "sign-in attempts"
	target, source *ratelimit.Limiter
	// refund: whether a success gives its attempt back. Sign-ups count
	// every attempt.
	refund bool
}

// throttles are every secret check's budgets. The figures are in the
// README's choices.
type throttles struct {
	password, signup, clientSecret, userCode, introspect throttle
}

func newThrottles(failedLogins int, now func() time.Time) throttles {
	mk := func(what string, target, source int, per time.Duration, refund bool) throttle {
		return throttle{what: what, target: ratelimit.New(target, per, now), source: ratelimit.New(source, per, now), refund: refund}
	}
	return throttles{
		// Passwords (API and browser sign-in, the current password of a
		// change, re-authentication): per email, and per address.
		password: mk("failed sign-in attempts", failedLogins, 100, FailedLoginWindow, true),
		// Sign-ups: every attempt counts, per email and per address.
		signup: mk("sign-up attempts", 5, 20, time.Hour, false),
		// Client secrets at the token, device, revocation and introspection
		// endpoints: per client, and per address.
		clientSecret: mk("failed client authentications", 20, 100, time.Minute, true),
		// User codes typed at /device: per account, and per address.
		userCode: mk("wrong codes", 10, 30, 15*time.Minute, true),
		// Introspection answering inactive: per client, and per address,
		// so that no client can scan for live tokens.
		introspect: mk("introspections of unknown tokens", 60, 300, time.Minute, true),
	}
}

// reservation is an attempt taken from a throttle's budgets; done gives it
// back when the check succeeded.
type reservation struct {
	t              *throttle
	target, source string
}

// reserve takes one attempt from the budget of target and of source (""
// skips one). RateLimited, with how long to wait, when either is spent.
func (t *throttle) reserve(target, source string) (reservation, error) {
	r := reservation{t: t}
	if target != "" {
		ok, wait := t.target.Reserve(strings.ToLower(target))
		if !ok {
			return r, t.refused(wait, "this account")
		}
		r.target = strings.ToLower(target)
	}
	if source != "" {
		ok, wait := t.source.Reserve(source)
		if !ok {
			r.done(true)
			return reservation{t: t}, t.refused(wait, "your network address")
		}
		r.source = source
	}
	return r, nil
}

func (t *throttle) refused(wait time.Duration, whom string) error {
	e := keyhole.Errorf(keyhole.RateLimited, "Too many %s for %s. Try again in %s.", t.what, whom, humanWait(wait))
	e.RetryAfter = wait
	return e
}

// done ends the attempt: a success gives it back (where the throttle
// refunds), a failure keeps it spent.
func (r reservation) done(success bool) {
	if !success || r.t == nil || !r.t.refund {
		return
	}
	if r.target != "" {
		r.t.target.Refund(r.target)
	}
	if r.source != "" {
		r.t.source.Refund(r.source)
	}
}

func humanWait(d time.Duration) string {
	switch s := int((d + time.Second - 1) / time.Second); {
	case s <= 1:
		return "a second"
	case s < 90:
		return fmt.Sprintf("%d seconds", s)
	default:
		return fmt.Sprintf("%d minutes", (s+59)/60)
	}
}
