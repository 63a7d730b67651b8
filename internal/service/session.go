package service

import (
	"context"
	"errors"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// SessionTTL is how long a login session lasts. A CLI login's tokens end
// with it.
const SessionTTL = 30 * 24 * time.Hour

// LoginRequest is a CLI login: email and password (and the one-time code
// for an account with MFA), where it comes from, and the authorization it
// asks for.
type LoginRequest struct {
	Email, Password, OTP string
	IP, UserAgent        string
	Params               AuthorizationParams
}

var errTwoFactor = keyhole.Errorf(keyhole.TwoFactor, "A second authentication factor is required: send the code from your authenticator app in the Heroku-Two-Factor-Code header.")

// Login checks an email and password (and, for an account with MFA, the
// one-time code) and starts a CLI login session with a direct authorization
// made through it: how the Heroku CLI logs in. Ending or outliving the
// session ends the authorization. Unauthorized for bad credentials;
// TwoFactor when a code is needed; Conflict when the password or email
// changed while it was being checked.
func (s *Service) Login(ctx context.Context, in LoginRequest) (AuthorizationInfo, error) {
	p := in.Params
	if err := p.validate(); err != nil {
		return AuthorizationInfo{}, err
	}
	a, err := s.Authenticate(ctx, in.Email, in.Password, in.IP)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	if a.MFAEnabled {
		// Until one-time codes can be verified, an account with a second
		// factor cannot log in with a password alone, whatever code comes.
		return AuthorizationInfo{}, errTwoFactor
	}
	now := s.clock()
	sess := keyhole.Session{
		ID: newID(), AccountID: a.ID, Description: p.Description, IP: in.IP, UserAgent: clipText(in.UserAgent, 255),
		CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	if sess.Description == "" {
		sess.Description = "Session @ " + in.IP
	}
	auth := s.direct(a.ID, p, now)
	auth.SessionID = sess.ID
	tokens, g := s.mint(now, issue{auth: auth, ttl: p.ttl(), until: sess.ExpiresAt})
	if err := s.store.CreateSession(ctx, sess, a.CredentialsVersion, &auth, tokens); err != nil {
		return AuthorizationInfo{}, signInErr(err)
	}
	a.LastLogin = now
	s.rec.Issued("login")
	s.log.InfoContext(ctx, "login", "account_id", a.ID, "session_id", sess.ID, "authorization_id", auth.ID, "ip", in.IP)
	return AuthorizationInfo{Authorization: auth, User: a, Access: &g.Access}, nil
}

// signInErr answers a sign-in the store refused: its credentials changed
// between the check and the write.
func signInErr(err error) error {
	if errors.Is(err, store.ErrStale) {
		return &keyhole.Error{Code: keyhole.Unauthorized, Message: "The password or email of this account changed while signing in; sign in again.", Err: err}
	}
	return storeErr(err, "session")
}

// BrowserLogin is a person signing in on the login page.
type BrowserLogin struct {
	Email, Password string
	IP, UserAgent   string
}

// StartSession checks an email and password and starts a browser session.
// It returns the session and its secret, the cookie value; the server keeps
// only its hash. An account with MFA gets TwoFactor (the MFA issue adds the
// second step).
func (s *Service) StartSession(ctx context.Context, in BrowserLogin) (keyhole.Session, token.Secret, error) {
	a, err := s.Authenticate(ctx, in.Email, in.Password, in.IP)
	if err != nil {
		return keyhole.Session{}, "", err
	}
	if a.MFAEnabled {
		return keyhole.Session{}, "", keyhole.Errorf(keyhole.TwoFactor, "This account needs a second factor.")
	}
	return s.startSession(ctx, a, in.IP, in.UserAgent)
}

func (s *Service) startSession(ctx context.Context, a keyhole.Account, ip, ua string) (keyhole.Session, token.Secret, error) {
	now := s.clock()
	raw := token.New(token.Session)
	sess := keyhole.Session{
		ID: newID(), AccountID: a.ID, Hash: token.Hash(raw.Reveal()), Description: "Browser session @ " + ip,
		IP: ip, UserAgent: clipText(ua, 255), CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	if err := s.store.CreateSession(ctx, sess, a.CredentialsVersion, nil, nil); err != nil {
		return keyhole.Session{}, "", signInErr(err)
	}
	s.log.InfoContext(ctx, "browser login", "account_id", a.ID, "session_id", sess.ID, "ip", ip)
	return sess, raw, nil
}

// SignUp creates an account and starts a browser session for it.
func (s *Service) SignUp(ctx context.Context, in NewAccount, ua string) (keyhole.Session, token.Secret, error) {
	a, err := s.CreateAccount(ctx, in)
	if err != nil {
		return keyhole.Session{}, "", err
	}
	return s.startSession(ctx, a, in.IP, ua)
}

// SessionActor returns the account behind a browser session cookie, as an
// Actor holding the global scope within that session. Unauthorized when the
// cookie is unknown, malformed or expired.
func (s *Service) SessionActor(ctx context.Context, cookie string) (Actor, keyhole.Session, error) {
	bad := keyhole.Errorf(keyhole.Unauthorized, "Please sign in.")
	if typ, err := token.Parse(cookie); err != nil || typ != token.Session {
		return Actor{}, keyhole.Session{}, bad
	}
	sess, err := s.store.SessionByHash(ctx, token.Hash(cookie))
	if err != nil {
		if isNotFound(err) {
			return Actor{}, keyhole.Session{}, bad
		}
		return Actor{}, keyhole.Session{}, storeErr(err, "session")
	}
	if !sess.ExpiresAt.After(s.clock()) {
		return Actor{}, keyhole.Session{}, bad
	}
	scope := []string{keyhole.ScopeGlobal}
	actor := Actor{AccountID: sess.AccountID, Scope: scope, Authorization: keyhole.Authorization{
		AccountID: sess.AccountID, SessionID: sess.ID, Scope: scope,
	}}
	return actor, sess, nil
}

// EndSession logs a browser session out (the cookie's session). It ends
// the session and the CLI logins made through it; applications the person
// authorized keep their access until it is revoked or expires. An unknown
// cookie is not an error.
func (s *Service) EndSession(ctx context.Context, cookie string) error {
	_, sess, err := s.SessionActor(ctx, cookie)
	if err != nil {
		if keyhole.ErrorCode(err) == keyhole.Unauthorized {
			return nil
		}
		return err
	}
	if err := s.store.DeleteSession(ctx, sess.ID); err != nil && !isNotFound(err) {
		return storeErr(err, "session")
	}
	return nil
}

// Sessions lists the actor's live login sessions, one page of r.
func (s *Service) Sessions(ctx context.Context, actor Actor, r store.Range) ([]keyhole.Session, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	list, err := s.store.ListSessions(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "session")
	}
	now := s.clock()
	live := list[:0]
	for _, ss := range list {
		if ss.ExpiresAt.After(now) {
			live = append(live, ss)
		}
	}
	return live, nil
}

// DeleteSession logs a session out: it deletes the session and every
// authorization made through it, with their tokens, and returns the session
// as it was. "~" names the session the actor's token was issued through.
func (s *Service) DeleteSession(ctx context.Context, actor Actor, id string) (keyhole.Session, error) {
	if id == "~" {
		id = actor.Authorization.SessionID
	}
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Session{}, err
	}
	if !validID(id) {
		return keyhole.Session{}, keyhole.NotFoundError("session")
	}
	ss, err := s.store.Session(ctx, id)
	if err != nil {
		return keyhole.Session{}, storeErr(err, "session")
	}
	if ss.AccountID != actor.AccountID {
		return keyhole.Session{}, keyhole.NotFoundError("session")
	}
	if err := s.store.DeleteSession(ctx, ss.ID); err != nil {
		return keyhole.Session{}, storeErr(err, "session")
	}
	s.rec.Revoked("session")
	s.log.InfoContext(ctx, "session deleted", "account_id", actor.AccountID, "session_id", ss.ID)
	return ss, nil
}
