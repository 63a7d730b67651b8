package service_test

import (
	"context"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// tick is one step of the service's clock: it keeps times to the
// microsecond, what both databases store.
const tick = time.Microsecond

// rig is a server on one backend whose clock stands still until the test
// moves it, with the account ada@example.com and her CLI login's actor.
type rig struct {
	t     *testing.T
	ctx   context.Context
	clk   *keyholetest.Clock
	ts    *keyholetest.Server
	svc   *service.Service
	actor service.Actor
}

// eachRig runs f on a new rig per backend, in parallel with the other
// tests that do (each rig has its own server, store and clock).
func eachRig(t *testing.T, f func(t *testing.T, r *rig)) {
	t.Helper()
	t.Parallel()
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			f(t, newRig(t, be))
		})
	}
}

func newRig(t *testing.T, be keyholetest.Backend) *rig {
	t.Helper()
	return newRigWith(t, be, keyholetest.Options{})
}

// newRigWith is newRig with the server built from o (its Store and Now
// are the rig's).
func newRigWith(t *testing.T, be keyholetest.Backend, o keyholetest.Options) *rig {
	t.Helper()
	// The clock starts on a whole second, so that instants computed from
	// it are exact in both databases.
	clk := keyholetest.NewClock(time.Now().UTC().Truncate(time.Second))
	o.Store, o.Now = be.Open(t), clk.Now
	ts := keyholetest.NewServer(t, o)
	r := &rig{t: t, ctx: context.Background(), clk: clk, ts: ts, svc: ts.Service}
	ts.CreateAccount(t, "ada@example.com", password)
	r.actor = r.verify(ts.Login(t, "ada@example.com", password))
	return r
}

// with is r reporting to t, a subtest's.
func (r *rig) with(t *testing.T) *rig {
	c := *r
	c.t = t
	return &c
}

// at puts the clock at when.
func (r *rig) at(when time.Time) { r.clk.Set(when) }

// now is the clock's time as the service keeps it.
func (r *rig) now() time.Time { return r.clk.Now().UTC().Truncate(tick) }

// verify returns the actor of an access token, failing the test if it is
// refused.
func (r *rig) verify(tok string) service.Actor {
	r.t.Helper()
	a, err := r.svc.VerifyToken(r.ctx, tok)
	if err != nil {
		r.t.Fatalf("VerifyToken: %v", err)
	}
	return a
}

// client registers a client of ada's: public, or confidential.
func (r *rig) client(name string, public bool) service.ClientInfo {
	r.t.Helper()
	redirect := "https://app.example/cb"
	c, err := r.svc.CreateClient(r.ctx, r.actor, service.ClientParams{Name: &name, RedirectURI: &redirect, Public: public})
	if err != nil {
		r.t.Fatal(err)
	}
	return c
}

// auth is how c authenticates: its id and secret ("" for a public client).
func auth(c service.ClientInfo) service.ClientAuth {
	return service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal(), IP: "192.0.2.1"}
}

// pkceVerifier is a valid PKCE verifier (RFC 7636 §4.1) of the grants the
// rig makes for public clients.
const pkceVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"

// code makes a grant code of c for scope, as the consent page's Allow
// does; a public client's is bound to pkceVerifier.
func (r *rig) code(c service.ClientInfo, scope ...string) string {
	r.t.Helper()
	p := service.GrantParams{ClientID: c.ID, Scope: scope}
	if c.Public() {
		p.CodeChallenge = service.S256(pkceVerifier)
	}
	info, err := r.svc.CreateGrant(r.ctx, r.actor, p)
	if err != nil {
		r.t.Fatal(err)
	}
	return info.Grant.Value.Reveal()
}

// redeem exchanges a code of c made by r.code.
func (r *rig) redeem(c service.ClientInfo, code string) (service.TokenGrant, error) {
	req := service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: auth(c), Code: code}
	if c.Public() {
		req.CodeVerifier = pkceVerifier
	}
	return r.svc.Exchange(r.ctx, req)
}

// tokens gets c a new pair for scope, failing the test on error.
func (r *rig) tokens(c service.ClientInfo, scope ...string) service.TokenGrant {
	r.t.Helper()
	g, err := r.redeem(c, r.code(c, scope...))
	if err != nil {
		r.t.Fatalf("redeem a new code: %v", err)
	}
	return g
}

// refresh presents a refresh token of c, narrowed to scope when given.
func (r *rig) refresh(c service.ClientInfo, tok *service.IssuedToken, scope ...string) (service.TokenGrant, error) {
	r.t.Helper()
	if tok == nil {
		r.t.Fatal("no refresh token")
	}
	return r.svc.Exchange(r.ctx, service.TokenRequest{GrantType: service.GrantRefreshToken, Client: auth(c), RefreshToken: tok.Value.Reveal(), Scope: scope})
}

// browser signs ada in on the login page and returns the cookie's secret.
func (r *rig) browser() string {
	r.t.Helper()
	in, err := r.svc.StartSession(r.ctx, service.BrowserLogin{Email: "ada@example.com", Password: password, IP: "192.0.2.7"})
	if err != nil || in.Secret == "" {
		r.t.Fatalf("sign in: %+v, %v", in, err)
	}
	return in.Secret.Reveal()
}

// sessionActor is the actor of a browser session's cookie, failing the
// test if it is refused.
func (r *rig) sessionActor(cookie string) service.Actor {
	r.t.Helper()
	a, _, err := r.svc.SessionActor(r.ctx, cookie)
	if err != nil {
		r.t.Fatalf("SessionActor: %v", err)
	}
	a.IP = "192.0.2.7"
	return a
}

// wantCode fails the test unless err has the code ("" for no error).
func wantCode(t *testing.T, what string, err error, code string) {
	t.Helper()
	switch {
	case code == "" && err != nil:
		t.Errorf("%s: %v, want no error", what, err)
	case code != "" && keyhole.ErrorCode(err) != code:
		t.Errorf("%s: got %v, want %s", what, err, code)
	}
}

// around is the instants of a boundary: one tick before, the instant and
// one tick after, with whether each is still inside (before the boundary).
func around(at time.Time) []struct {
	name   string
	when   time.Time
	inside bool
} {
	return []struct {
		name   string
		when   time.Time
		inside bool
	}{
		{"one tick before", at.Add(-tick), true},
		{"at the instant", at, false},
		{"one tick after", at.Add(tick), false},
	}
}

// mfaAccount makes an account with two-factor authentication on, enrolled
// an hour before the clock's time (so that every code a test makes is of
// a later time step than the enrolment's), and returns its seed and
// recovery codes.
func (r *rig) mfaAccount(email string) (seed string, codes []string) {
	r.t.Helper()
	now := r.clk.Now()
	r.clk.Set(now.Add(-time.Hour))
	r.ts.CreateAccount(r.t, email, password)
	seed, codes = r.ts.EnableMFA(r.t, email, password)
	r.clk.Set(now)
	return seed, codes
}

// totp is the code of seed for the time step steps away from the clock's.
func (r *rig) totp(seed string, steps int) string {
	r.t.Helper()
	return keyholetest.TOTPCode(r.t, seed, r.clk.Now(), steps)
}
