package service

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"regexp"
	"slices"
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
	// Client authenticates the request. Its ID may be "" when the client
	// is known from the code or refresh token (Heroku clients send only
	// the secret).
	Client       ClientAuth
	Code         string
	RedirectURI  string
	CodeVerifier string
	RefreshToken string
	// Scope optionally narrows a refresh (RFC 6749 §6); it may not exceed
	// what the refresh token was issued with.
	Scope []string
}

// TokenGrant is the outcome of a successful exchange.
type TokenGrant struct {
	Authorization keyhole.Authorization
	Client        keyhole.Client
	// Scope is what the access token may do.
	Scope   []string
	Access  IssuedToken
	Refresh *IssuedToken
	// IDToken is the OpenID Connect ID token, "" unless the grant's scope
	// has openid.
	IDToken string
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

func issued(t keyhole.Token, raw token.Secret) *IssuedToken {
	return &IssuedToken{ID: t.ID, Value: raw, Hint: t.Hint, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt}
}

// issue describes the tokens an authorization is given.
type issue struct {
	auth keyhole.Authorization
	// client is the authorization's client; nil for a direct one.
	client *keyhole.Client
	// scope is the tokens' own scope, narrower than the authorization's;
	// nil means the authorization's.
	scope []string
	// ttl is the access token's life; 0: it never expires.
	ttl time.Duration
	// refresh adds a refresh token.
	refresh bool
	// seal keeps the access token sealed, so it can be revealed (the API key).
	seal bool
	// until is when the login session the authorization was made through
	// ends: no token outlives it. Zero: no session.
	until time.Time
	// signIn is the OpenID Connect sign-in the refresh token carries on,
	// for the ID tokens of its refreshes; nil without one.
	signIn *keyhole.SignIn
}

// mint makes an authorization's tokens: every grant (code, refresh,
// device, client credentials, regenerate, login) issues through it, so
// that lifetimes are decided here alone. A public client's refresh token
// lives PublicRefreshIdle; a confidential client's never expires.
func (s *Service) mint(now time.Time, in issue) ([]keyhole.Token, TokenGrant) {
	life := func(ttl time.Duration) time.Time {
		var at time.Time
		if ttl > 0 {
			at = now.Add(ttl)
		}
		if !in.until.IsZero() && (at.IsZero() || at.After(in.until)) {
			at = in.until
		}
		return at
	}
	g := TokenGrant{Authorization: in.auth, Scope: in.scope}
	if g.Scope == nil {
		g.Scope = in.auth.Scope
	}
	if in.client != nil {
		g.Client = *in.client
	}
	access, raw := newToken(in.auth.ID, keyhole.AccessToken, now, life(in.ttl))
	access.Scope = in.scope
	if in.seal {
		access.Sealed = s.sealer.Seal([]byte(raw.Reveal()), []byte(in.auth.ID))
	}
	tokens := []keyhole.Token{access}
	g.Access = *issued(access, raw)
	if in.refresh {
		var idle time.Duration
		if in.client != nil && in.client.Public() {
			idle = PublicRefreshIdle
		}
		refresh, raw := newToken(in.auth.ID, keyhole.RefreshToken, now, life(idle))
		refresh.Scope = in.scope
		if in.signIn != nil {
			// A refreshed ID token has no nonce (Core 1.0 §12.2).
			si := *in.signIn
			si.Nonce = ""
			refresh.SignIn = &si
		}
		tokens = append(tokens, refresh)
		g.Refresh = issued(refresh, raw)
	}
	return tokens, g
}

// newToken makes a token of kind for an authorization, expiring at
// expires (zero: never).
// Its id is time-ordered (UUIDv7), so that the database appends new
// tokens to its id index instead of writing a page anywhere in it; the
// id names a row and is no secret.
func newToken(authID string, kind keyhole.TokenKind, now, expires time.Time) (keyhole.Token, token.Secret) {
	raw := token.New(tokenType[kind])
	return keyhole.Token{
		ID: uuid.Must(uuid.NewV7()).String(), AuthorizationID: authID, Kind: kind,
		Hash: token.Hash(raw.Reveal()), Hint: token.Hint(raw.Reveal()), CreatedAt: now, ExpiresAt: expires,
	}, raw
}

var tokenType = map[keyhole.TokenKind]token.Type{
	keyhole.AccessToken: token.Access, keyhole.RefreshToken: token.Refresh, keyhole.GrantCode: token.Code,
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

// lookupGrant finds the code or refresh token raw of kind, without using
// it, and the client it was issued to, and authenticates that client.
func (s *Service) lookupGrant(ctx context.Context, req TokenRequest, raw string, kind keyhole.TokenKind, typ token.Type) (keyhole.Token, keyhole.Authorization, keyhole.Client, error) {
	fail := func(err error) (keyhole.Token, keyhole.Authorization, keyhole.Client, error) {
		return keyhole.Token{}, keyhole.Authorization{}, keyhole.Client{}, err
	}
	var client keyhole.Client
	if req.Client.ID != "" {
		c, err := s.AuthenticateClient(ctx, req.Client)
		if err != nil {
			return fail(err)
		}
		client = c
	}
	if t, err := token.Parse(raw); err != nil || t != typ {
		return fail(errGrant)
	}
	t, auth, err := s.store.TokenByHash(ctx, token.Hash(raw))
	switch {
	case isNotFound(err):
		return fail(errGrant)
	case err != nil:
		return fail(storeErr(err, "token"))
	case t.Kind != kind || auth.ClientID == "":
		return fail(errGrant)
	}
	if req.Client.ID == "" {
		ca := req.Client
		ca.ID = auth.ClientID
		c, err := s.AuthenticateClient(ctx, ca)
		if err != nil {
			return fail(err)
		}
		client = c
	}
	if auth.ClientID != client.ID {
		s.log.WarnContext(ctx, "grant presented by another client", "client_id", client.ID, "authorization_id", auth.ID)
		return fail(errGrant)
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
	tokens, g := s.mint(now, issue{auth: auth, client: &client, ttl: s.accessTTL, refresh: true, signIn: code.SignIn})
	if err := s.store.ReplaceTokens(ctx, auth.ID, tokens); err != nil {
		if isNotFound(err) {
			return TokenGrant{}, errGrant // revoked meanwhile
		}
		return TokenGrant{}, storeErr(err, "token")
	}
	s.rec.Issued(GrantAuthorizationCode)
	if code.SignIn != nil {
		if g.IDToken, err = s.idToken(ctx, g, code.SignIn, Origin{IP: req.Client.IP}); err != nil {
			return TokenGrant{}, err
		}
	}
	return g, nil
}

// successor is a rotation's answer as kept, sealed, for the grace: what a
// repeat of the same refresh token is answered again.
type successor struct {
	Scope   []string    `json:"scope"`
	Access  sealedToken `json:"access"`
	Refresh sealedToken `json:"refresh"`
}

type sealedToken struct {
	ID        string    `json:"id"`
	Value     string    `json:"value"`
	Hint      string    `json:"hint"`
	ExpiresAt time.Time `json:"expires_at"`
	CreatedAt time.Time `json:"created_at"`
}

func sealable(t IssuedToken) sealedToken {
	return sealedToken{ID: t.ID, Value: t.Value.Reveal(), Hint: t.Hint, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt}
}

func (t sealedToken) issued() IssuedToken {
	return IssuedToken{ID: t.ID, Value: token.Secret(t.Value), Hint: t.Hint, ExpiresAt: t.ExpiresAt, CreatedAt: t.CreatedAt}
}

// refresh rotates a refresh token (RFC 6749 §6, RFC 9700 §4.14.2). The
// database decides, by its own clock, whether this is the token's first
// use (a new pair), a repeat within the grace (the same pair again, so
// that concurrent or retried refreshes all get working tokens, if it asks
// for the scope the first use got; invalid_scope otherwise) or a reuse
// after it (the whole authorization is revoked: someone else has it).
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
	scope := rt.Scope
	if len(req.Scope) > 0 {
		want, err := keyhole.CheckScopes(req.Scope, nil)
		if err != nil {
			return TokenGrant{}, err
		}
		if !keyhole.Covers(rt.ScopeOf(auth), want) {
			return TokenGrant{}, keyhole.Errorf(keyhole.InvalidScope, "The scope %s exceeds what this refresh token was granted (%s).",
				quote(keyhole.JoinScope(want)), keyhole.JoinScope(rt.ScopeOf(auth)))
		}
		scope = want
	}
	tokens, g := s.mint(now, issue{auth: auth, client: &client, scope: scope, ttl: s.accessTTL, refresh: true, signIn: rt.SignIn})
	plain, err := json.Marshal(successor{Scope: g.Scope, Access: sealable(g.Access), Refresh: sealable(*g.Refresh)})
	if err != nil {
		return TokenGrant{}, storeErr(err, "token")
	}
	res, err := s.store.RotateRefreshToken(ctx, store.Rotation{
		Hash: rt.Hash, Grace: s.refreshGrace, Retain: ReuseHorizon, Keep: KeepRotated,
		Next: tokens, Successor: s.sealer.Seal(plain, []byte(rt.Hash)),
	})
	switch {
	case isNotFound(err):
		return TokenGrant{}, errGrant // revoked meanwhile
	case err != nil:
		return TokenGrant{}, storeErr(err, "token")
	}
	switch res.Outcome {
	case store.Rotated:
		s.rec.Issued(GrantRefreshToken)
		if g.IDToken, err = s.idToken(ctx, g, rt.SignIn, Origin{IP: req.Client.IP}); err != nil {
			return TokenGrant{}, err
		}
		return g, nil
	case store.Repeated:
		var prev successor
		b, err := s.sealer.Open(res.Successor, []byte(rt.Hash))
		if err != nil || json.Unmarshal(b, &prev) != nil {
			// The successor was already forgotten: the grace is over.
			return TokenGrant{}, errGrant
		}
		// The pair is the first use's answer: it goes again only to a
		// repeat that asks for the same scope, so that a narrower request
		// never gets the wider pair (nor a wider one a narrower).
		asked := scope
		if asked == nil {
			asked = auth.Scope
		}
		if !slices.Equal(keyhole.NormalizeScopes(asked), keyhole.NormalizeScopes(prev.Scope)) {
			return TokenGrant{}, keyhole.Errorf(keyhole.InvalidScope,
				"This refresh token was just used with the scope %s: repeat the request with that scope, or use the refresh token it answered.",
				quote(keyhole.JoinScope(prev.Scope)))
		}
		refresh := prev.Refresh.issued()
		g := TokenGrant{Authorization: auth, Client: client, Scope: prev.Scope, Access: prev.Access.issued(), Refresh: &refresh}
		if g.IDToken, err = s.idToken(ctx, g, rt.SignIn, Origin{IP: req.Client.IP}); err != nil {
			return TokenGrant{}, err
		}
		return g, nil
	default:
		return TokenGrant{}, s.revokeReplayed(ctx, auth, "rotated refresh token reused")
	}
}

// revokeReplayed deletes an authorization whose code or refresh token came
// back after use, and answers invalid_grant.
func (s *Service) revokeReplayed(ctx context.Context, auth keyhole.Authorization, why string) error {
	if err := s.store.DeleteAuthorization(ctx, auth.ID,
		s.event(auth.AccountID, keyhole.EventAuthorizationRevoke, Origin{}, auth.ID, auth.Description+": "+why)); err != nil && !isNotFound(err) {
		return storeErr(err, "authorization")
	}
	s.rec.Revoked("replay")
	s.log.WarnContext(ctx, "authorization revoked: "+why, "account_id", auth.AccountID, "client_id", auth.ClientID, "authorization_id", auth.ID)
	return errGrant
}

// ClientCredentials issues an access token to a client acting as itself
// (RFC 6749 §4.4): no account, no refresh token, the scope it asked for.
// Every request gets a token of its own, valid for the client-token
// lifetime; those issued before keep working until they expire or are
// revoked, so that several workers of one service can each hold one.
func (s *Service) ClientCredentials(ctx context.Context, ca ClientAuth, scope []string) (TokenGrant, error) {
	c, err := s.AuthenticateClient(ctx, ca)
	if err != nil {
		return TokenGrant{}, err
	}
	if c.Public() {
		return TokenGrant{}, keyhole.Errorf(keyhole.UnauthorizedClient, "A public client cannot use the client_credentials grant.")
	}
	// A client acting as itself owns no account resources: it gets exactly
	// the scopes it asks for, validated, and the API finds no account
	// behind them.
	if scope, err = keyhole.CheckScopes(scope, keyhole.ClientScope); err != nil {
		return TokenGrant{}, err
	}
	now := s.clock()
	auth := keyhole.Authorization{
		// One authorization per client holds its tokens, each with its own
		// scope; its id is derived from the client's.
		ID:       uuid.NewSHA1(uuid.NameSpaceOID, []byte("keyhole:client-credentials:"+c.ID)).String(),
		ClientID: c.ID, Scope: slices.Clone(keyhole.ClientScope), Description: c.Name + " (client credentials)",
		CreatedAt: now, UpdatedAt: now,
	}
	tokens, g := s.mint(now, issue{auth: auth, client: &c, scope: scope, ttl: s.clientTokenTTL})
	if err := s.store.AddTokens(ctx, auth, tokens); err != nil {
		return TokenGrant{}, storeErr(err, "client")
	}
	s.rec.Issued(GrantClientCredentials)
	return g, nil
}

// RegenerateTokens replaces an authorization's access token (and refresh
// token, when it has one) with new ones; the old ones stop working at once.
// The new access token lives as long as the authorization's tokens were
// made to, even when the last one has already expired.
func (s *Service) RegenerateTokens(ctx context.Context, actor Actor, id string) (AuthorizationInfo, error) {
	auth, err := s.ownAuthorization(ctx, actor, id)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	info, err := s.authorizationInfo(ctx, auth, nil)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	all, err := s.store.Tokens(ctx, auth.ID)
	if err != nil {
		return AuthorizationInfo{}, storeErr(err, "token")
	}
	in := issue{auth: auth, client: info.Client, refresh: info.Refresh != nil, seal: auth.Default}
	for _, t := range all {
		if t.Kind == keyhole.AccessToken {
			in.ttl = 0
			if !t.ExpiresAt.IsZero() {
				in.ttl = t.ExpiresAt.Sub(t.CreatedAt)
			}
			in.scope = t.Scope
		}
	}
	if auth.SessionID != "" {
		sess, err := s.store.Session(ctx, auth.SessionID)
		if err != nil {
			return AuthorizationInfo{}, storeErr(err, "session")
		}
		in.until = sess.ExpiresAt
	}
	now := s.clock()
	tokens, g := s.mint(now, in)
	var ev []keyhole.Event
	if auth.Default {
		ev = append(ev, s.event(auth.AccountID, keyhole.EventAPIKeyRegenerated, actor.origin(), auth.ID, ""))
	}
	if err := s.store.ReplaceTokens(ctx, auth.ID, tokens, ev...); err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	s.rec.Issued("regenerate")
	if auth.Default {
		s.notify(ctx, info.User.Email, "your API key was regenerated", actor.origin(),
			"The API key of your Keyhole account was regenerated: the old key stopped working.")
	}
	info.Access, info.Refresh, info.UpdatedAt = &g.Access, g.Refresh, now
	return info, nil
}
