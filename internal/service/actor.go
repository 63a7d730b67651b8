package service

import (
	"context"
	"errors"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
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

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
