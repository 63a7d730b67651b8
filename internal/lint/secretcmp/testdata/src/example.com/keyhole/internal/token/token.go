// Package token stands for Keyhole's internal/token in the tests.
package token

import (
	"crypto/sha256"
	"encoding/hex"
)

// Secret is a secret value.
type Secret string

// Reveal returns the secret in clear.
func (s Secret) Reveal() string { return string(s) }

// Hash returns the lookup hash of raw.
func Hash(raw string) string {
	h := sha256.Sum256([]byte(raw))
	return hex.EncodeToString(h[:])
}
