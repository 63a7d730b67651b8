package service

import (
	"context"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/token"
)

// Actor is an authenticated caller: the account (or, for client
// credentials, only the client) behind a verified access token.
type Actor struct {
	AccountID     string
	Authorization keyhole.Authorization
	TokenID       string
}

// Can reports whether the actor's scopes include need.
func (a Actor) Can(need keyhole.Scope) bool { return keyhole.Grants(a.Authorization.Scope, need) }

var errBadToken = keyhole.Errorf(keyhole.Unauthorized, "Invalid credentials provided.")

// VerifyToken checks a bearer token and returns who it acts for. A token
// that is malformed, unknown, expired, not an access token, or whose
// authorization was revoked gets Unauthorized, with one message for all so
// that a caller learns nothing about which.
func (s *Service) VerifyToken(ctx context.Context, raw string) (Actor, error) {
	typ, err := token.Parse(raw)
	if err != nil || typ != token.Access {
		return Actor{}, errBadToken
	}
	t, a, err := s.store.TokenByHash(ctx, token.Hash(raw))
	if err != nil {
		if isNotFound(err) {
			return Actor{}, errBadToken
		}
		return Actor{}, storeErr(err, "token")
	}
	if t.Kind != keyhole.AccessToken || !t.UsedAt.IsZero() || t.Expired(s.clock()) {
		return Actor{}, errBadToken
	}
	return Actor{AccountID: a.AccountID, Authorization: a, TokenID: t.ID}, nil
}

// Revoke is RFC 7009 revocation by an authenticated client: revoking its
// access or refresh token revokes the whole authorization. A token that is
// unknown, malformed or another client's changes nothing and is not an
// error (RFC 7009 §2.2).
func (s *Service) Revoke(ctx context.Context, clientID, secret, raw string) error {
	c, err := s.AuthenticateClient(ctx, clientID, secret)
	if err != nil {
		return err
	}
	if typ, err := token.Parse(raw); err != nil || (typ != token.Access && typ != token.Refresh) {
		return nil
	}
	_, auth, err := s.store.TokenByHash(ctx, token.Hash(raw))
	if err != nil {
		if isNotFound(err) {
			return nil
		}
		return storeErr(err, "token")
	}
	if auth.ClientID != c.ID {
		return nil
	}
	if err := s.store.DeleteAuthorization(ctx, auth.ID); err != nil && !isNotFound(err) {
		return storeErr(err, "authorization")
	}
	s.log.InfoContext(ctx, "authorization revoked by client", "client_id", c.ID, "authorization_id", auth.ID)
	return nil
}

// Introspection is RFC 7662's answer about a token.
type Introspection struct {
	Active    bool
	Scope     []string
	ClientID  string
	AccountID string
	Email     string
	TokenType string // "access_token" or "refresh_token"
	ExpiresAt time.Time
	IssuedAt  time.Time
}

// Introspect tells an authenticated client about one of its own tokens. A
// token of another client, or one that is not live, is simply inactive.
func (s *Service) Introspect(ctx context.Context, clientID, secret, raw string) (Introspection, error) {
	c, err := s.AuthenticateClient(ctx, clientID, secret)
	if err != nil {
		return Introspection{}, err
	}
	typ, err := token.Parse(raw)
	if err != nil || (typ != token.Access && typ != token.Refresh) {
		return Introspection{}, nil
	}
	t, auth, err := s.store.TokenByHash(ctx, token.Hash(raw))
	if err != nil {
		if isNotFound(err) {
			return Introspection{}, nil
		}
		return Introspection{}, storeErr(err, "token")
	}
	if auth.ClientID != c.ID || !t.UsedAt.IsZero() || t.Expired(s.clock()) {
		return Introspection{}, nil
	}
	in := Introspection{
		Active: true, Scope: auth.Scope, ClientID: c.ID, AccountID: auth.AccountID,
		TokenType: "access_token", ExpiresAt: t.ExpiresAt, IssuedAt: t.CreatedAt,
	}
	if t.Kind == keyhole.RefreshToken {
		in.TokenType = "refresh_token"
	}
	if auth.AccountID != "" {
		if a, err := s.store.Account(ctx, auth.AccountID); err == nil {
			in.Email = a.Email
		}
	}
	return in, nil
}
