package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
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

var errTwoFactor = keyhole.Errorf(keyhole.TwoFactor, "A second authentication factor is required: send the code from your authenticator app (or a recovery code) in the Heroku-Two-Factor-Code header.")

// signInAccount checks the credentials of a sign-in: the password (see
// Authenticate), then that the address was verified. Forbidden until it
// is: an account someone signed up with another's address is unusable.
func (s *Service) signInAccount(ctx context.Context, email, password string, o Origin) (keyhole.Account, error) {
	a, err := s.Authenticate(ctx, email, password, o)
	if err != nil {
		return keyhole.Account{}, err
	}
	if !a.EmailVerified {
		return keyhole.Account{}, keyhole.Errorf(keyhole.Forbidden,
			"Confirm your email address first: open the link we mailed to %s when you signed up (signing up again with the same address sends a new one).", a.Email)
	}
	return a, nil
}

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
	o := Origin{IP: in.IP, UserAgent: in.UserAgent}
	a, err := s.signInAccount(ctx, in.Email, in.Password, o)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	if a.MFAEnabled {
		// Heroku's CLI answers two_factor by asking for the code and
		// sending it in Heroku-Two-Factor-Code with the password again.
		if strings.TrimSpace(in.OTP) == "" {
			return AuthorizationInfo{}, errTwoFactor
		}
		if err := s.secondFactor(ctx, a, in.OTP, o); err != nil {
			if keyhole.ErrorCode(err) == keyhole.TwoFactor {
				s.record(ctx, s.event(a.ID, keyhole.EventLoginFailed, o, "", "wrong two-factor code"))
			}
			return AuthorizationInfo{}, err
		}
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
	ev := s.event(a.ID, keyhole.EventLoginSucceeded, o, sess.ID, "CLI login: "+clipText(sess.Description, 200))
	if err := s.store.CreateSession(ctx, sess, a.CredentialsVersion, &auth, tokens, ev); err != nil {
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

// BrowserLogin is a person signing in on the login page. Binding ties a
// pending second step to this browser (the web surface passes its
// pre-session cookie), so that its handle is worth nothing elsewhere.
type BrowserLogin struct {
	Email, Password string
	IP, UserAgent   string
	Binding         string
}

// SignIn is the outcome of the password step of a browser sign-in: a
// session and its secret (the cookie value; the server keeps its hash),
// or, for an account with MFA, only the handle of the pending second step,
// which grants nothing by itself.
type SignIn struct {
	Session keyhole.Session
	Secret  token.Secret
	Pending string
}

// PendingTTL is how long the second step of a sign-in may be answered,
// and PendingCodes how many codes it may be answered with: after that
// many wrong ones the person starts over with the password.
const (
	PendingTTL   = 5 * time.Minute
	PendingCodes = 5
)

// pendingTriesPer is the period of a pending sign-in's budget of codes:
// it earns one try back every pendingTriesPer/PendingCodes, which is
// longer than PendingTTL, so a pending sign-in never gets more than
// PendingCodes tries.
const pendingTriesPer = 12 * time.Hour

type pendingSignIn struct {
	// ID names the pending sign-in, for its budget of codes.
	ID        string    `json:"id"`
	AccountID string    `json:"account_id"`
	Version   int64     `json:"version"`
	Expires   time.Time `json:"expires"`
}

// StartSession checks an email and password. An account without MFA gets
// a browser session; one with MFA the handle of the second step (see
// FinishSignIn): sealed under the server key, bound to in.Binding, valid
// PendingTTL.
func (s *Service) StartSession(ctx context.Context, in BrowserLogin) (SignIn, error) {
	o := Origin{IP: in.IP, UserAgent: in.UserAgent}
	a, err := s.signInAccount(ctx, in.Email, in.Password, o)
	if err != nil {
		return SignIn{}, err
	}
	if a.MFAEnabled {
		b, _ := json.Marshal(pendingSignIn{ID: newID(), AccountID: a.ID, Version: a.CredentialsVersion, Expires: s.clock().Add(PendingTTL)})
		return SignIn{Pending: base64.RawURLEncoding.EncodeToString(s.sealer.Seal(b, []byte("sign-in:"+in.Binding)))}, nil
	}
	sess, raw, err := s.startSession(ctx, a, o, "password", amrPassword)
	return SignIn{Session: sess, Secret: raw}, err
}

// SecondStep is the answer to the second step of a browser sign-in.
type SecondStep struct {
	Pending, Binding, Code string
	IP, UserAgent          string
}

var (
	errPending      = keyhole.Errorf(keyhole.Unauthorized, "This sign-in expired or was started in another browser. Sign in again.")
	errPendingTries = keyhole.Errorf(keyhole.Unauthorized, "Too many wrong codes for this sign-in. Sign in again with your password.")
)

// FinishSignIn checks the one-time or recovery code of a pending sign-in
// and starts its browser session. Unauthorized for a handle that expired,
// is not this browser's or was answered with PendingCodes wrong codes
// already (each try is reserved before the code is checked, so parallel
// tries cannot pass that number either); TwoFactor for a wrong or used
// code (throttled like passwords, too); Unauthorized when the
// credentials changed meanwhile.
func (s *Service) FinishSignIn(ctx context.Context, in SecondStep) (keyhole.Session, token.Secret, error) {
	var p pendingSignIn
	sealed, err := base64.RawURLEncoding.DecodeString(in.Pending)
	if err != nil {
		return keyhole.Session{}, "", errPending
	}
	b, err := s.sealer.Open(sealed, []byte("sign-in:"+in.Binding))
	if err != nil || json.Unmarshal(b, &p) != nil || !s.clock().Before(p.Expires) {
		return keyhole.Session{}, "", errPending
	}
	a, err := s.store.Account(ctx, p.AccountID)
	if err != nil {
		if isNotFound(err) {
			return keyhole.Session{}, "", errPending
		}
		return keyhole.Session{}, "", storeErr(err, "account")
	}
	if a.CredentialsVersion != p.Version {
		return keyhole.Session{}, "", errPending
	}
	o := Origin{IP: in.IP, UserAgent: in.UserAgent}
	if !a.MFAEnabled || p.ID == "" {
		return keyhole.Session{}, "", errPending
	}
	try, err := s.pendingTries.Take(ctx, p.ID)
	switch {
	case err != nil:
		return keyhole.Session{}, "", budgetErr(err)
	case !try.OK:
		return keyhole.Session{}, "", errPendingTries
	}
	if err := s.secondFactor(ctx, a, in.Code, o); err != nil {
		if keyhole.ErrorCode(err) != keyhole.TwoFactor {
			// Not checked (a throttle, the database): no try spent.
			s.pendingTries.Give(context.WithoutCancel(ctx), p.ID)
			return keyhole.Session{}, "", err
		}
		s.record(ctx, s.event(a.ID, keyhole.EventLoginFailed, o, "", "wrong two-factor code"))
		if try.Remaining == 0 {
			return keyhole.Session{}, "", errPendingTries
		}
		return keyhole.Session{}, "", err
	}
	return s.startSession(ctx, a, o, "password and two-factor code", amrTwoFactor)
}

// startSession starts a browser session for a, signed in to as how (in
// words) and amr (RFC 8176 names).
func (s *Service) startSession(ctx context.Context, a keyhole.Account, o Origin, how string, amr []string) (keyhole.Session, token.Secret, error) {
	now := s.clock()
	raw := token.New(token.Session)
	sess := keyhole.Session{
		ID: newID(), AccountID: a.ID, Hash: token.Hash(raw.Reveal()), Description: "Browser session @ " + o.IP,
		IP: o.IP, UserAgent: clipText(o.UserAgent, 255), CreatedAt: now, ExpiresAt: now.Add(SessionTTL), LastSeenAt: now,
		AMR: amr,
	}
	ev := s.event(a.ID, keyhole.EventLoginSucceeded, o, sess.ID, "browser, with "+how)
	if err := s.store.CreateSession(ctx, sess, a.CredentialsVersion, nil, nil, ev); err != nil {
		return keyhole.Session{}, "", signInErr(err)
	}
	s.log.InfoContext(ctx, "browser login", "account_id", a.ID, "session_id", sess.ID, "ip", o.IP)
	return sess, raw, nil
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
	now := s.clock()
	if !sess.ExpiresAt.After(now) {
		return Actor{}, keyhole.Session{}, bad
	}
	if now.Sub(sess.LastSeenAt) >= touchEvery {
		if err := s.store.TouchSession(ctx, sess.ID, now, touchEvery); err != nil {
			s.log.WarnContext(ctx, "touch session", "err", err)
		}
	}
	scope := []string{keyhole.ScopeGlobal}
	actor := Actor{AccountID: sess.AccountID, Scope: scope, Authorization: keyhole.Authorization{
		AccountID: sess.AccountID, SessionID: sess.ID, Scope: scope,
	}, SignedInAt: sess.CreatedAt, AMR: sess.AMR}
	return actor, sess, nil
}

// EndSession logs a browser session out (the cookie's session). It ends
// the session and the CLI logins made through it; applications the person
// authorized keep their access until it is revoked or expires. An unknown
// cookie is not an error.
func (s *Service) EndSession(ctx context.Context, cookie string, o Origin) error {
	_, sess, err := s.SessionActor(ctx, cookie)
	if err != nil {
		if keyhole.ErrorCode(err) == keyhole.Unauthorized {
			return nil
		}
		return err
	}
	ev := s.event(sess.AccountID, keyhole.EventSessionEnded, o, sess.ID, "signed out: "+sess.Description)
	if err := s.store.DeleteSession(ctx, sess.ID, ev); err != nil && !isNotFound(err) {
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
	ev := s.event(ss.AccountID, keyhole.EventSessionEnded, actor.origin(), ss.ID, ss.Description)
	if err := s.store.DeleteSession(ctx, ss.ID, ev); err != nil {
		return keyhole.Session{}, storeErr(err, "session")
	}
	s.rec.Revoked("session")
	s.log.InfoContext(ctx, "session deleted", "account_id", actor.AccountID, "session_id", ss.ID)
	return ss, nil
}

// EndOtherSessions ends every session of the actor's account but the one
// the actor is in (browser and CLI logins alike, with what was authorized
// through them), and returns how many.
func (s *Service) EndOtherSessions(ctx context.Context, actor Actor) (int, error) {
	if err := actor.NeedAccount(); err != nil {
		return 0, err
	}
	keep := actor.Authorization.SessionID
	ev := s.event(actor.AccountID, keyhole.EventSessionEnded, actor.origin(), "", "every other session")
	n, err := s.store.DeleteOtherSessions(ctx, actor.AccountID, keep, ev)
	if err != nil {
		return 0, storeErr(err, "session")
	}
	return n, nil
}

// ReauthTTL is how long a re-entered password counts, per browser session,
// for the actions that ask for it again (revealing the API key or a
// client's secret).
const ReauthTTL = 5 * time.Minute

// touchEvery is how often, at most, a session's or authorization's last
// use is written.
const touchEvery = time.Minute

// Reauthenticated reports whether the person entered their password again
// in the session within ReauthTTL.
func (s *Service) Reauthenticated(sess keyhole.Session) bool {
	return !sess.ReauthAt.IsZero() && s.clock().Sub(sess.ReauthAt) < ReauthTTL
}

var errReauth = keyhole.Errorf(keyhole.Forbidden, "Enter your password again to see this.")

// reauthenticate makes sure the actor's browser session re-entered the
// password within ReauthTTL: with password given, it checks it (under
// the sign-in throttle) and stamps the session; without, the stamp must
// be recent (Forbidden otherwise).
func (s *Service) reauthenticate(ctx context.Context, actor Actor, password string) error {
	if err := actor.NeedAccount(); err != nil {
		return err
	}
	if actor.Authorization.SessionID == "" || actor.Authorization.ID != "" {
		return keyhole.Errorf(keyhole.Forbidden, "This needs a browser session.")
	}
	if password == "" {
		sess, err := s.store.Session(ctx, actor.Authorization.SessionID)
		if err != nil {
			return storeErr(err, "session")
		}
		if !s.Reauthenticated(sess) {
			return errReauth
		}
		return nil
	}
	a, err := s.Account(ctx, actor)
	if err != nil {
		return err
	}
	if err := s.reauthPassword(ctx, a, password, actor.origin()); err != nil {
		return err
	}
	if err := s.store.Reauthenticated(ctx, actor.Authorization.SessionID, s.clock()); err != nil {
		return storeErr(err, "session")
	}
	return nil
}
