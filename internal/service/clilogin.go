package service

import (
	"context"
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
		select {
		case <-ctx.Done():
			return TokenGrant{}, keyhole.Errorf(keyhole.AuthorizationPending, "Waiting for the login to be approved in the browser.")
		case <-time.After(CLILoginPoll):
		}
	}
}

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
