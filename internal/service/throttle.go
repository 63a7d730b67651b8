package service

import (
	"context"
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
// that succeeds gives its reservation back, so only failures count. The
// budgets are the deployment's (ratelimit.Limits): in process on SQLite,
// shared by the replicas on PostgreSQL or Redis.
type throttle struct {
	name           string
	rec            Recorder
	what           string // for messages: "failed sign-in attempts"
	whom           string // the target, for messages: "this account"
	target, source ratelimit.Budget
	// refund: whether a success gives its attempt back. Sign-ups count
	// every attempt.
	refund bool
}

// throttles are every secret check's budgets. The figures are in the
// README's choices.
type throttles struct {
	password, signup, clientSecret, userCode, introspect, code, reset throttle
	cliLogin, pollToken                                               throttle
}

func newThrottles(failedLogins int, limits ratelimit.Limits, rec Recorder) throttles {
	mk := func(name, what, whom string, target, source int, per time.Duration, refund bool) throttle {
		return throttle{
			name:   name,
			rec:    rec,
			what:   what,
			whom:   whom,
			target: limits.Budget("throttle:"+name+":target", target, per),
			source: limits.Budget("throttle:"+name+":source", source, per),
			refund: refund,
		}
	}
	return throttles{
		// Passwords (API and browser sign-in, the current password of a
		// change, re-authentication): per email, and per address.
		password: mk("password", "failed sign-in attempts", "this account", failedLogins, 100, FailedLoginWindow, true),
		// Sign-ups: every attempt counts, per email and per address.
		signup: mk("signup", "sign-up attempts", "this email address", 5, 20, time.Hour, false),
		// Client secrets at the token, device, revocation and introspection
		// endpoints: per client, and per address.
		clientSecret: mk("client", "failed client authentications", "this client", 20, 100, time.Minute, true),
		// User codes typed at /device: per account, and per address.
		userCode: mk("usercode", "wrong codes", "this account", 10, 30, 15*time.Minute, true),
		// Introspection answering inactive: per client, and per address,
		// so that no client can scan for live tokens.
		introspect: mk("introspect", "introspections of unknown tokens", "this client", 60, 300, time.Minute, true),
		// Browser logins started (POST /auth), per address: every start
		// counts, as it stores a pending login.
		cliLogin: mk("clilogin", "logins started", "", 1, 30, 10*time.Minute, false),
		// Browser logins' poll tokens that name nothing, per address.
		pollToken: mk("polltoken", "unknown login tokens", "", 1, 30, time.Minute, true),
		// Two-factor codes (sign-in, enrolment, disabling), like
		// passwords: per account, and per address.
		code: mk("code", "wrong two-factor codes", "this account", failedLogins, 100, FailedLoginWindow, true),
		// Password-reset mails: every request counts, per email and per
		// address, so that nobody is flooded with them.
		reset: mk("reset", "password reset requests", "this email address", 5, 20, time.Hour, false),
	}
}

// reservation is an attempt taken from a throttle's budgets; done gives it
// back when the check succeeded.
type reservation struct {
	ctx            context.Context
	t              *throttle
	target, source string
}

// reserve takes one attempt from the budget of target and of source (""
// skips one). RateLimited, with how long to wait, when either is spent;
// Unavailable when the budgets cannot be reached (a secret is then not
// checked at all).
func (t *throttle) reserve(ctx context.Context, target, source string) (reservation, error) {
	r := reservation{ctx: ctx, t: t}
	if target != "" {
		target = strings.ToLower(target)
		res, err := t.target.Take(ctx, target)
		if err != nil {
			return r, budgetErr(err)
		}
		if !res.OK {
			return r, t.refused(res.RetryAfter, t.whom)
		}
		r.target = target
	}
	if source != "" {
		res, err := t.source.Take(ctx, source)
		if err != nil || !res.OK {
			r.done(true)
			if err != nil {
				return reservation{t: t}, budgetErr(err)
			}
			return reservation{t: t}, t.refused(res.RetryAfter, "your network address")
		}
		r.source = source
	}
	return r, nil
}

func (t *throttle) refused(wait time.Duration, whom string) error {
	t.rec.Throttled(t.name)
	e := keyhole.Errorf(keyhole.RateLimited, "Too many %s for %s. Try again in %s.", t.what, whom, humanWait(wait))
	e.RetryAfter = wait
	return e
}

func budgetErr(err error) error {
	return &keyhole.Error{Code: keyhole.Unavailable, Message: "Keyhole cannot reach its rate limits right now. Please try again in a moment.", RetryAfter: time.Second, Err: err}
}

// done ends the attempt: a success gives it back (where the throttle
// refunds), a failure keeps it spent.
func (r reservation) done(success bool) {
	if !success || r.t == nil || !r.t.refund {
		return
	}
	// The request may be over: give back even when its context ended.
	ctx := context.WithoutCancel(r.ctx)
	if r.target != "" {
		r.t.target.Give(ctx, r.target)
	}
	if r.source != "" {
		r.t.source.Give(ctx, r.source)
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
