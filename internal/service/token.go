package service

import (
	"context"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/token"
)

// Actor is an authenticated caller: the account (or, for client
// credentials, only the client) behind a verified access token or a
// browser session.
type Actor struct {
	AccountID     string
	Authorization keyhole.Authorization
	TokenID       string
	// Scope is what the caller may do: its token's scope, which may be
	// narrower than its authorization's.
	Scope []string
	// IP is the address the request came from, for throttles and logs,
	// and UserAgent the program that sent it, for the activity log.
	IP, UserAgent string
	// SignedInAt and AMR, for a browser session, are when and how the
	// person signed in (RFC 8176 method names).
	SignedInAt time.Time
	AMR        []string
}

var errClientActor = keyhole.Errorf(keyhole.Forbidden, "This token acts for an OAuth client (client credentials), not for an account: it cannot reach account resources.")

// NeedAccount is the one rule for a client acting as itself: it owns no
// account resources, so every account route answers Forbidden, naming why.
func (a Actor) NeedAccount() error {
	if a.AccountID == "" {
		return errClientActor
	}
	return nil
}

// Can reports whether the actor's scopes include need.
func (a Actor) Can(need keyhole.Scope) bool { return keyhole.Grants(a.Scope, need) }

var errBadToken = keyhole.Errorf(keyhole.Unauthorized, "Invalid credentials provided.")

// liveToken looks up a presented access or refresh token (of one of
// types) that can still be used: well formed, known, not used, not
// expired. ok is false, with no error, for any other token: the one lookup
// behind verification, revocation and introspection.
func (s *Service) liveToken(ctx context.Context, raw string, types ...token.Type) (t keyhole.Token, a keyhole.Authorization, ok bool, err error) {
	return s.liveTokenFrom(ctx, raw, "", types...)
}

// liveTokenFrom is liveToken for a token presented from the address ip
// ("": not throttled): a well-formed token that has to be read from the
// database first reserves an attempt of the address's budget of unknown
// tokens (RateLimited when it is spent), so that tokens that name nothing
// cannot flood it; a token the database knows gives the attempt back. A
// token the store answers from memory spends nothing.
func (s *Service) liveTokenFrom(ctx context.Context, raw, ip string, types ...token.Type) (t keyhole.Token, a keyhole.Authorization, ok bool, err error) {
	typ, err := token.Parse(raw)
	if err != nil || !typeIn(typ, types) {
		return t, a, false, nil
	}
	if ip == "" {
		t, a, err = s.store.TokenByHash(ctx, token.Hash(raw))
	} else {
		t, a, err = s.store.TokenByHashGuarded(ctx, token.Hash(raw), ip, lookups{&s.throttles.token})
	}
	if err != nil {
		if isNotFound(err) {
			return t, a, false, nil
		}
		return t, a, false, storeErr(err, "token")
	}
	if kindOf[typ] != t.Kind || !t.UsedAt.IsZero() || t.Expired(s.clock()) {
		return t, a, false, nil
	}
	return t, a, true, nil
}

var kindOf = map[token.Type]keyhole.TokenKind{token.Access: keyhole.AccessToken, token.Refresh: keyhole.RefreshToken}

func typeIn(t token.Type, types []token.Type) bool {
	for _, x := range types {
		if x == t {
			return true
		}
	}
	return false
}

// VerifyToken checks a bearer token and returns who it acts for. A token
// that is malformed, unknown, expired, not an access token, or whose
// authorization was revoked gets Unauthorized, with one message for all so
// that a caller learns nothing about which.
func (s *Service) VerifyToken(ctx context.Context, raw string) (Actor, error) {
	return s.VerifyTokenFrom(ctx, raw, "")
}

// VerifyTokenFrom is VerifyToken for a request from the address ip, which
// the actor carries: a well-formed token is read from the database only
// within the address's budget of unknown tokens (UnknownTokens a minute),
// and RateLimited once it is spent; a token the database knows costs
// nothing, and one the store answers without reading the database is
// not counted at all.
func (s *Service) VerifyTokenFrom(ctx context.Context, raw, ip string) (Actor, error) {
	t, a, ok, err := s.liveTokenFrom(ctx, raw, ip, token.Access)
	if err != nil {
		return Actor{}, err
	}
	if !ok {
		return Actor{}, errBadToken
	}
	if now := s.clock(); a.AccountID != "" && now.Sub(a.LastUsedAt) >= touchEvery {
		// The last use shown on the dashboard, written at most once a
		// minute per authorization (and its CLI login session).
		if err := s.store.TouchAuthorization(ctx, a.ID, now, touchEvery); err != nil {
			s.log.WarnContext(ctx, "touch authorization", "err", err)
		}
		if a.SessionID != "" {
			if err := s.store.TouchSession(ctx, a.SessionID, now, touchEvery); err != nil {
				s.log.WarnContext(ctx, "touch session", "err", err)
			}
		}
	}
	return Actor{AccountID: a.AccountID, Authorization: a, TokenID: t.ID, Scope: t.ScopeOf(a), IP: ip}, nil
}

// Revoke is RFC 7009 revocation by an authenticated client: revoking its
// access or refresh token revokes the whole authorization; for a client
// acting as itself, only that token. A token that is unknown, malformed,
// no longer live or another client's changes nothing and is not an error
// (RFC 7009 §2.2).
func (s *Service) Revoke(ctx context.Context, ca ClientAuth, raw string) error {
	c, err := s.AuthenticateClient(ctx, ca)
	if err != nil {
		return err
	}
	t, auth, ok, err := s.liveToken(ctx, raw, token.Access, token.Refresh)
	if err != nil || !ok || auth.ClientID != c.ID {
		return err
	}
	if auth.AccountID == "" {
		err = s.store.DeleteToken(ctx, t.ID)
	} else {
		err = s.store.DeleteAuthorization(ctx, auth.ID,
			s.event(auth.AccountID, keyhole.EventAuthorizationRevoke, Origin{IP: ca.IP}, auth.ID, c.Name+" revoked its own access"))
	}
	if err != nil && !isNotFound(err) {
		return storeErr(err, "authorization")
	}
	s.rec.Revoked("client")
	s.log.InfoContext(ctx, "revoked by client", "client_id", c.ID, "authorization_id", auth.ID)
	return nil
}

// Introspection is RFC 7662's answer about a token.
type Introspection struct {
	Active    bool
	Scope     []string
	ClientID  string
	AccountID string
	Email     string
	Kind      keyhole.TokenKind
	ExpiresAt time.Time
	IssuedAt  time.Time
}

// Introspect tells an authenticated client about one of its own tokens. A
// token of another client, or one that is not live, is simply inactive.
// Inactive answers spend the client's and the address's introspection
// budgets, so that no client can scan for live tokens.
func (s *Service) Introspect(ctx context.Context, ca ClientAuth, raw string) (Introspection, error) {
	c, err := s.AuthenticateClient(ctx, ca)
	if err != nil {
		return Introspection{}, err
	}
	r, err := s.throttles.introspect.reserve(ctx, c.ID, ca.IP)
	if err != nil {
		return Introspection{}, err
	}
	t, auth, ok, err := s.liveToken(ctx, raw, token.Access, token.Refresh)
	if err != nil {
		r.done(true)
		return Introspection{}, err
	}
	active := ok && auth.ClientID == c.ID
	r.done(active)
	if !active {
		return Introspection{}, nil
	}
	in := Introspection{
		Active: true, Scope: t.ScopeOf(auth), ClientID: c.ID, AccountID: auth.AccountID,
		Kind: t.Kind, ExpiresAt: t.ExpiresAt, IssuedAt: t.CreatedAt,
	}
	if auth.AccountID != "" {
		if a, err := s.store.Account(ctx, auth.AccountID); err == nil {
			in.Email = a.Email
		}
	}
	return in, nil
}
