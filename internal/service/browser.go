package service

import (
	"context"
	"regexp"
	"slices"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

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
	a, err := s.Authenticate(ctx, in.Email, in.Password)
	if err != nil {
		s.log.InfoContext(ctx, "login failed", "ip", in.IP)
		return keyhole.Session{}, "", err
	}
	if a.MFAEnabled {
		return keyhole.Session{}, "", keyhole.Errorf(keyhole.TwoFactor, "This account needs a second factor.")
	}
	return s.startSession(ctx, a, in.IP, in.UserAgent)
}

func (s *Service) startSession(ctx context.Context, a keyhole.Account, ip, ua string) (keyhole.Session, token.Secret, error) {
	now := s.clock()
	if _, err := s.store.UpdateAccount(ctx, a.ID, func(a *keyhole.Account) error {
		a.LastLogin = now
		return nil
	}); err != nil {
		return keyhole.Session{}, "", storeErr(err, "account")
	}
	raw := token.New(token.Session)
	sess := keyhole.Session{
		ID: newID(), AccountID: a.ID, Hash: token.Hash(raw.Reveal()), Description: "Browser session @ " + ip,
		IP: ip, UserAgent: clipText(ua, 255), CreatedAt: now, ExpiresAt: now.Add(SessionTTL),
	}
	if err := s.store.CreateSession(ctx, sess, nil, nil); err != nil {
		return keyhole.Session{}, "", storeErr(err, "session")
	}
	s.log.InfoContext(ctx, "browser login", "account_id", a.ID, "session_id", sess.ID, "ip", ip)
	return sess, raw, nil
}

// SignUp creates an account and starts a browser session for it.
func (s *Service) SignUp(ctx context.Context, in NewAccount, ip, ua string) (keyhole.Session, token.Secret, error) {
	a, err := s.CreateAccount(ctx, in)
	if err != nil {
		return keyhole.Session{}, "", err
	}
	return s.startSession(ctx, a, ip, ua)
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
	actor := Actor{AccountID: sess.AccountID, Authorization: keyhole.Authorization{
		AccountID: sess.AccountID, SessionID: sess.ID, Scope: []string{keyhole.ScopeGlobal},
	}}
	return actor, sess, nil
}

// EndSession logs a browser session out (the cookie's session), revoking
// what was authorized through it. An unknown cookie is not an error.
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

// AuthorizeInput is an authorization request as received (RFC 6749
// §4.1.1, RFC 7636 §4.3).
type AuthorizeInput struct {
	ResponseType, ClientID, RedirectURI, Scope string
	CodeChallenge, CodeChallengeMethod         string
}

// AuthorizeRequest is an authorization request, checked.
type AuthorizeRequest struct {
	Client keyhole.Client
	// RedirectURI is where the answer goes: the registered URI. It is set
	// as soon as the client and the redirect_uri parameter check out.
	RedirectURI string
	// RequestedRedirect is the redirect_uri parameter as sent, "" if none;
	// the code is bound to it.
	RequestedRedirect string
	Scope             []string
	CodeChallenge     string
}

var challengePattern = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// CheckAuthorize checks an authorization request. Until the client and its
// redirect URI check out, the returned request has no RedirectURI and the
// error must be shown to the person, never redirected (RFC 6749 §4.1.2.1,
// RFC 9700 §4.11). After that, an error (Invalid, InvalidScope,
// UnsupportedResponse) comes with the RedirectURI to send it to.
func (s *Service) CheckAuthorize(ctx context.Context, in AuthorizeInput) (AuthorizeRequest, error) {
	var req AuthorizeRequest
	if in.ClientID == "" {
		return req, keyhole.Errorf(keyhole.Invalid, "The request names no client (client_id is missing).")
	}
	if !validID(in.ClientID) {
		return req, keyhole.Errorf(keyhole.Invalid, "Unknown OAuth client.")
	}
	c, err := s.store.Client(ctx, in.ClientID)
	if err != nil {
		if isNotFound(err) {
			return req, keyhole.Errorf(keyhole.Invalid, "Unknown OAuth client.")
		}
		return req, storeErr(err, "client")
	}
	if in.RedirectURI != "" && in.RedirectURI != c.RedirectURI {
		return req, keyhole.Errorf(keyhole.Invalid, "The redirect_uri does not match the one registered for this client.")
	}
	req = AuthorizeRequest{Client: c, RedirectURI: c.RedirectURI, RequestedRedirect: in.RedirectURI, CodeChallenge: in.CodeChallenge}

	switch {
	case in.ResponseType == "":
		return req, keyhole.Errorf(keyhole.Invalid, "response_type is required.")
	case in.ResponseType != "code":
		return req, keyhole.Errorf(keyhole.UnsupportedResponse, "Only response_type=code is supported.")
	}
	if req.Scope, err = ParseScope(in.Scope); err != nil {
		return req, err
	}
	switch {
	case in.CodeChallenge != "" && in.CodeChallengeMethod != "S256":
		return req, keyhole.Errorf(keyhole.Invalid, "code_challenge_method must be S256.")
	case in.CodeChallenge != "" && !challengePattern.MatchString(in.CodeChallenge):
		return req, keyhole.Errorf(keyhole.Invalid, "code_challenge is malformed.")
	case in.CodeChallenge == "" && in.CodeChallengeMethod != "":
		return req, keyhole.Errorf(keyhole.Invalid, "code_challenge_method was sent without a code_challenge.")
	case in.CodeChallenge == "" && c.Public():
		return req, keyhole.Errorf(keyhole.Invalid, "This client must use PKCE: send code_challenge with code_challenge_method=S256.")
	}
	return req, nil
}

// ParseScope reads a scope parameter: space- or comma-separated; empty
// means global. InvalidScope for an unknown name.
func ParseScope(raw string) ([]string, error) {
	var out []string
	for _, f := range splitScope(raw) {
		if !keyhole.ValidScope(f) {
			return nil, keyhole.Errorf(keyhole.InvalidScope, "Unknown scope %s.", quote(f))
		}
		out = append(out, f)
	}
	if len(out) == 0 {
		out = []string{keyhole.ScopeGlobal}
	}
	return keyhole.NormalizeScopes(out), nil
}

func splitScope(raw string) []string {
	var out []string
	field := []byte{}
	for i := 0; i <= len(raw); i++ {
		if i == len(raw) || raw[i] == ' ' || raw[i] == ',' || raw[i] == '+' {
			if len(field) > 0 {
				out = append(out, string(field))
				field = field[:0]
			}
			continue
		}
		field = append(field, raw[i])
	}
	return out
}

// NeedsConsent reports whether the person must be asked: always for a
// public client, never for a trusted one, and otherwise unless the account
// already authorized this client with exactly these scopes.
func (s *Service) NeedsConsent(ctx context.Context, actor Actor, c keyhole.Client, scope []string) (bool, error) {
	switch {
	case c.Public():
		return true, nil
	case c.Trusted:
		return false, nil
	}
	rg := store.Range{}
	for {
		page, err := s.store.ListAuthorizations(ctx, actor.AccountID, store.Range{Start: rg.Start, Exclusive: rg.Start != "", Max: 500})
		if err != nil {
			return true, storeErr(err, "authorization")
		}
		for _, a := range page {
			if a.ClientID == c.ID && slices.Equal(keyhole.NormalizeScopes(a.Scope), scope) {
				return false, nil
			}
		}
		if len(page) < 500 {
			return true, nil
		}
		rg.Start = page[len(page)-1].ID
	}
}
