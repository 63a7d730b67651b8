package service

import (
	"context"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

const (
	// maxExpiresIn bounds the lifetime a caller may ask for: one year.
	maxExpiresIn = 365 * 24 * 3600
	// apiKeyDescription names the account's API key authorization.
	apiKeyDescription = "API Key"
)

// AuthorizationInfo is an authorization with what the API shows beside it.
type AuthorizationInfo struct {
	keyhole.Authorization
	User    keyhole.Account
	Client  *keyhole.Client
	Access  *IssuedToken
	Refresh *IssuedToken
	Grant   *IssuedToken
}

// AuthorizationParams is the input to creating a direct authorization.
type AuthorizationParams struct {
	Description string
	// Scope nil or empty means ["global"], as Heroku's CLI relies on.
	Scope []string
	// ExpiresIn, in seconds, bounds the access token's life; nil: never expires.
	ExpiresIn *int
}

func (p *AuthorizationParams) validate() error {
	var problems []string
	if scope, err := keyhole.CheckScopes(p.Scope, keyhole.DefaultScope); err != nil {
		problems = append(problems, keyhole.ErrorMessage(err))
	} else {
		p.Scope = scope
	}
	if err := checkText("Description", p.Description, maxDescriptionLen, false); err != nil {
		problems = append(problems, err.Error())
	}
	if p.ExpiresIn != nil && (*p.ExpiresIn <= 0 || *p.ExpiresIn > maxExpiresIn) {
		problems = append(problems, "expires_in must be a number of seconds between 1 and 31536000.")
	}
	if len(problems) > 0 {
		return keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	return nil
}

// ttl is the access token's life the parameters ask for; 0: it never
// expires.
func (p AuthorizationParams) ttl() time.Duration {
	if p.ExpiresIn == nil {
		return 0
	}
	return time.Duration(*p.ExpiresIn) * time.Second
}

// CreateAuthorization creates a direct authorization (one with no client)
// for the actor's account.
func (s *Service) CreateAuthorization(ctx context.Context, actor Actor, p AuthorizationParams) (AuthorizationInfo, error) {
	if err := p.validate(); err != nil {
		return AuthorizationInfo{}, err
	}
	acct, err := s.Account(ctx, actor)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	now := s.clock()
	auth := s.direct(acct.ID, p, now)
	tokens, g := s.mint(now, issue{auth: auth, ttl: p.ttl()})
	ev := s.event(acct.ID, keyhole.EventAuthorizationMade, actor.origin(), auth.ID, auth.Description)
	if err := s.store.CreateAuthorization(ctx, auth, tokens, ev); err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	s.rec.Issued("direct")
	s.log.InfoContext(ctx, "authorization created", "account_id", acct.ID, "authorization_id", auth.ID)
	return AuthorizationInfo{Authorization: auth, User: acct, Access: &g.Access}, nil
}

// direct builds a direct authorization of the account.
func (s *Service) direct(accountID string, p AuthorizationParams, now time.Time) keyhole.Authorization {
	return keyhole.Authorization{
		ID: newID(), AccountID: accountID, Scope: p.Scope, Description: p.Description,
		CreatedAt: now, UpdatedAt: now,
	}
}

// RevealAPIKey returns the account's API key in clear: the dashboard's
// "Reveal". It needs the password re-entered in the actor's browser
// session within ReauthTTL: password, when given, is checked (under the
// sign-in throttle) and starts that; without it, Forbidden unless it is
// recent. The reveal is recorded.
func (s *Service) RevealAPIKey(ctx context.Context, actor Actor, password string) (token.Secret, error) {
	if err := s.reauthenticate(ctx, actor, password); err != nil {
		return "", err
	}
	key, err := s.apiKeyOf(ctx, actor.AccountID)
	if err != nil {
		return "", err
	}
	s.record(ctx, s.event(actor.AccountID, keyhole.EventAPIKeyRevealed, actor.origin(), "", ""))
	return key, nil
}

// RegenerateAPIKey replaces the account's API key, after the password
// (or a re-authentication of the actor's browser session within
// ReauthTTL, as RevealAPIKey), and returns the new key in clear; the old
// one stops working at once.
func (s *Service) RegenerateAPIKey(ctx context.Context, actor Actor, password string) (token.Secret, error) {
	if err := s.reauthenticate(ctx, actor, password); err != nil {
		return "", err
	}
	info, err := s.RegenerateTokens(ctx, actor, "~")
	if err != nil {
		return "", err
	}
	return info.Access.Value, nil
}

// apiKeyOf opens the account's API key.
func (s *Service) apiKeyOf(ctx context.Context, accountID string) (token.Secret, error) {
	auth, err := s.store.DefaultAuthorization(ctx, accountID)
	if err != nil {
		return "", storeErr(err, "authorization")
	}
	tokens, err := s.store.Tokens(ctx, auth.ID)
	if err != nil {
		return "", storeErr(err, "token")
	}
	for _, t := range tokens {
		if t.Kind == keyhole.AccessToken && t.UsedAt.IsZero() && len(t.Sealed) > 0 {
			raw, err := s.sealer.Open(t.Sealed, []byte(auth.ID))
			if err != nil {
				return "", storeErr(err, "token")
			}
			return token.Secret(raw), nil
		}
	}
	return "", keyhole.NotFoundError("API key")
}

// apiKey builds an account's API key: a non-expiring, global, direct
// authorization marked Default, whose token is also kept sealed so that the
// dashboard can reveal it again.
func (s *Service) apiKey(accountID string, now time.Time) (keyhole.Authorization, []keyhole.Token) {
	auth := keyhole.Authorization{
		ID: newID(), AccountID: accountID, Scope: []string{keyhole.ScopeGlobal},
		Description: apiKeyDescription, Default: true, CreatedAt: now, UpdatedAt: now,
	}
	tokens, _ := s.mint(now, issue{auth: auth, seal: true})
	return auth, tokens
}

// Authorization returns one of the actor's authorizations; "~" names the
// account's API key. NotFound for another account's authorization.
func (s *Service) Authorization(ctx context.Context, actor Actor, id string) (AuthorizationInfo, error) {
	auth, err := s.ownAuthorization(ctx, actor, id)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	return s.authorizationInfo(ctx, auth, nil)
}

func (s *Service) ownAuthorization(ctx context.Context, actor Actor, id string) (keyhole.Authorization, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Authorization{}, err
	}
	var auth keyhole.Authorization
	var err error
	switch {
	case id == "~":
		auth, err = s.store.DefaultAuthorization(ctx, actor.AccountID)
	case validID(id):
		auth, err = s.store.Authorization(ctx, id)
	default:
		return keyhole.Authorization{}, keyhole.NotFoundError("authorization")
	}
	if err != nil {
		return keyhole.Authorization{}, storeErr(err, "authorization")
	}
	if auth.AccountID != actor.AccountID {
		return keyhole.Authorization{}, keyhole.NotFoundError("authorization")
	}
	return auth, nil
}

// authorizationInfo gathers what the API shows with an authorization. acct,
// when not nil, is the already loaded owner.
func (s *Service) authorizationInfo(ctx context.Context, auth keyhole.Authorization, acct *keyhole.Account) (AuthorizationInfo, error) {
	if acct == nil && auth.AccountID != "" {
		a, err := s.store.Account(ctx, auth.AccountID)
		if err != nil {
			return AuthorizationInfo{}, storeErr(err, "account")
		}
		acct = &a
	}
	infos, err := s.authorizationInfos(ctx, []keyhole.Authorization{auth}, acct)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	return infos[0], nil
}

// authorizationInfos gathers what the API shows with several authorizations
// of one account: their tokens in one query, each client once.
func (s *Service) authorizationInfos(ctx context.Context, auths []keyhole.Authorization, acct *keyhole.Account) ([]AuthorizationInfo, error) {
	ids := make([]string, len(auths))
	for i, a := range auths {
		ids[i] = a.ID
	}
	tokens, err := s.store.Tokens(ctx, ids...)
	if err != nil {
		return nil, storeErr(err, "token")
	}
	live := map[string][]keyhole.Token{}
	now := s.clock()
	for _, t := range tokens {
		if t.UsedAt.IsZero() && !t.Expired(now) {
			live[t.AuthorizationID] = append(live[t.AuthorizationID], t)
		}
	}
	clients := map[string]*keyhole.Client{}
	out := make([]AuthorizationInfo, len(auths))
	for i, auth := range auths {
		info := AuthorizationInfo{Authorization: auth}
		if acct != nil {
			info.User = *acct
		}
		if auth.ClientID != "" {
			c, ok := clients[auth.ClientID]
			if !ok {
				got, err := s.store.Client(ctx, auth.ClientID)
				if err != nil {
					return nil, storeErr(err, "client")
				}
				c = &got
				clients[auth.ClientID] = c
			}
			info.Client = c
		}
		for _, t := range live[auth.ID] {
			it := issued(t, "")
			switch t.Kind {
			case keyhole.AccessToken:
				info.Access = it
			case keyhole.RefreshToken:
				info.Refresh = it
			case keyhole.GrantCode:
				info.Grant = it
			}
		}
		out[i] = info
	}
	return out, nil
}

// Authorizations lists the actor's authorizations, one page of r.
func (s *Service) Authorizations(ctx context.Context, actor Actor, r store.Range) ([]AuthorizationInfo, error) {
	acct, err := s.Account(ctx, actor)
	if err != nil {
		return nil, err
	}
	list, err := s.store.ListAuthorizations(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "authorization")
	}
	return s.authorizationInfos(ctx, list, &acct)
}

// AuthorizationUpdate is the input to UpdateAuthorization.
type AuthorizationUpdate struct {
	Description *string
	// MoveToClient is set when the request asked to move the
	// authorization to another client (Heroku's PATCH takes client {id,
	// secret}); Keyhole refuses that.
	MoveToClient bool
}

// UpdateAuthorization changes an authorization's description.
func (s *Service) UpdateAuthorization(ctx context.Context, actor Actor, id string, in AuthorizationUpdate) (AuthorizationInfo, error) {
	auth, err := s.ownAuthorization(ctx, actor, id)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	if in.MoveToClient {
		return AuthorizationInfo{}, keyhole.Errorf(keyhole.Invalid, "An authorization stays with the client it was granted to: its client cannot be changed. Create a new authorization for that client instead.")
	}
	if in.Description != nil {
		p := AuthorizationParams{Description: *in.Description, Scope: auth.Scope}
		if err := p.validate(); err != nil {
			return AuthorizationInfo{}, err
		}
	}
	auth, err = s.store.UpdateAuthorization(ctx, auth.ID, func(a *keyhole.Authorization) error {
		if in.Description != nil {
			a.Description = *in.Description
		}
		a.UpdatedAt = s.clock()
		return nil
	})
	if err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	return s.authorizationInfo(ctx, auth, nil)
}

// RevokeAuthorization deletes an authorization with its access token,
// refresh token and pending grant, at once, and returns it as it was.
func (s *Service) RevokeAuthorization(ctx context.Context, actor Actor, id string) (AuthorizationInfo, error) {
	auth, err := s.ownAuthorization(ctx, actor, id)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	info, err := s.authorizationInfo(ctx, auth, nil)
	if err != nil {
		return AuthorizationInfo{}, err
	}
	what := auth.Description
	if info.Client != nil {
		what = info.Client.Name
	}
	ev := s.event(actor.AccountID, keyhole.EventAuthorizationRevoke, actor.origin(), auth.ID, what)
	if err := s.store.DeleteAuthorization(ctx, auth.ID, ev); err != nil {
		return AuthorizationInfo{}, storeErr(err, "authorization")
	}
	s.rec.Revoked("account")
	s.log.InfoContext(ctx, "authorization revoked", "account_id", actor.AccountID, "authorization_id", auth.ID)
	return info, nil
}
