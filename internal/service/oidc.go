package service

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/jose"
	"github.com/keyhole/keyhole/internal/keyhole"
)

// OpenID Connect (Core 1.0): the ID token a code exchange or a refresh
// returns when the grant's scope has openid, userinfo, the authorization
// request's prompt, max_age and id_token_hint, and the logout request's
// id_token_hint.

// ClaimsSupported are the claims Keyhole's ID tokens and userinfo carry.
var ClaimsSupported = []string{"iss", "sub", "aud", "exp", "iat", "auth_time", "nonce", "azp", "at_hash", "amr", "sid", "email", "email_verified", "name"}

// PromptValues are the prompt values an authorization request may send.
var PromptValues = []string{"none", "login", "consent", "select_account"}

// maxNonce bounds the nonce a client may send: it comes back in the ID
// token.
const maxNonce = 512

// userClaims are the claims about the person that a grant's scopes allow
// (Core 1.0 §5.4): email and email_verified with email, name with profile.
type userClaims struct {
	Email         string `json:"email,omitempty"`
	EmailVerified *bool  `json:"email_verified,omitempty"`
	Name          string `json:"name,omitempty"`
}

func claimsOf(a keyhole.Account, scope []string) userClaims {
	var c userClaims
	if slices.Contains(scope, keyhole.ScopeEmail) {
		v := a.EmailVerified
		c.Email, c.EmailVerified = a.Email, &v
	}
	if slices.Contains(scope, keyhole.ScopeProfile) {
		c.Name = a.Name
	}
	return c
}

// idClaims are an ID token's claims (Core 1.0 §2).
type idClaims struct {
	Issuer   string   `json:"iss"`
	Subject  string   `json:"sub"`
	Audience string   `json:"aud"`
	Expiry   int64    `json:"exp"`
	IssuedAt int64    `json:"iat"`
	AuthTime int64    `json:"auth_time,omitempty"`
	Nonce    string   `json:"nonce,omitempty"`
	AZP      string   `json:"azp,omitempty"`
	AtHash   string   `json:"at_hash,omitempty"`
	AMR      []string `json:"amr,omitempty"`
	SID      string   `json:"sid,omitempty"`
	userClaims
}

// atHash is the at_hash of an access token (Core 1.0 §3.1.3.6): the left
// half of its SHA-256, base64url, for RS256.
func atHash(access string) string {
	h := sha256.Sum256([]byte(access))
	return base64.RawURLEncoding.EncodeToString(h[:len(h)/2])
}

// idToken signs the ID token of g, an exchange of a grant whose sign-in
// is si (with the nonce only on a grant code's), and records that the
// account signed in to the client, from o (the client's request). It
// answers "" when g's scope has no openid.
func (s *Service) idToken(ctx context.Context, g TokenGrant, si *keyhole.SignIn, o Origin) (string, error) {
	if si == nil || !keyhole.OpenID(g.Scope) || g.Authorization.AccountID == "" {
		return "", nil
	}
	a, err := s.store.Account(ctx, g.Authorization.AccountID)
	if err != nil {
		return "", storeErr(err, "account")
	}
	now := s.clock()
	c := idClaims{
		Issuer: s.issuer, Subject: a.ID, Audience: g.Client.ID, AZP: g.Client.ID,
		IssuedAt: now.Unix(), Expiry: now.Add(IDTokenTTL).Unix(),
		Nonce: si.Nonce, AMR: si.AMR, SID: si.SessionID,
		AtHash: atHash(g.Access.Value.Reveal()), userClaims: claimsOf(a, g.Scope),
	}
	if !si.AuthTime.IsZero() {
		c.AuthTime = si.AuthTime.Unix()
	}
	raw, err := s.signJWT(ctx, c, "")
	if err != nil {
		return "", err
	}
	s.record(ctx, s.event(a.ID, keyhole.EventIDTokenIssued, o, g.Authorization.ID, g.Client.Name))
	s.rec.Issued("id_token")
	return raw, nil
}

// UserInfo is the userinfo answer (Core 1.0 §5.3.2): the subject and the
// claims the token's scopes allow.
type UserInfo struct {
	Subject string `json:"sub"`
	userClaims
}

// errInsufficientScope is userinfo's answer to a live token without openid.
var errInsufficientScope = keyhole.Errorf(keyhole.Forbidden, "This token was not granted the openid scope.")

// UserInfo answers userinfo for a bearer access token presented from ip:
// Unauthorized for a token that is not a live access token (a refresh
// token, a grant code, a revoked or expired token), Forbidden for one
// without openid (an API key, a Platform API grant) or of a client acting
// as itself.
func (s *Service) UserInfo(ctx context.Context, raw, ip string) (UserInfo, error) {
	actor, err := s.VerifyTokenFrom(ctx, raw, ip)
	if err != nil {
		return UserInfo{}, err
	}
	if !slices.Contains(actor.Scope, keyhole.ScopeOpenID) || actor.AccountID == "" {
		return UserInfo{}, errInsufficientScope
	}
	a, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		if isNotFound(err) {
			return UserInfo{}, errBadToken
		}
		return UserInfo{}, storeErr(err, "account")
	}
	return UserInfo{Subject: a.ID, userClaims: claimsOf(a, actor.Scope)}, nil
}

// hintClaims are what an id_token_hint is read for.
type hintClaims struct {
	Issuer   string          `json:"iss"`
	Subject  string          `json:"sub"`
	Audience json.RawMessage `json:"aud"`
	SID      string          `json:"sid"`
}

func (h hintClaims) audiences() []string {
	var one string
	if json.Unmarshal(h.Audience, &one) == nil {
		return []string{one}
	}
	var many []string
	_ = json.Unmarshal(h.Audience, &many)
	return many
}

// IDTokenHint is an ID token Keyhole issued, presented back to it.
type IDTokenHint struct {
	Subject, ClientID, SessionID string
}

var errHint = keyhole.Errorf(keyhole.Invalid, "The id_token_hint is not an ID token Keyhole issued.")

// readHint checks an ID token presented back as a hint: signed by one of
// the published keys, issued here, to one client (clientID, when not "").
// It may have expired (Core 1.0 §3.1.2.1: the hint need not be live).
func (s *Service) readHint(ctx context.Context, raw, clientID string) (IDTokenHint, error) {
	payload, err := s.verifyJWT(ctx, raw)
	switch {
	case errors.Is(err, jose.ErrSignature):
		return IDTokenHint{}, errHint
	case err != nil:
		return IDTokenHint{}, err
	}
	var c hintClaims
	if json.Unmarshal(payload, &c) != nil || c.Issuer != s.issuer || c.Subject == "" {
		return IDTokenHint{}, errHint
	}
	aud := c.audiences()
	if len(aud) != 1 || (clientID != "" && aud[0] != clientID) {
		return IDTokenHint{}, keyhole.Errorf(keyhole.Invalid, "The id_token_hint was issued to another client.")
	}
	return IDTokenHint{Subject: c.Subject, ClientID: aud[0], SessionID: c.SID}, nil
}

// prompt is an authorization request's prompt parameter, read.
type prompt struct{ none, login, consent bool }

func parsePrompt(raw string) (prompt, error) {
	var p prompt
	values := strings.Fields(raw)
	for _, v := range values {
		switch v {
		case "none":
			p.none = true
		case "login", "select_account":
			// One account per browser: choosing another is signing in again.
			p.login = true
		case "consent":
			p.consent = true
		default:
			return p, keyhole.Errorf(keyhole.Invalid, "Unknown prompt value %s: use none, login, consent or select_account.", quote(clipText(v, 40)))
		}
	}
	if p.none && len(values) > 1 {
		return p, keyhole.Errorf(keyhole.Invalid, "prompt=none cannot be combined with other prompt values.")
	}
	return p, nil
}

// maxMaxAge bounds max_age: ten years is "any sign-in".
const maxMaxAge = 10 * 365 * 24 * 3600

func parseMaxAge(raw string) (time.Duration, error) {
	n, err := strconv.Atoi(raw)
	if err != nil || n < 0 {
		return 0, keyhole.Errorf(keyhole.Invalid, "max_age must be a whole number of seconds, 0 or more.")
	}
	return time.Duration(min(n, maxMaxAge)) * time.Second, nil
}

// checkOpenID checks the OpenID Connect parameters of an authorization
// request whose client and redirect URI checked out.
func (s *Service) checkOpenID(ctx context.Context, in AuthorizeInput, req *AuthorizeRequest) error {
	switch {
	case in.HasRequest:
		return keyhole.Errorf(keyhole.RequestNotSupported, "Request objects are not supported: send the parameters as such.")
	case in.HasRequestURI:
		return keyhole.Errorf(keyhole.RequestURINotSupported, "request_uri is not supported: send the parameters as such.")
	case len(in.Nonce) > maxNonce:
		return keyhole.Errorf(keyhole.Invalid, "The nonce is too long (at most %d characters).", maxNonce)
	}
	p, err := parsePrompt(in.Prompt)
	if err != nil {
		return err
	}
	req.Nonce, req.LoginHint = in.Nonce, clipText(in.LoginHint, 254)
	req.PromptNone, req.PromptLogin, req.PromptConsent = p.none, p.login, p.consent
	req.MaxAge = -1
	if in.HasMaxAge {
		age, err := parseMaxAge(in.MaxAge)
		if err != nil {
			return err
		}
		req.MaxAge = age
	}
	if in.IDTokenHint != "" {
		h, err := s.readHint(ctx, in.IDTokenHint, req.Client.ID)
		if err != nil {
			return err
		}
		req.HintSubject = h.Subject
	}
	return nil
}

// AuthorizeStep is what an authorization request needs next.
type AuthorizeStep int

const (
	// StepSignIn: the person must sign in (again) first.
	StepSignIn AuthorizeStep = iota
	// StepConsent: the consent page must be shown.
	StepConsent
	// StepGrant: the code can be issued at once.
	StepGrant
)

var (
	errLoginRequired   = keyhole.Errorf(keyhole.LoginRequired, "The person must sign in, and prompt=none forbids asking.")
	errConsentRequired = keyhole.Errorf(keyhole.ConsentRequired, "The person has not authorized this application, and prompt=none forbids asking.")
)

// NextStep decides what a checked authorization request needs, given the
// browser's session (nil when nobody is signed in): a sign-in when there
// is none, when prompt=login asks for one, when the last one is older
// than max_age or is not the person the id_token_hint names; then the
// consent page unless consent exists (NeedsConsent) and prompt=consent
// does not ask for it again. With prompt=none, a step that would show a
// page is LoginRequired or ConsentRequired instead (Core 1.0 §3.1.2.6).
func (s *Service) NextStep(ctx context.Context, req AuthorizeRequest, actor Actor, sess *keyhole.Session) (AuthorizeStep, error) {
	// max_age=0 asks for a sign-in now, as prompt=login does (the
	// elapsed time is never more than 0 at the instant of a sign-in).
	signIn := sess == nil || req.PromptLogin || req.MaxAge == 0 ||
		(req.MaxAge > 0 && s.clock().Sub(sess.CreatedAt) > req.MaxAge) ||
		(req.HintSubject != "" && req.HintSubject != sess.AccountID)
	switch {
	case signIn && req.PromptNone:
		return StepSignIn, errLoginRequired
	case signIn:
		return StepSignIn, nil
	}
	need := req.PromptConsent
	if !need {
		var err error
		if need, err = s.NeedsConsent(ctx, actor, req.Client, req.Scope); err != nil {
			return StepConsent, err
		}
	}
	switch {
	case need && req.PromptNone:
		return StepConsent, errConsentRequired
	case need:
		return StepConsent, nil
	}
	return StepGrant, nil
}

// AfterSignIn returns the parameters of an authorization request that sent
// the person to sign in, to come back with once signed in: without what
// asked for the sign-in (prompt=login, max_age, id_token_hint), which the
// sign-in just answered and which would otherwise ask again. The ID token
// tells the client when the sign-in was (auth_time).
func AfterSignIn(params map[string]string) map[string]string {
	out := make(map[string]string, len(params))
	for k, v := range params {
		switch k {
		case "max_age", "id_token_hint":
			continue
		case "prompt":
			var keep []string
			for _, p := range strings.Fields(v) {
				if p != "login" && p != "select_account" {
					keep = append(keep, p)
				}
			}
			if len(keep) == 0 {
				continue
			}
			v = strings.Join(keep, " ")
		}
		out[k] = v
	}
	return out
}

// sessionSignIn is the sign-in an actor's browser session describes.
func sessionSignIn(actor Actor, nonce string) *keyhole.SignIn {
	return &keyhole.SignIn{AuthTime: actor.SignedInAt, AMR: actor.AMR, SessionID: actor.Authorization.SessionID, Nonce: nonce}
}

// The sign-in methods of RFC 8176 a browser session records.
var (
	amrPassword  = []string{"pwd"}
	amrTwoFactor = []string{"pwd", "otp", "mfa"}
)

// LogoutInput is an RP-Initiated Logout 1.0 request (§2), as received.
type LogoutInput struct {
	IDTokenHint, ClientID, PostLogoutRedirectURI, State string
	HasState                                            bool
}

// LogoutRequest is a logout request, checked.
type LogoutRequest struct {
	// Client is the client that asked, when known (the hint's audience or
	// client_id); nil otherwise.
	Client *keyhole.Client
	// RedirectURI is where the browser goes once signed out: the
	// post_logout_redirect_uri, registered for Client; "" for Keyhole's
	// own signed-out page.
	RedirectURI string
	State       string
	HasState    bool
	// Hint is the id_token_hint, read; nil without one.
	Hint *IDTokenHint
}

// Identifies reports whether the request's id_token_hint names the
// account signed in with sess: then it needs no confirmation.
func (l LogoutRequest) Identifies(sess keyhole.Session) bool {
	return l.Hint != nil && l.Hint.Subject == sess.AccountID
}

// CheckLogout checks a logout request. Every error is for a page, never
// a redirect: an id_token_hint not issued here or issued to another
// client than client_id, a post_logout_redirect_uri without a client to
// check it against, or not registered for that client (exactly as
// registered: its redirect URI or one of its post-logout URIs).
func (s *Service) CheckLogout(ctx context.Context, in LogoutInput) (LogoutRequest, error) {
	var l LogoutRequest
	if len(in.State) > maxState {
		return l, keyhole.Errorf(keyhole.Invalid, "The state parameter is too long.")
	}
	clientID := in.ClientID
	if clientID != "" && !validID(clientID) {
		return l, keyhole.Errorf(keyhole.Invalid, "Unknown OAuth client.")
	}
	if in.IDTokenHint != "" {
		h, err := s.readHint(ctx, in.IDTokenHint, clientID)
		if err != nil {
			return l, err
		}
		l.Hint, clientID = &h, h.ClientID
	}
	if clientID != "" {
		c, err := s.store.Client(ctx, clientID)
		switch {
		case isNotFound(err):
			return l, keyhole.Errorf(keyhole.Invalid, "Unknown OAuth client.")
		case err != nil:
			return l, storeErr(err, "client")
		}
		l.Client = &c
	}
	if in.PostLogoutRedirectURI == "" {
		return l, nil
	}
	switch {
	case l.Client == nil:
		return l, keyhole.Errorf(keyhole.Invalid, "A post_logout_redirect_uri needs an id_token_hint or a client_id naming the application it belongs to.")
	case in.PostLogoutRedirectURI != l.Client.RedirectURI && !slices.Contains(l.Client.PostLogoutRedirectURIs, in.PostLogoutRedirectURI):
		return l, keyhole.Errorf(keyhole.Invalid, "The post_logout_redirect_uri is not registered for %s.", l.Client.Name)
	}
	l.RedirectURI, l.State, l.HasState = in.PostLogoutRedirectURI, in.State, in.HasState
	return l, nil
}
