package service

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// ConsentTTL is how long a consent page may be answered.
const ConsentTTL = 15 * time.Minute

// maxState bounds the state parameter a client may send.
const maxState = 2048

// AuthorizeInput is an authorization request as received (RFC 6749
// §4.1.1, RFC 7636 §4.3).
type AuthorizeInput struct {
	ResponseType, ClientID, RedirectURI, Scope string
	CodeChallenge, CodeChallengeMethod         string
	State                                      string
	HasState                                   bool
	// Repeated names the parameters the request carried more than once
	// (RFC 6749 §3.1 forbids it); the values above are their first ones.
	Repeated []string
	// The OpenID Connect parameters (Core 1.0 §3.1.2.1).
	Nonce, Prompt, MaxAge, LoginHint, IDTokenHint string
	HasMaxAge, HasRequest, HasRequestURI          bool
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
	// State is echoed in the answer when the request had one.
	State    string
	HasState bool
	// Nonce goes into the ID token.
	Nonce string
	// PromptNone: no page may be shown; PromptLogin: the person signs in
	// again; PromptConsent: the consent page is shown even when consent
	// exists (Core 1.0 §3.1.2.1).
	PromptNone, PromptLogin, PromptConsent bool
	// MaxAge is the longest time since the person signed in that the
	// client accepts; -1 when it did not say.
	MaxAge time.Duration
	// LoginHint is the address the sign-in page offers.
	LoginHint string
	// HintSubject is the account the id_token_hint names, "" without one.
	HintSubject string
}

var challengePattern = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// CheckAuthorize checks an authorization request. Until the client and its
// redirect URI check out, the returned request has no RedirectURI and the
// error must be shown to the person, never redirected (RFC 6749 §4.1.2.1,
// RFC 9700 §4.11). After that, an error (Invalid, InvalidScope,
// UnsupportedResponse) comes with the RedirectURI to send it to.
func (s *Service) CheckAuthorize(ctx context.Context, in AuthorizeInput) (AuthorizeRequest, error) {
	var req AuthorizeRequest
	repeated := func(name string) error {
		return keyhole.Errorf(keyhole.Invalid, "The parameter %s was sent more than once.", quote(name))
	}
	for _, name := range in.Repeated {
		// Which client, and where the answer may go, is not known while
		// they are ambiguous.
		if name == "client_id" || name == "redirect_uri" {
			return req, repeated(name)
		}
	}
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
	if len(in.State) > maxState {
		return req, keyhole.Errorf(keyhole.Invalid, "The state parameter is too long.")
	}
	req = AuthorizeRequest{
		Client: c, RedirectURI: c.RedirectURI, RequestedRedirect: in.RedirectURI, CodeChallenge: in.CodeChallenge,
		State: in.State, HasState: in.HasState,
	}
	if len(in.Repeated) > 0 {
		// Once client and redirect URI check out, the error is sent to the
		// client (RFC 6749 §4.1.2.1); with a state only if it was sent once.
		if slices.Contains(in.Repeated, "state") {
			req.State, req.HasState = "", false
		}
		return req, repeated(in.Repeated[0])
	}

	switch {
	case in.ResponseType == "":
		return req, keyhole.Errorf(keyhole.Invalid, "response_type is required.")
	case in.ResponseType != "code":
		return req, keyhole.Errorf(keyhole.UnsupportedResponse, "Only response_type=code is supported.")
	}
	scope := keyhole.SplitScope(in.Scope)
	if keyhole.OpenID(scope) {
		// An OpenID Connect request ignores the scopes it does not know
		// (Core 1.0 §3.1.2.1); a plain OAuth one is told.
		scope = keyhole.KnownScopes(scope)
	}
	if req.Scope, err = keyhole.CheckScopes(scope, keyhole.DefaultScope); err != nil {
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
	if err := s.checkOpenID(ctx, in, &req); err != nil {
		return req, err
	}
	return req, nil
}

// NeedsConsent reports whether the person must be asked: always for a
// public client, never for a trusted one, and otherwise unless the account
// already has a grant of exactly these scopes to this client (one indexed
// lookup, store.Grant).
func (s *Service) NeedsConsent(ctx context.Context, actor Actor, c keyhole.Client, scope []string) (bool, error) {
	switch {
	case c.Public():
		return true, nil
	case c.Trusted:
		return false, nil
	}
	_, err := s.store.Grant(ctx, actor.AccountID, c.ID, scope)
	switch {
	case err == nil:
		return false, nil
	case isNotFound(err):
		return true, nil
	default:
		return true, storeErr(err, "authorization")
	}
}

// consentRequest is what a consent page asked, as its handle carries it.
type consentRequest struct {
	ClientID          string    `json:"client_id"`
	RequestedRedirect string    `json:"redirect_uri,omitempty"`
	Scope             []string  `json:"scope"`
	CodeChallenge     string    `json:"code_challenge,omitempty"`
	State             string    `json:"state,omitempty"`
	HasState          bool      `json:"has_state,omitempty"`
	Nonce             string    `json:"nonce,omitempty"`
	DeviceGrantID     string    `json:"device_grant_id,omitempty"`
	UserCode          string    `json:"user_code,omitempty"`
	Expires           time.Time `json:"expires"`
}

var errConsent = keyhole.Errorf(keyhole.Invalid, "This consent page expired or was not shown to you. Go back to the application and start again.")

// ConsentHandle is what the consent page for req carries instead of the
// request's parameters: the request sealed under the server key and bound
// to the actor's session, valid for ConsentTTL. The answer names only this
// handle and the decision, so the scope, client and redirect that were
// shown are the ones the decision applies to.
func (s *Service) ConsentHandle(actor Actor, req AuthorizeRequest) string {
	return s.sealConsent(actor, consentRequest{
		ClientID: req.Client.ID, RequestedRedirect: req.RequestedRedirect, Scope: req.Scope,
		CodeChallenge: req.CodeChallenge, State: req.State, HasState: req.HasState, Nonce: req.Nonce,
	})
}

func (s *Service) sealConsent(actor Actor, c consentRequest) string {
	c.Expires = s.clock().Add(ConsentTTL)
	b, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(s.sealer.Seal(b, []byte("consent:"+actor.Authorization.SessionID)))
}

func (s *Service) openConsent(actor Actor, handle string) (consentRequest, error) {
	var c consentRequest
	sealed, err := base64.RawURLEncoding.DecodeString(handle)
	if err != nil || actor.Authorization.SessionID == "" {
		return c, errConsent
	}
	b, err := s.sealer.Open(sealed, []byte("consent:"+actor.Authorization.SessionID))
	if err != nil || json.Unmarshal(b, &c) != nil || !s.clock().Before(c.Expires) {
		return c, errConsent
	}
	return c, nil
}

// Consent applies the person's answer to the consent page that carried
// handle: the request as it was shown, checked again (the client may have
// changed meanwhile). Allowed, it returns the grant; denied, a nil grant
// and the request, so that the answer can go back to the client.
func (s *Service) Consent(ctx context.Context, actor Actor, handle string, allow bool) (AuthorizeRequest, *AuthorizationInfo, error) {
	c, err := s.openConsent(actor, handle)
	if err != nil || c.DeviceGrantID != "" {
		return AuthorizeRequest{}, nil, errConsent
	}
	req, err := s.CheckAuthorize(ctx, AuthorizeInput{
		ResponseType: "code", ClientID: c.ClientID, RedirectURI: c.RequestedRedirect, Scope: keyhole.JoinScope(c.Scope),
		CodeChallenge: c.CodeChallenge, CodeChallengeMethod: methodOf(c.CodeChallenge), State: c.State, HasState: c.HasState,
		Nonce: c.Nonce,
	})
	if err != nil || !allow {
		return req, nil, err
	}
	info, err := s.Grant(ctx, actor, req)
	if err != nil {
		return req, nil, err
	}
	return req, &info, nil
}

func methodOf(challenge string) string {
	if challenge == "" {
		return ""
	}
	return "S256"
}

// Grant records the actor's consent to a checked authorization request
// and returns its grant code; an OpenID Connect request's code carries the
// actor's sign-in (its browser session's) and the nonce, for the ID token.
func (s *Service) Grant(ctx context.Context, actor Actor, req AuthorizeRequest) (AuthorizationInfo, error) {
	p := GrantParams{ClientID: req.Client.ID, Scope: req.Scope, RedirectURI: req.RequestedRedirect, CodeChallenge: req.CodeChallenge}
	if keyhole.OpenID(req.Scope) {
		p.SignIn = sessionSignIn(actor, req.Nonce)
	}
	return s.CreateGrant(ctx, actor, p)
}

// GrantParams is the input to CreateGrant: an account's consent to a client.
type GrantParams struct {
	ClientID string
	Scope    []string
	// RedirectURI is the redirect_uri the authorization request named, ""
	// when it named none; a token request must then repeat it exactly.
	RedirectURI string
	// CodeChallenge is the S256 PKCE challenge, "" without PKCE.
	CodeChallenge string
	Description   string
	// SignIn is what the code's ID token says of the sign-in. Nil for a
	// request with openid means no browser sign-in is known (the API's
	// POST /oauth/authorizations): the ID token has no auth_time.
	SignIn *keyhole.SignIn
}

// grantAttempts bounds how often CreateGrant looks for the grant again
// when it changed between the look and the write (store.ErrStale): a
// concurrent first grant, or a revocation.
const grantAttempts = 4

// CreateGrant records the actor's consent to a client and returns a
// single-use grant code, valid for GrantTTL. It is what an authorization
// request does once consent is given (or not needed), and POST
// /oauth/authorizations with a client.
//
// An account has one grant per client and scope: the first consent makes
// the authorization, and every later one gives it another code (its
// description stays). Each code's exchange replaces the grant's access and
// refresh tokens, so that the client holds one live pair per account and
// scope; the codes it already redeemed stay until they expire, so that a
// replayed one still revokes the grant. Concurrent requests share the one
// grant and each get a code of their own. A grant lasts until revoked (or
// its tokens expire), whatever becomes of the browser session it was given
// in; one whose codes all expired unused is swept (DeleteUnusedGrants).
func (s *Service) CreateGrant(ctx context.Context, actor Actor, p GrantParams) (AuthorizationInfo, error) {
	acct, err := s.Account(ctx, actor)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	ap := AuthorizationParams{Scope: p.Scope, Description: p.Description}
	if err := ap.validate(); err != nil {
		return AuthorizationInfo{}, err
	}
	if !validID(p.ClientID) {
		return AuthorizationInfo{}, keyhole.NotFoundError("client")
	}
	c, err := s.store.Client(ctx, p.ClientID)
	if err != nil {
		return AuthorizationInfo{}, storeErr(err, "client")
	}
	if c.Public() && p.CodeChallenge == "" {
		return AuthorizationInfo{}, keyhole.Errorf(keyhole.Invalid, "This client is public: it must use PKCE (code_challenge with code_challenge_method=S256).")
	}
	now := s.clock()
	for attempt := 1; ; attempt++ {
		auth, err := s.store.Grant(ctx, acct.ID, c.ID, ap.Scope)
		reuse := err == nil
		switch {
		case reuse:
			auth.UpdatedAt = now
		case isNotFound(err):
			auth = keyhole.Authorization{
				ID: newID(), AccountID: acct.ID, ClientID: c.ID, Scope: ap.Scope,
				Description: p.Description, CreatedAt: now, UpdatedAt: now,
			}
			if auth.Description == "" {
				auth.Description = c.Name
			}
		default:
			return AuthorizationInfo{}, storeErr(err, "authorization")
		}
		code, raw := newToken(auth.ID, keyhole.GrantCode, now, now.Add(GrantTTL))
		code.RedirectURI, code.CodeChallenge, code.SignIn = p.RedirectURI, p.CodeChallenge, p.SignIn
		if code.SignIn == nil && keyhole.OpenID(auth.Scope) {
			code.SignIn = &keyhole.SignIn{}
		}
		ev := s.event(acct.ID, keyhole.EventAuthorizationGrant, actor.origin(), auth.ID, c.Name+": "+keyhole.JoinScope(auth.Scope))
		err = s.store.GrantCode(ctx, auth, reuse, code, ev)
		switch {
		case errors.Is(err, store.ErrStale) && attempt < grantAttempts:
			continue
		case errors.Is(err, store.ErrStale):
			return AuthorizationInfo{}, keyhole.Errorf(keyhole.Conflict, "The authorization changed meanwhile; please try again.")
		case err != nil:
			return AuthorizationInfo{}, storeErr(err, "authorization")
		}
		s.log.InfoContext(ctx, "grant code issued", "account_id", acct.ID, "client_id", c.ID, "authorization_id", auth.ID, "reused", reuse)
		return AuthorizationInfo{Authorization: auth, User: acct, Client: &c, Grant: issued(code, raw)}, nil
	}
}
