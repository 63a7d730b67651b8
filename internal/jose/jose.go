// Package jose is the JOSE plumbing of Keyhole's OpenID provider: signing
// keys, compact JWS signatures (RFC 7515) and the JWK Set that publishes
// their public halves (RFC 7517), over go-jose. It holds no rules: which
// key signs, what is signed and for how long is the service's.
package jose

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"

	jose "github.com/go-jose/go-jose/v4"
)

// RS256 is the one algorithm Keyhole signs with: RSASSA-PKCS1-v1_5 with
// SHA-256, which OpenID Connect requires every provider to support.
const RS256 = string(jose.RS256)

// rsaBits is the size of new keys.
const rsaBits = 2048

// Key is a signing key: its id (the JWS header's kid) and its private
// key.
type Key struct {
	ID      string
	private crypto.Signer
}

// NewKey makes a new RS256 key with a random id, and returns it with its
// private key in PKCS #8 DER, for the caller to keep sealed.
func NewKey() (Key, []byte, error) {
	priv, err := rsa.GenerateKey(rand.Reader, rsaBits)
	if err != nil {
		return Key{}, nil, fmt.Errorf("jose: new key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return Key{}, nil, fmt.Errorf("jose: new key: %w", err)
	}
	id := make([]byte, 16)
	if _, err := rand.Read(id); err != nil {
		return Key{}, nil, fmt.Errorf("jose: new key: %w", err)
	}
	return Key{ID: hex.EncodeToString(id), private: priv}, der, nil
}

// ParseKey reads a key kept as PKCS #8 DER (NewKey's).
func ParseKey(id string, der []byte) (Key, error) {
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return Key{}, fmt.Errorf("jose: key %s: %w", id, err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return Key{}, fmt.Errorf("jose: key %s is not an RSA key", id)
	}
	return Key{ID: id, private: priv}, nil
}

// Sign returns claims, marshalled as JSON, as a compact JWS signed with
// k (RS256), with kid and typ (JWT, or typ when it is not "") in its
// header.
func (k Key) Sign(claims any, typ string) (string, error) {
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	if typ == "" {
		typ = "JWT"
	}
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: k.private, KeyID: k.ID}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	obj, err := s.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("jose: sign: %w", err)
	}
	return obj.CompactSerialize()
}

// jwk is the public half of k, for a JWK Set.
func (k Key) jwk() jose.JSONWebKey {
	return jose.JSONWebKey{Key: k.private.Public(), KeyID: k.ID, Algorithm: RS256, Use: "sig"}
}

// JWKS is the JWK Set of the public halves of keys, in their order: what
// jwks_uri answers (RFC 7517 §5).
func JWKS(keys []Key) ([]byte, error) {
	set := jose.JSONWebKeySet{Keys: make([]jose.JSONWebKey, 0, len(keys))}
	for _, k := range keys {
		set.Keys = append(set.Keys, k.jwk())
	}
	return json.Marshal(set)
}

// ErrSignature is the error of Verify for a JWS that is malformed, not
// RS256, names no key of the set, or whose signature does not hold.
var ErrSignature = errors.New("jose: not signed by a key of this set")

// Verify checks that raw is a compact JWS signed (RS256) by the key of
// keys its header names, and returns its payload. It checks nothing of
// the payload.
func Verify(raw string, keys []Key) ([]byte, error) {
	obj, err := jose.ParseSignedCompact(raw, []jose.SignatureAlgorithm{jose.RS256})
	if err != nil || len(obj.Signatures) != 1 {
		return nil, ErrSignature
	}
	kid := obj.Signatures[0].Header.KeyID
	for _, k := range keys {
		if k.ID != kid {
			continue
		}
		payload, err := obj.Verify(k.private.Public())
		if err != nil {
			return nil, ErrSignature
		}
		return payload, nil
	}
	return nil, ErrSignature
}
