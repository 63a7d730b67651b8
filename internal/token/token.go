// Package token makes and checks Keyhole's secret values: access and refresh
// tokens, grant and device codes, client secrets and session ids.
//
// A value reads `<type>_<body><checksum>`: a three-letter type prefix, 43
// base62 characters carrying 256 random bits, and 6 base62 characters of CRC32
// over the prefix and body. The prefix lets a person (and secret scanners) tell
// what leaked; the checksum lets the server reject a mistyped or made-up value
// without a database lookup. The server stores only Hash(value).
package token

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash/crc32"
	"log/slog"
	"math/big"
)

// Type is a value's prefix.
type Type string

// The types of secret value Keyhole issues.
const (
	Access       Type = "kha" // OAuth access token, API key
	Refresh      Type = "khr" // OAuth refresh token
	Code         Type = "khc" // authorization grant code
	ClientSecret Type = "khs" // OAuth client secret
	DeviceCode   Type = "khd" // RFC 8628 device code
	Session      Type = "khx" // browser login session
	EmailLink    Type = "khe" // mailed link that verifies an address
	ResetLink    Type = "khp" // mailed link that resets a password
	Invitation   Type = "khi" // mailed link that invites somebody into a team
)

var types = map[Type]bool{Access: true, Refresh: true, Code: true, ClientSecret: true, DeviceCode: true, Session: true, EmailLink: true, ResetLink: true, Invitation: true}

const (
	alphabet  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	bodyLen   = 43 // ceil(256 / log2(62))
	checkLen  = 6  // ceil(32 / log2(62))
	prefixLen = 4  // "kha_"
	// Len is the length of every value.
	Len = prefixLen + bodyLen + checkLen
)

// ErrMalformed is returned by Parse for a value that is not a Keyhole secret.
var ErrMalformed = errors.New("token: malformed")

// Secret is a secret value. It prints as REDACTED in logs and formatted
// output; Reveal returns the value itself, for the one response that shows it.
type Secret string

// New returns a fresh random value of type t.
func New(t Type) Secret {
	var b [32]byte
	rand.Read(b[:]) // never returns an error (crypto/rand, Go 1.24+)
	buf := make([]byte, 0, Len)
	buf = append(buf, t...)
	buf = append(buf, '_')
	buf = appendBase62(buf, new(big.Int).SetBytes(b[:]), bodyLen)
	buf = appendBase62(buf, big.NewInt(int64(crc32.ChecksumIEEE(buf))), checkLen)
	return Secret(buf)
}

func appendBase62(dst []byte, n *big.Int, width int) []byte {
	out := make([]byte, width)
	base := big.NewInt(62)
	mod := new(big.Int)
	for i := width - 1; i >= 0; i-- {
		n.DivMod(n, base, mod)
		out[i] = alphabet[mod.Int64()]
	}
	return append(dst, out...)
}

// digit is each byte's value in alphabet, or -1: Parse runs on every
// request.
var digit = func() (d [256]int8) {
	for i := range d {
		d[i] = -1
	}
	for i := range len(alphabet) {
		d[alphabet[i]] = int8(i)
	}
	return d
}()

// Parse checks the form and checksum of s and returns its type.
func Parse(s string) (Type, error) {
	if len(s) != Len || s[prefixLen-1] != '_' {
		return "", ErrMalformed
	}
	t := Type(s[:prefixLen-1])
	if !types[t] {
		return "", ErrMalformed
	}
	var sum uint64
	for i := len(s) - checkLen; i < len(s); i++ {
		d := digit[s[i]]
		if d < 0 {
			return "", ErrMalformed
		}
		sum = sum*62 + uint64(d)
	}
	for i := prefixLen; i < len(s)-checkLen; i++ {
		if digit[s[i]] < 0 {
			return "", ErrMalformed
		}
	}
	if sum != uint64(crc32.ChecksumIEEE([]byte(s[:len(s)-checkLen]))) {
		return "", ErrMalformed
	}
	return t, nil
}

// Hash returns the hex SHA-256 of s: what the server stores and looks up.
func Hash(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

// Hint returns a rendering of s that is safe to show and store: its prefix and
// first characters, then its last four.
func Hint(s string) string {
	if len(s) < 12 {
		return "**********"
	}
	return s[:8] + "**********" + s[len(s)-4:]
}

// Reveal returns the secret value.
func (s Secret) Reveal() string { return string(s) }

// String returns REDACTED.
func (s Secret) String() string { return "REDACTED" }

// GoString returns REDACTED.
func (s Secret) GoString() string { return "REDACTED" }

// LogValue keeps the value out of slog output.
func (s Secret) LogValue() slog.Value { return slog.StringValue("REDACTED") }

// Format keeps the value out of fmt output, whatever the verb.
func (s Secret) Format(f fmt.State, verb rune) { fmt.Fprint(f, "REDACTED") }

// MarshalText keeps the value out of encoders that were not meant to see it;
// responses that must show a secret use Reveal.
func (s Secret) MarshalText() ([]byte, error) { return []byte("REDACTED"), nil }
