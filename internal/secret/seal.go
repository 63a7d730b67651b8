// Package secret holds Keyhole's cryptography: sealing the few secrets that
// must be shown again (AES-256-GCM under the server key) and password hashing
// (argon2id).
package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyLen is the length of the server key: AES-256.
const KeyLen = 32

// Sealer encrypts and decrypts with the server key. It is safe for
// concurrent use.
type Sealer struct {
	aead cipher.AEAD
	mac  []byte // HMAC key, derived from the server key
}

// NewSealer returns a Sealer for a KeyLen-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != KeyLen {
		return nil, fmt.Errorf("secret: key is %d bytes, want %d", len(key), KeyLen)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	mac, err := hkdf.Key(sha256.New, key, nil, "keyhole mac", 32)
	if err != nil {
		return nil, err
	}
	return &Sealer{aead: aead, mac: mac}, nil
}

// MAC returns an HMAC-SHA256 of the parts under a key derived from the
// server key, separated by purpose: a tag that only this server (and its
// replicas) can make, such as a form token bound to a session.
func (s *Sealer) MAC(purpose string, parts ...string) []byte {
	m := hmac.New(sha256.New, s.mac)
	m.Write([]byte(purpose))
	for _, p := range parts {
		// Length-prefixed, so that ("ab", "c") and ("a", "bc") differ.
		m.Write([]byte{byte(len(p) >> 24), byte(len(p) >> 16), byte(len(p) >> 8), byte(len(p))})
		m.Write([]byte(p))
	}
	return m.Sum(nil)
}

// Seal encrypts plaintext, binding it to ad (additional data, such as the id
// of the row it is stored in, so a sealed value cannot be moved to another
// row). The result is nonce || ciphertext.
func (s *Sealer) Seal(plaintext, ad []byte) []byte {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	rand.Read(nonce)
	return s.aead.Seal(nonce, nonce, plaintext, ad)
}

// ErrOpen means a sealed value could not be decrypted: a different key,
// different additional data or a damaged value.
var ErrOpen = errors.New("secret: cannot open sealed value")

// Open decrypts a value made by Seal with the same ad.
func (s *Sealer) Open(sealed, ad []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < n+s.aead.Overhead() {
		return nil, ErrOpen
	}
	pt, err := s.aead.Open(nil, sealed[:n], sealed[n:], ad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

// KeyFile is the name of the generated server key in the data folder.
const KeyFile = "secret.key"

// LoadKey returns the server key. When env (the value of KEYHOLE_SECRET_KEY)
// is set it must be KeyLen bytes in standard or URL-safe base64. Otherwise the
// key is read from dataDir/secret.key, which is generated on first use with
// permissions 0600. A key file readable by others is refused.
func LoadKey(env, dataDir string) ([]byte, error) {
	if env != "" {
		return decodeKey(strings.TrimSpace(env), "KEYHOLE_SECRET_KEY")
	}
	path := filepath.Join(dataDir, KeyFile)
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	key := make([]byte, KeyLen)
	rand.Read(key)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	switch {
	case err == nil:
		_, err = f.WriteString(base64.StdEncoding.EncodeToString(key) + "\n")
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
			return nil, err
		}
		return key, nil
	case errors.Is(err, fs.ErrExist):
		fi, err := os.Stat(path)
		if err != nil {
			return nil, err
		}
		if fi.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("secret: %s is readable by others (mode %v); chmod 600 it", path, fi.Mode().Perm())
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, err
		}
		return decodeKey(strings.TrimSpace(string(b)), path)
	default:
		return nil, err
	}
}

func decodeKey(s, from string) ([]byte, error) {
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.URLEncoding, base64.RawStdEncoding, base64.RawURLEncoding} {
		if k, err := enc.DecodeString(s); err == nil && len(k) == KeyLen {
			return k, nil
		}
	}
	return nil, fmt.Errorf("secret: %s must be %d bytes in base64 (generate one with: openssl rand -base64 32)", from, KeyLen)
}

// DecodeKey reads a server key given as base64 (standard or URL-safe, with
// or without padding), as KEYHOLE_SECRET_KEY holds it.
func DecodeKey(s string) ([]byte, error) { return decodeKey(strings.TrimSpace(s), "the server key") }

// NewKey returns a new random server key in standard base64.
func NewKey() string {
	key := make([]byte, KeyLen)
	rand.Read(key)
	return base64.StdEncoding.EncodeToString(key)
}
