package service

import (
	"context"
	"sync"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/token"
)

// CLI logins made in a browser. Two ways lead here, both device
// authorizations (RFC 8628) of the built-in CLI client
// (keyhole.CLIClientID): Keyhole's own `keyhole login`, which polls the
// token endpoint, and the Heroku CLI's browser login, which starts with
// StartCLILogin and waits in AwaitCLILogin. Either way the person approves
// on the device page, signed in, and the login becomes a CLI login session
// made through that browser session: signing out of the browser ends it.

// CLILoginPoll is how often AwaitCLILogin looks at the grant again.
const CLILoginPoll = time.Second

// CLILoginStart is a started browser login: the secret the CLI waits with
// (single use, kept only as a hash) and the code of the page the browser
// opens.
type CLILoginStart struct {
	PollToken token.Secret
	UserCode  string // formatted: BCDF-GHJK
	ExpiresIn int
}

// StartCLILogin starts a browser login for a CLI that described itself
// with description ("Heroku CLI login from <host>"). Every start spends
// one of the address's budget, so that nobody fills the database with
// them.
func (s *Service) StartCLILogin(ctx context.Context, description, ip string) (CLILoginStart, error) {
	r, err := s.throttles.cliLogin.reserve(ctx, "", ip)
	if err != nil {
		return CLILoginStart{}, err
	}
	r.done(false)
	if description == "" {
		description = "CLI login"
	}
	if err := checkText("description", description, maxDescriptionLen, false); err != nil {
		return CLILoginStart{}, keyhole.Errorf(keyhole.Invalid, "%s", err.Error())
	}
	c, err := s.store.Client(ctx, keyhole.CLIClientID)
	if err != nil {
		return CLILoginStart{}, storeErr(err, "client")
	}
	d, err := s.startDevice(ctx, c, keyhole.DefaultScope, description)
	if err != nil {
		return CLILoginStart{}, err
	}
	return CLILoginStart{PollToken: d.DeviceCode, UserCode: d.UserCode, ExpiresIn: d.ExpiresIn}, nil
}

var errPollToken = keyhole.Errorf(keyhole.Unauthorized, "This login is unknown, was already used or has expired: log in again.")

// AwaitCLILogin waits until the person answers the browser login whose
// poll token is raw, and returns its tokens once. It answers at once for
// a token that is unknown or used (Unauthorized), a login that expired
// (ExpiredToken) or was denied (AccessDenied); otherwise it looks again
// every CLILoginPoll until ctx ends (AuthorizationPending). Every unknown
// token spends one of the address's attempts, reserved before the lookup.
//
// One wait per poll token at a time in this process: a wait for a token
// another wait is waiting for takes its place, and the one replaced
// answers AuthorizationPending at once (see cliWaits). After EndWaits, a
// wait answers Unavailable: at once, or as soon as EndWaits is called for
// one in progress.
func (s *Service) AwaitCLILogin(ctx context.Context, raw, ip string) (TokenGrant, error) {
	r, err := s.throttles.pollToken.reserve(ctx, "", ip)
	if err != nil {
		return TokenGrant{}, err
	}
	if typ, err := token.Parse(raw); err != nil || typ != token.DeviceCode {
		r.done(false)
		return TokenGrant{}, errPollToken
	}
	hash := token.Hash(raw)
	first := true
	var w *cliWait
	defer func() { s.waits.done(hash, w) }()
	for {
		g, err := s.store.DeviceGrantByHash(ctx, hash)
		if first {
			r.done(err == nil && g.ClientID == keyhole.CLIClientID)
			first = false
		}
		switch {
		case isNotFound(err):
			return TokenGrant{}, errPollToken
		case err != nil:
			return TokenGrant{}, storeErr(err, "device grant")
		case g.ClientID != keyhole.CLIClientID:
			return TokenGrant{}, errPollToken
		}
		now := s.clock()
		switch {
		case !g.ExpiresAt.After(now):
			return TokenGrant{}, keyhole.Errorf(keyhole.ExpiredToken, "The login expired before it was approved: log in again.")
		case g.Status == keyhole.DeviceDenied:
			return TokenGrant{}, keyhole.Errorf(keyhole.AccessDenied, "The login was denied in the browser.")
		case g.Status == keyhole.DeviceApproved:
			c, err := s.store.Client(ctx, g.ClientID)
			if err != nil {
				return TokenGrant{}, storeErr(err, "client")
			}
			tg, err := s.redeemCLILogin(ctx, g, c, ip, now)
			if keyhole.ErrorCode(err) == keyhole.InvalidGrant {
				return TokenGrant{}, errPollToken // redeemed by a concurrent poll
			}
			return tg, err
		}
		if w == nil {
			// Pending: from here on, this is the token's one wait.
			if w = s.waits.take(hash); w == nil {
				return TokenGrant{}, errRestarting
			}
		}
		select {
		case <-ctx.Done():
			return TokenGrant{}, keyhole.Errorf(keyhole.AuthorizationPending, "Waiting for the login to be approved in the browser.")
		case <-w.replaced:
			return TokenGrant{}, keyhole.Errorf(keyhole.AuthorizationPending, "Another wait for this login took over from this one.")
		case <-s.waits.ended:
			return TokenGrant{}, errRestarting
		case <-time.After(CLILoginPoll):
		}
	}
}

// errRestarting answers a wait when the server shuts down: Unavailable,
// which the Heroku CLI, before its wait committed to 200, asks again
// (it retries a status above 500), through the load balancer, of a
// replica that is not shutting down; the login itself is untouched.
var errRestarting = &keyhole.Error{Code: keyhole.Unavailable, RetryAfter: time.Second,
	Message: "Keyhole is restarting; the login is still waiting to be approved: wait for it again."}

// EndWaits ends the waits of AwaitCLILogin in progress, and has later
// ones answer at once, both with Unavailable: the server is shutting down
// and the clients should wait again elsewhere, rather than hold the
// shutdown up for as long as the login lives. Serve calls it when the
// listener closes (http.Server.RegisterOnShutdown). It may be called more
// than once.
func (s *Service) EndWaits() { s.waits.end() }

// cliWaits are the browser-login waits in progress in this process, one
// per poll token. A second wait for a token replaces the first rather
// than being refused: the only client that holds a poll token is the CLI
// that started the login, and when it waits again it is because its
// first wait's connection failed (the Heroku CLI asks again after a 5xx
// from a load balancer, while the server may not yet have seen that
// connection close). Anyone else holding the token could redeem the login
// outright, so replacing gives nothing away. The rule is per process: a
// second wait that a load balancer sends to another replica waits there
// too; both look at the same row, and RedeemDeviceGrant lets only one of
// them have the tokens. That bounds the waits on one token to one per
// replica without state shared between replicas.
type cliWaits struct {
	mu      sync.Mutex
	byHash  map[string]*cliWait
	ended   chan struct{} // closed by end
	endOnce sync.Once
}

// cliWait is one wait in progress; replaced is closed when another wait
// for its token takes its place.
type cliWait struct{ replaced chan struct{} }

func newCLIWaits() *cliWaits {
	return &cliWaits{byHash: map[string]*cliWait{}, ended: make(chan struct{})}
}

// take makes a new wait the one for the token of hash, replacing the wait
// there was; nil once end was called.
func (c *cliWaits) take(hash string) *cliWait {
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case <-c.ended:
		return nil
	default:
	}
	if old := c.byHash[hash]; old != nil {
		close(old.replaced)
	}
	w := &cliWait{replaced: make(chan struct{})}
	c.byHash[hash] = w
	return w
}

// done forgets w, a wait for the token of hash, unless another took its
// place already; w may be nil.
func (c *cliWaits) done(hash string, w *cliWait) {
	if w == nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.byHash[hash] == w {
		delete(c.byHash, hash)
	}
}

func (c *cliWaits) end() { c.endOnce.Do(func() { close(c.ended) }) }

// redeemCLILogin turns an approved device grant of the built-in CLI client
// into a CLI login session made through the browser session that approved
// it, with a global authorization of the CLI client whose only token lives
// as long as the session. A login whose browser session has ended since
// is refused.
func (s *Service) redeemCLILogin(ctx context.Context, g keyhole.DeviceGrant, c keyhole.Client, ip string, now time.Time) (TokenGrant, error) {
	ended := keyhole.Errorf(keyhole.AccessDenied, "You signed out of the browser that approved this login: log in again.")
	if g.SessionID == "" {
		return TokenGrant{}, ended
	}
	parent, err := s.store.Session(ctx, g.SessionID)
	switch {
	case isNotFound(err):
		return TokenGrant{}, ended
	case err != nil:
		return TokenGrant{}, storeErr(err, "session")
	case !parent.ExpiresAt.After(now):
		return TokenGrant{}, ended
	}
	sess := keyhole.Session{
		ID: newID(), AccountID: g.AccountID, Description: g.Description, IP: ip, ParentID: parent.ID,
		CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	if sess.ExpiresAt.After(parent.ExpiresAt) {
		sess.ExpiresAt = parent.ExpiresAt
	}
	auth := keyhole.Authorization{
		ID: newID(), AccountID: g.AccountID, ClientID: c.ID, SessionID: sess.ID, Scope: g.Scope,
		Description: g.Description, CreatedAt: now, UpdatedAt: now,
	}
	tokens, tg := s.mint(now, issue{auth: auth, client: &c, until: sess.ExpiresAt})
	if err := s.store.RedeemDeviceGrant(ctx, g.ID, &sess, auth, tokens); err != nil {
		if isNotFound(err) {
			// Redeemed by a concurrent poll, or the browser session
			// ended meanwhile.
			return TokenGrant{}, errGrant
		}
		return TokenGrant{}, storeErr(err, "authorization")
	}
	s.log.InfoContext(ctx, "cli login", "account_id", g.AccountID, "session_id", sess.ID, "parent_session_id", parent.ID, "authorization_id", auth.ID)
	return tg, nil
}
