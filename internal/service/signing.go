package service

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/keyhole/keyhole/internal/jose"
	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// Signing keys of ID tokens. One key signs at a time; a new one
// (RotateSigningKey) is published in the JWK Set at once and signs from
// SigningKeyLead later, when the one before it retires; a retired key stays
// published until every token it signed has expired (IDTokenTTL), then the
// sweep deletes it. Every replica reads the keys from the database, again
// at most keysRefresh after it last did, so that a rotation made anywhere
// (keyhole admin:rotate-signing-key) is seen everywhere before its key
// signs.
const (
	// IDTokenTTL is how long an ID token is valid.
	IDTokenTTL = time.Hour
	// SigningKeyLead is how long a new key is published before it signs:
	// longer than JWKSMaxAge, so that a relying party that cached the key
	// set has the new key by then, and than keysRefresh, so that every
	// replica has it too.
	SigningKeyLead = 10 * time.Minute
	// JWKSMaxAge is how long relying parties may cache the key set.
	JWKSMaxAge = 5 * time.Minute
	// keysRefresh is how long a replica uses the keys it read.
	keysRefresh = time.Minute
)

// signingKeys is the replica's copy of the keys.
type signingKeys struct {
	mu     sync.Mutex
	readAt time.Time
	keys   []keyhole.SigningKey
	parsed map[string]jose.Key
}

func signingAD(id string) []byte { return []byte("signing-key:" + id) }

// keySet returns the keys, read again from the database when the copy is
// older than keysRefresh; with no key at all, it makes the first (one
// replica wins; the others read the winner's).
func (s *Service) keySet(ctx context.Context) ([]keyhole.SigningKey, map[string]jose.Key, error) {
	ks := &s.signing
	ks.mu.Lock()
	defer ks.mu.Unlock()
	now := s.clock()
	if !ks.readAt.IsZero() && now.Sub(ks.readAt) < keysRefresh && !now.Before(ks.readAt) {
		return ks.keys, ks.parsed, nil
	}
	keys, err := s.store.SigningKeys(ctx)
	if err != nil {
		return nil, nil, storeErr(err, "signing key")
	}
	if len(keys) == 0 {
		k, err := s.newSigningKey(now)
		if err != nil {
			return nil, nil, err
		}
		if err := s.store.AddSigningKey(ctx, k, true); err != nil && !errors.Is(err, store.ErrConflict) {
			return nil, nil, storeErr(err, "signing key")
		}
		if keys, err = s.store.SigningKeys(ctx); err != nil {
			return nil, nil, storeErr(err, "signing key")
		}
	}
	// A key this server key cannot open (sealed under another: the
	// server key was changed, or a replica runs with the wrong one) is
	// left out, so that the others keep verifying; when it is the one
	// that signs, signing fails until a rotation adds one sealed under
	// this key.
	usable := keys[:0:0]
	parsed := make(map[string]jose.Key, len(keys))
	for _, k := range keys {
		if p, ok := ks.parsed[k.ID]; ok {
			parsed[k.ID] = p
			usable = append(usable, k)
			continue
		}
		der, err := s.sealer.Open(k.Sealed, signingAD(k.ID))
		if err != nil {
			s.log.ErrorContext(ctx, "a signing key cannot be opened with this server key; if the server key was changed, run keyhole admin:rotate-signing-key --lead 0", "kid", k.ID)
			continue
		}
		p, err := jose.ParseKey(k.ID, der)
		if err != nil {
			return nil, nil, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
		}
		parsed[k.ID] = p
		usable = append(usable, k)
	}
	ks.keys, ks.parsed, ks.readAt = usable, parsed, now
	return usable, parsed, nil
}

// newSigningKey makes a key that signs from at.
func (s *Service) newSigningKey(at time.Time) (keyhole.SigningKey, error) {
	k, der, err := jose.NewKey()
	if err != nil {
		return keyhole.SigningKey{}, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
	return keyhole.SigningKey{ID: k.ID, Alg: jose.RS256, Sealed: s.sealer.Seal(der, signingAD(k.ID)), CreatedAt: s.clock(), ActivatesAt: at}, nil
}

// EnsureSigningKey makes the first signing key if there is none yet, so
// that serve starts with one rather than make it on the first sign-in.
func (s *Service) EnsureSigningKey(ctx context.Context) error {
	_, _, err := s.keySet(ctx)
	return err
}

// MaxSigningKeyLead bounds the lead of a rotation.
const MaxSigningKeyLead = 24 * time.Hour

// RotateSigningKey adds a new signing key: published at once, it signs
// from lead on (SigningKeyLead is the safe one), when the key signing now
// retires. A lead shorter than JWKSMaxAge is for a key that must stop
// signing now (it leaked): relying parties that cache the key set without
// fetching it again for an unknown key fail until their copy expires.
func (s *Service) RotateSigningKey(ctx context.Context, lead time.Duration) (keyhole.SigningKey, error) {
	if lead < 0 || lead > MaxSigningKeyLead {
		return keyhole.SigningKey{}, keyhole.Errorf(keyhole.Invalid, "The lead must be between 0 and %s.", MaxSigningKeyLead)
	}
	if err := s.EnsureSigningKey(ctx); err != nil {
		return keyhole.SigningKey{}, err
	}
	k, err := s.newSigningKey(s.clock().Add(lead))
	if err != nil {
		return keyhole.SigningKey{}, err
	}
	if err := s.store.AddSigningKey(ctx, k, false); err != nil {
		return keyhole.SigningKey{}, storeErr(err, "signing key")
	}
	s.signing.mu.Lock()
	s.signing.readAt = time.Time{}
	s.signing.mu.Unlock()
	s.log.InfoContext(ctx, "signing key added", "kid", k.ID, "signs_from", k.ActivatesAt)
	return k, nil
}

// published reports whether a key is in the key set at now: from its
// creation until the last token it can have signed expires.
func published(k keyhole.SigningKey, now time.Time) bool {
	return k.RetiresAt.IsZero() || now.Before(k.RetiresAt.Add(IDTokenTTL))
}

// publishedKeys are the keys of the set at now, oldest first.
func (s *Service) publishedKeys(ctx context.Context) ([]jose.Key, error) {
	keys, parsed, err := s.keySet(ctx)
	if err != nil {
		return nil, err
	}
	now := s.clock()
	var out []jose.Key
	for _, k := range keys {
		if published(k, now) {
			out = append(out, parsed[k.ID])
		}
	}
	return out, nil
}

// JWKS is the JWK Set of the published keys' public halves.
func (s *Service) JWKS(ctx context.Context) ([]byte, error) {
	keys, err := s.publishedKeys(ctx)
	if err != nil {
		return nil, err
	}
	b, err := jose.JWKS(keys)
	if err != nil {
		return nil, &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
	}
	return b, nil
}

// signJWT signs claims (a JWT of type typ, "" for JWT) with the key that
// signs now: the newest one activated.
func (s *Service) signJWT(ctx context.Context, claims any, typ string) (string, error) {
	keys, parsed, err := s.keySet(ctx)
	if err != nil {
		return "", err
	}
	now := s.clock()
	for i := len(keys) - 1; i >= 0; i-- {
		if keys[i].Signs(now) {
			raw, err := parsed[keys[i].ID].Sign(claims, typ)
			if err != nil {
				return "", &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: err}
			}
			return raw, nil
		}
	}
	return "", &keyhole.Error{Code: keyhole.Internal, Message: "internal error", Err: errors.New("no signing key signs now")}
}

// verifyJWT checks that raw was signed by a published key and returns
// its payload; it checks nothing of the payload. A signature that does
// not check out with this replica's copy of the keys is tried once more
// with the keys read again, at most every keysRecheck: a key added by
// another replica or by admin:rotate-signing-key may sign already.
func (s *Service) verifyJWT(ctx context.Context, raw string) ([]byte, error) {
	keys, err := s.publishedKeys(ctx)
	if err != nil {
		return nil, err
	}
	payload, err := jose.Verify(raw, keys)
	if err == nil || !s.recheckKeys() {
		return payload, err
	}
	if keys, err = s.publishedKeys(ctx); err != nil {
		return nil, err
	}
	return jose.Verify(raw, keys)
}

// keysRecheck is how often a bad signature may have the keys read again.
const keysRecheck = 10 * time.Second

// recheckKeys marks the copy of the keys stale, if it was read more than
// keysRecheck ago, and reports whether it did.
func (s *Service) recheckKeys() bool {
	ks := &s.signing
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if now := s.clock(); now.Sub(ks.readAt) >= keysRecheck || now.Before(ks.readAt) {
		ks.readAt = time.Time{}
		return true
	}
	return false
}
