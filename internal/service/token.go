package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"regexp"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// Grant types of the token exchange.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
	GrantClientCredentials = "client_credentials"
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
)

// GrantParams is the input to CreateGrant: an account's consent to a client.
type GrantParams struct {
	ClientID string
	Scope    []string
	// RedirectURI is the redirect_uri the authorization request named, ""
	// when it named none; a token request must then repeat it exactly.
	RedirectURI string
	// CodeChallenge is the S256 PKCE challenge, "" without PKCE.
	CodeChallenge string
	SessionID     string
	Description   string
}

// CreateGrant records the actor's consent to a client: a new authorization
// whose only token is a single-use grant code, valid for GrantTTL. It is what
// the consent page's Allow does, and POST /oauth/authorizations with a
// client.
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
	auth := keyhole.Authorization{
		ID: newID(), AccountID: acct.ID, ClientID: c.ID, SessionID: p.SessionID, Scope: ap.Scope,
		Description: p.Description, CreatedAt: now, UpdatedAt: now,
	}
	if auth.Description == "" {
		auth.Description = c.Name
	}
	code, raw := s.newToken(auth.ID, keyhole.GrantCode, now, GrantTTL)
	code.RedirectURI, code.CodeChallenge = p.RedirectURI, p.CodeChallenge
	if err := s.store.CreateAuthorization(ctx, auth, []keyhole.Token{code}); err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	s.log.InfoContext(ctx, "grant created", "account_id", acct.ID, "client_id", c.ID, "authorization_id", auth.ID)
	return AuthorizationInfo{Authorization: auth, User: acct, Client: &c, Grant: issued(code, raw)}, nil
}

// TokenRequest is a token exchange as the OAuth token endpoint (RFC 6749
// §4.1.3, §6) and the API's POST /oauth/tokens make it.
type TokenRequest struct {
	GrantType string
	// ClientID may be "" when the client is known from the code or refresh
	// token (Heroku clients send only the secret).
	ClientID     string
	ClientSecret string
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	// Scope optionally narrows a refresh; it may not exceed the grant.
	Scope []string
}

// TokenGrant is the outcome of a successful exchange.
type TokenGrant struct {
	Authorization keyhole.Authorization
	Client        keyhole.Client
	Access        IssuedToken
	Refresh       *IssuedToken
}

// errGrant is the one answer for a code or refresh token that is unknown,
// expired, used, or not the client's: RFC 6749 §5.2 invalid_grant.
var errGrant = keyhole.Errorf(keyhole.InvalidGrant, "The grant is invalid, expired, already used or was issued to another client.")

// Exchange redeems a grant code or a refresh token for tokens. A request
// that fails changes nothing (x/oauth2 retries every failed request once
// with the other client authentication style), except that the replay of a
// used code, or of a rotated refresh token after the grace, revokes the
// whole authorization: someone other than the client has it.
func (s *Service) Exchange(ctx context.Context, req TokenRequest) (TokenGrant, error) {
	switch req.GrantType {
	case GrantAuthorizationCode:
		return s.exchangeCode(ctx, req)
	case GrantRefreshToken:
		return s.refresh(ctx, req)
	case "":
		return TokenGrant{}, keyhole.Errorf(keyhole.Invalid, "grant_type is required.")
	default:
		return TokenGrant{}, keyhole.Errorf(keyhole.Invalid, "Unsupported grant type %s.", quote(req.GrantType))
	}
}

// lookupGrant finds the code or refresh token raw of kind, without using it,
// and the client it was issued to, and authenticates that client.
func (s *Service) lookupGrant(ctx context.Context, req TokenRequest, raw string, kind keyhole.TokenKind, typ token.Type) (keyhole.Token, keyhole.Authorization, keyhole.Client, error) {
	var client keyhole.Client
	if req.ClientID != "" {
		c, err := s.AuthenticateClient(ctx, req.ClientID, req.ClientSecret)
		if err != nil {
			return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, err
		}
		client = c
	}
	if t, err := token.Parse(raw); err != nil || t != typ {
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, errGrant
	}
	t, auth, err := s.store.TokenByHash(ctx, token.Hash(raw))
	switch {
	case isNotFound(err):
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, errGrant
	case err != nil:
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, storeErr(err, "token")
	case t.Kind != kind || auth.ClientID == "":
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, errGrant
	}
	if req.ClientID == "" {
		c, err := s.AuthenticateClient(ctx, auth.ClientID, req.ClientSecret)
		if err != nil {
			return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, err
		}
		client = c
	}
	if auth.ClientID != client.ID {
		s.log.WarnContext(ctx, "grant presented by another client", "client_id", client.ID, "authorization_id", auth.ID)
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, errGrant
	}
	return t, auth, client, nil
}

var errClient = keyhole.Errorf(keyhole.InvalidClient, "Client authentication failed.")

// AuthenticateClient checks a client's credentials: a confidential client
// must present its current secret; a public client presents none.
func (s *Service) AuthenticateClient(ctx context.Context, clientID, secret string) (keyhole.Client, error) {
	if !validID(clientID) {
		return keyhole.Client{}, errClient
	}
	c, err := s.store.Client(ctx, clientID)
	if err != nil {
		if isNotFound(err) {
			return keyhole.Client{}, errClient
		}
		return keyhole.Client{}, storeErr(err, "client")
	}
	if c.Public() {
		if secret != "" {
			return keyhole.Client{}, errClient
		}
		return c, nil
	}
	if secret == "" || subtle.ConstantTimeCompare([]byte(token.Hash(secret)), []byte(c.SecretHash)) != 1 {
		return keyhole.Client{}, errClient
	}
	return c, nil
}

var verifierPattern = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// S256 returns the PKCE challenge of a verifier (RFC 7636 §4.2).
func S256(verifier string) string {
	h := sha256.Sum256([]byte(verifier))
	return base64.RawURLEncoding.EncodeToString(h[:])
}

func (s *Service) exchangeCode(ctx context.Context, req TokenRequest) (TokenGrant, error) {
	if req.Code == "" {
		return TokenGrant{}, keyhole.Errorf(keyhole.Invalid, "code is required.")
	}
	code, auth, client, err := s.lookupGrant(ctx, req, req.Code, keyhole.GrantCode, token.Code)
	if err != nil {
		return TokenGrant{}, err
	}
	now := s.clock()
	if !code.UsedAt.IsZero() {
		return TokenGrant{}, s.revokeReplayed(ctx, auth, "grant code replayed")
	}
	switch {
	case code.Expired(now):
		return TokenGrant{}, errGrant
	case code.RedirectURI != "" && req.RedirectURI != code.RedirectURI:
		return TokenGrant{}, keyhole.Errorf(keyhole.InvalidGrant, "redirect_uri does not match the one of the authorization request.")
	case code.CodeChallenge == "" && req.CodeVerifier != "":
		return TokenGrant{}, keyhole.Errorf(keyhole.InvalidGrant, "code_verifier was sent, but the authorization request had no code_challenge.")
	case code.CodeChallenge != "" && !verifierPattern.MatchString(req.CodeVerifier):
		return TokenGrant{}, keyhole.Errorf(keyhole.InvalidGrant, "code_verifier is missing or malformed.")
	case code.CodeChallenge != "" && subtle.ConstantTimeCompare([]byte(S256(req.CodeVerifier)), []byte(code.CodeChallenge)) != 1:
		return TokenGrant{}, keyhole.Errorf(keyhole.InvalidGrant, "code_verifier does not match the code_challenge.")
	}
	if _, err := s.store.UseToken(ctx, code.Hash, keyhole.GrantCode, now); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return TokenGrant{}, s.revokeReplayed(ctx, auth, "grant code replayed concurrently")
		}
		if isNotFound(err) {
			return TokenGrant{}, errGrant
		}
		return TokenGrant{}, storeErr(err, "token")
	}
	return s.issuePair(ctx, auth, client, now)
}

func (s *Service) refresh(ctx context.Context, req TokenRequest) (TokenGrant, error) {
	if req.RefreshToken == "" {
		return TokenGrant{}, keyhole.Errorf(keyhole.Invalid, "refresh_token is required.")
	}
	rt, auth, client, err := s.lookupGrant(ctx, req, req.RefreshToken, keyhole.RefreshToken, token.Refresh)
	if err != nil {
		return TokenGrant{}, err
	}
	now := s.clock()
	if rt.Expired(now) {
		return TokenGrant{}, errGrant
	}
	for _, sc := range req.Scope {
		if !keyhole.ValidScope(sc) || !keyhole.Grants(auth.Scope, sc) {
			return TokenGrant{}, keyhole.Errorf(keyhole.InvalidScope, "The scope %s exceeds what the account granted.", quote(sc))
		}
	}
	if rt.UsedAt.IsZero() {
		used, err := s.store.UseToken(ctx, rt.Hash, keyhole.RefreshToken, now)
		switch {
		case errors.Is(err, store.ErrConflict):
			rt = used
		case isNotFound(err):
			return TokenGrant{}, errGrant
		case err != nil:
			return TokenGrant{}, storeErr(err, "token")
		}
	}
	if !rt.UsedAt.IsZero() && now.Sub(rt.UsedAt) > s.refreshGrace {
		return TokenGrant{}, s.revokeReplayed(ctx, auth, "rotated refresh token reused")
	}
	return s.issuePair(ctx, auth, client, now)
}

// revokeReplayed deletes an authorization whose code or refresh token came
// back after use, and answers invalid_grant.
func (s *Service) revokeReplayed(ctx context.Context, auth keyhole.Authorization, why string) error {
	if err := s.store.DeleteAuthorization(ctx, auth.ID); err != nil && !isNotFound(err) {
		return storeErr(err, "authorization")
	}
	s.log.WarnContext(ctx, "authorization revoked: "+why, "account_id", auth.AccountID, "client_id", auth.ClientID, "authorization_id", auth.ID)
	return errGrant
}

// issuePair gives an authorization a new access token and refresh token; the
// previous live ones stop working.
func (s *Service) issuePair(ctx context.Context, auth keyhole.Authorization, client keyhole.Client, now time.Time) (TokenGrant, error) {
	access, rawAccess := s.newToken(auth.ID, keyhole.AccessToken, now, s.accessTTL)
	var idle time.Duration
	if client.Public() {
		idle = PublicRefreshIdle
	}
	refresh, rawRefresh := s.newToken(auth.ID, keyhole.RefreshToken, now, idle)
	if err := s.store.ReplaceTokens(ctx, auth.ID, []keyhole.Token{access, refresh}); err != nil {
		if isNotFound(err) {
			return TokenGrant{}, errGrant // revoked meanwhile
		}
		return TokenGrant{}, storeErr(err, "token")
	}
	return TokenGrant{Authorization: auth, Client: client, Access: *issued(access, rawAccess), Refresh: issued(refresh, rawRefresh)}, nil
}
