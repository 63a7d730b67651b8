package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"regexp"
	"time"

	"github.com/google/uuid"

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

// ClientCredentials issues an access token to a client acting as itself
// (RFC 6749 §4.4): no account, no refresh token. Each client has one such
// authorization, whose token is replaced at every request.
func (s *Service) ClientCredentials(ctx context.Context, clientID, secret string, scope []string) (TokenGrant, error) {
	c, err := s.AuthenticateClient(ctx, clientID, secret)
	if err != nil {
		return TokenGrant{}, err
	}
	if c.Public() {
		return TokenGrant{}, keyhole.Errorf(keyhole.UnauthorizedClient, "A public client cannot use the client_credentials grant.")
	}
	// A client acting as itself owns no account resources: of the scopes,
	// only what concerns no account could mean anything, so it gets exactly
	// what it asks for, validated, and the API finds no account behind it.
	scope, err = keyhole.CheckScopes(scope, keyhole.ClientScope)
	if err != nil {
		return TokenGrant{}, err
	}
	now := s.clock()
	auth := keyhole.Authorization{
		// One deterministic id per client, so that repeated requests reuse it.
		ID:       uuid.NewSHA1(uuid.NameSpaceOID, []byte("keyhole:client-credentials:"+c.ID)).String(),
		ClientID: c.ID, Scope: scope, Description: c.Name + " (client credentials)",
		CreatedAt: now, UpdatedAt: now,
	}
	access, raw := s.newToken(auth.ID, keyhole.AccessToken, now, s.accessTTL)
	for range 3 {
		err = s.store.ReplaceTokens(ctx, auth.ID, []keyhole.Token{access})
		if isNotFound(err) {
			err = s.store.CreateAuthorization(ctx, auth, []keyhole.Token{access})
			if errors.Is(err, store.ErrConflict) {
				continue // created meanwhile: replace its token
			}
		}
		break
	}
	if err != nil {
		return TokenGrant{}, storeErr(err, "authorization")
	}
	if existing, err := s.store.Authorization(ctx, auth.ID); err == nil {
		auth = existing
	}
	return TokenGrant{Authorization: auth, Client: c, Access: *issued(access, raw)}, nil
}

// RegenerateTokens replaces an authorization's access token (and refresh
// token, when it has one) with new ones; the old ones stop working at once.
func (s *Service) RegenerateTokens(ctx context.Context, actor Actor, id string) (AuthorizationInfo, error) {
	auth, err := s.ownAuthorization(ctx, actor, id)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	old, err := s.authorizationInfo(ctx, auth, nil)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	now := s.clock()
	// Keep the lifetime the authorization was created with, even when its
	// last access token has already expired.
	all, err := s.store.Tokens(ctx, auth.ID)
	if err != nil {
		return AuthorizationInfo{}, storeErr(err, "token")
	}
	var ttl time.Duration
	for _, t := range all {
		if t.Kind == keyhole.AccessToken {
			ttl = 0
			if !t.ExpiresAt.IsZero() {
				ttl = t.ExpiresAt.Sub(t.CreatedAt)
			}
		}
	}
	access, rawAccess := s.newToken(auth.ID, keyhole.AccessToken, now, ttl)
	if auth.Default {
		access.Sealed = s.sealer.Seal([]byte(rawAccess.Reveal()), []byte(auth.ID))
	}
	tokens := []keyhole.Token{access}
	info := old
	info.Access = issued(access, rawAccess)
	if old.Refresh != nil {
		refresh, rawRefresh := s.newToken(auth.ID, keyhole.RefreshToken, now, 0)
		tokens = append(tokens, refresh)
		info.Refresh = issued(refresh, rawRefresh)
	}
	if err := s.store.ReplaceTokens(ctx, auth.ID, tokens); err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	info.UpdatedAt = now
	return info, nil
}

// IssuedToken is a token as an authorization shows it. Value is set only
// in the answer that issued it; afterwards only Hint (prefix…suffix) is
// known, because the server keeps a hash.
type IssuedToken struct {
	ID        string
	Value     token.Secret
	Hint      string
	ExpiresAt time.Time // zero: never
	CreatedAt time.Time
}

// Shown returns the full token when it was just issued, else its hint.
func (t IssuedToken) Shown() string {
	if t.Value != "" {
		return t.Value.Reveal()
	}
	return t.Hint
}

// newToken mints a token of kind for an authorization; ttl 0 means it never
// expires.
func (s *Service) newToken(authID string, kind keyhole.TokenKind, now time.Time, ttl time.Duration) (keyhole.Token, token.Secret) {
	typ := map[keyhole.TokenKind]token.Type{
		keyhole.AccessToken: token.Access, keyhole.RefreshToken: token.Refresh, keyhole.GrantCode: token.Code,
	}[kind]
	raw := token.New(typ)
	t := keyhole.Token{
		ID: newID(), AuthorizationID: authID, Kind: kind,
		Hash: token.Hash(raw.Reveal()), Hint: token.Hint(raw.Reveal()), CreatedAt: now,
	}
	if ttl > 0 {
		t.ExpiresAt = now.Add(ttl)
	}
	return t, raw
}

func issued(t keyhole.Token, raw token.Secret) *IssuedToken {
	return &IssuedToken{ID: t.ID, Value: raw, Hint: t.Hint, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt}
}
