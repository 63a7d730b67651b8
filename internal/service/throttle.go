package service

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/ratelimit"
)

// A throttle bounds how many secret checks of one kind may fail over a
// period, per target (an email, a client, an account) and per source
// address (ratelimit.AddressKey: IPv6 by its /64). A check reserves an
// attempt from every budget before it verifies, so that parallel guesses
// cannot all reach the check; a check that succeeds gives its reservation
// back, so only failures count. A refused attempt takes nothing. The
// budgets are the deployment's (ratelimit.Limits): in the database on
// SQLite and PostgreSQL, or in Redis.
//
// A throttle whose targets someone else can guess at (an email, a client)
// keys its strict budget on the target and the source together (pair),
// and keeps the target's own budget only as a loose ceiling: one address
// cannot lock a target out, and while others' failures have spent the
// ceiling, a source whose pair budget is whole (at least whole attempts
// left once this one is taken: no failures of its own still counted) is
// let through to the check all the same. The source's own budget holds
// across targets either way.
type throttle struct {
	name   string
	rec    Recorder
	what   string // for messages: "failed sign-in attempts"
	whom   string // the target, for messages: "this account"
	target ratelimit.Budget
	source ratelimit.Budget
	// pair, when set, is the strict budget of a target from one source,
	// of pairLimit attempts earned back one every pairInterval; target is
	// then the ceiling, passed by sources with whole attempts left.
	pair         ratelimit.Budget
	pairLimit    int
	pairInterval time.Duration
	whole        int
	// refund: whether a success gives its attempt back. Sign-ups count
	// every attempt.
	refund bool
}

// throttles are every secret check's budgets. The figures are in the
// README's choices.
type throttles struct {
	password, signup, clientSecret, userCode, introspect, code, reset throttle
	cliLogin, pollToken, token, invite, invitation, people            throttle
}

// Ceilings of the throttles keyed on a target and a source: the most
// failures a target may see from every address together before only
// addresses without failures of their own still reach the check.
const (
	// AccountCeiling is per email (sign-in) and per account (two-factor
	// codes), per FailedLoginWindow.
	AccountCeiling = 100
	// ClientCeiling is per client per minute: client secrets are 256-bit
	// random, so the ceiling only bounds the work of checking them.
	ClientCeiling = 1000
)

// newThrottles makes the throttles: the secret checks' budgets from
// limits, and the one spent on every request's path (unknown tokens) from
// requests.
func newThrottles(failedLogins int, limits, requests ratelimit.Limits, rec Recorder) throttles {
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
	// paired: pair attempts per target and source, ceiling per target,
	// source per source, all refunded on success; whole is what a pair
	// must have left to pass a spent ceiling.
	paired := func(name, what, whom string, pair, whole, ceiling, source int, per time.Duration) throttle {
		t := mk(name, what, whom, ceiling, source, per, true)
		t.pair = limits.Budget("throttle:"+name+":pair", pair, per)
		t.pairLimit, t.pairInterval, t.whole = pair, per/time.Duration(pair), whole
		return t
	}
	return throttles{
		// Passwords (API and browser sign-in, the current password of a
		// change, re-authentication): per email and address strictly, per
		// email as a ceiling, per address across emails. Past the ceiling,
		// only an address with nothing of its pair budget spent.
		password: paired("password", "failed sign-in attempts", "this account", failedLogins, failedLogins-1, max(AccountCeiling, failedLogins), 100, FailedLoginWindow),
		// Sign-ups: every attempt counts, per email and per address.
		signup: mk("signup", "sign-up attempts", "this email address", 5, 20, time.Hour, false),
		// Client secrets at the token, device, revocation and introspection
		// endpoints: per client and address strictly, per client as a
		// ceiling, per address across clients. Past the ceiling, an
		// address with half of its pair budget left, so that a client's
		// parallel requests pass too.
		clientSecret: paired("client", "failed client authentications", "this client", 20, 10, ClientCeiling, 100, time.Minute),
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
		// passwords.
		code: paired("code", "wrong two-factor codes", "this account", failedLogins, failedLogins-1, max(AccountCeiling, failedLogins), 100, FailedLoginWindow),
		// Password-reset mails: every request counts, per email and per
		// address, so that nobody is flooded with them.
		reset: mk("reset", "password reset requests", "this email address", 5, 20, time.Hour, false),
		// Team invitations mailed: every one counts, per address invited
		// and per address of the admin sending them, so that no team's
		// admin floods anybody's mailbox.
		invite: mk("invite", "team invitations", "this email address", 5, 50, time.Hour, false),
		// Invitation links that name nothing, per address: a link found
		// gives its attempt back.
		invitation: mk("invitation", "unknown invitation links", "", 1, 30, time.Minute, true),
		// Addresses without an account, named to be added to a team or an
		// app, per address of the caller: whoever may manage an app (their
		// own, say) learns whether an address has an account, so that
		// nobody can list them.
		people: mk("people", "addresses without an account", "", 1, 30, time.Hour, true),
		// Well-formed tokens the database does not know, per address,
		// reserved before the database is read so that they cannot flood
		// it (lookups); a token found gives its attempt back.
		token: throttle{name: "token", rec: rec, what: "unknown tokens", refund: true,
			source: requests.Budget("throttle:token:source", UnknownTokens, time.Minute)},
	}
}

// UnknownTokens is how many well-formed tokens that name nothing live one
// address may present per minute.
const UnknownTokens = 60

// reservation is an attempt taken from a throttle's budgets; done gives it
// back when the check succeeded.
type reservation struct {
	ctx                  context.Context
	t                    *throttle
	pair, target, source string // the keys taken from, "" for none
}

// reserve takes one attempt for target from source ("" skips either; a
// throttle with a pair budget keys a source "" as one more address).
// RateLimited, with how long to wait and whose budget is spent, when the
// attempt does not fit; Unavailable when the budgets cannot be reached (a
// secret is then not checked at all). A refused attempt takes nothing.
func (t *throttle) reserve(ctx context.Context, target, source string) (reservation, error) {
	r := reservation{ctx: ctx, t: t}
	target = strings.ToLower(target)
	source = ratelimit.AddressKey(source)
	pairLeft := 0
	if t.pair != nil && target != "" {
		// The source is an address or a /64 network: no "|" in it, so the
		// key names one pair only.
		key := target + "|" + source
		res, err := t.pair.Take(ctx, key)
		if err != nil {
			return r, budgetErr(err)
		}
		if !res.OK {
			return r, t.refused(res.RetryAfter, t.whom+" from your network address")
		}
		r.pair, pairLeft = key, res.Remaining
	}
	if target != "" {
		res, err := t.target.Take(ctx, target)
		switch {
		case err != nil:
			r.release()
			return reservation{t: t}, budgetErr(err)
		case res.OK:
			r.target = target
		case t.pair != nil && pairLeft >= t.whole:
			// The ceiling is spent, by others: this source has failed too
			// little to be one of them.
		default:
			r.release()
			wait := res.RetryAfter
			if t.pair != nil {
				// Or when this source's pair budget is whole again.
				wait = min(wait, time.Duration(t.whole-pairLeft)*t.pairInterval)
			}
			return reservation{t: t}, t.refused(wait, t.whom)
		}
	}
	if source != "" {
		res, err := t.source.Take(ctx, source)
		if err != nil || !res.OK {
			r.release()
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
	msg := "Too many " + t.what + ". Try again in " + humanWait(wait) + "."
	if whom != "" {
		msg = "Too many " + t.what + " for " + whom + ". Try again in " + humanWait(wait) + "."
	}
	e := keyhole.Errorf(keyhole.RateLimited, "%s", msg)
	e.RetryAfter = wait
	return e
}

func budgetErr(err error) error {
	return &keyhole.Error{Code: keyhole.Unavailable, Message: "Keyhole cannot reach its rate limits right now. Please try again in a moment.", RetryAfter: time.Second, Err: err}
}

// done ends the attempt: a success gives it back (where the throttle
// refunds), a failure keeps it spent.
func (r reservation) done(success bool) {
	if success && r.t != nil && r.t.refund {
		r.release()
	}
}

// release gives back everything the reservation took: an attempt that was
// refused or not checked.
func (r reservation) release() {
	if r.t == nil || r.pair == "" && r.target == "" && r.source == "" {
		return
	}
	// The request may be over: give back even when its context ended.
	ctx := r.ctx
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	if r.pair != "" {
		r.t.pair.Give(ctx, r.pair)
	}
	if r.target != "" {
		r.t.target.Give(ctx, r.target)
	}
	if r.source != "" {
		r.t.source.Give(ctx, r.source)
	}
}

// lookups guards a store's reads of the database (store.Guard) with a
// throttle that has only a source budget: each read first reserves an
// attempt of the address's budget, and a read that finds its row, or
// fails, gives it back. Only reads that find nothing stay spent, and what
// the store answers from memory spends nothing at all.
type lookups struct{ t *throttle }

// Before reserves an attempt for the address.
func (l lookups) Before(ctx context.Context, ip string) error {
	_, err := l.t.reserve(ctx, "", ip)
	return err
}

// After gives the attempt back unless the read found nothing.
func (l lookups) After(ctx context.Context, ip string, err error) {
	if err != nil && isNotFound(err) {
		return
	}
	if ctx.Err() != nil {
		ctx = context.WithoutCancel(ctx)
	}
	l.t.source.Give(ctx, ratelimit.AddressKey(ip))
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
