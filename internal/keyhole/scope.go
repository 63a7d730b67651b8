package keyhole

import (
	"slices"
	"strings"
)

// Scope names an area of access an authorization grants.
type Scope = string

// The scopes Keyhole knows, weakest first within each family.
const (
	ScopeGlobal         Scope = "global"
	ScopeIdentity       Scope = "identity"
	ScopeRead           Scope = "read"
	ScopeWrite          Scope = "write"
	ScopeReadProtected  Scope = "read-protected"
	ScopeWriteProtected Scope = "write-protected"

	// The OpenID Connect scopes (Core 1.0 §3.1.2.1, §5.4, §11). They
	// grant no Platform API access: openid asks for an ID token and
	// reaches userinfo, profile and email say which claims userinfo and
	// the ID token carry, and offline_access asks for a refresh token,
	// which Keyhole issues on every code exchange anyway.
	ScopeOpenID        Scope = "openid"
	ScopeProfile       Scope = "profile"
	ScopeEmail         Scope = "email"
	ScopeOfflineAccess Scope = "offline_access"
)

// APIScopes are Heroku's scopes, the ones that reach the Platform API.
var APIScopes = []Scope{ScopeGlobal, ScopeIdentity, ScopeRead, ScopeWrite, ScopeReadProtected, ScopeWriteProtected}

// OpenIDScopes are the OpenID Connect scopes.
var OpenIDScopes = []Scope{ScopeOpenID, ScopeProfile, ScopeEmail, ScopeOfflineAccess}

// Scopes lists every scope, in the order they are documented.
var Scopes = append(slices.Clone(APIScopes), OpenIDScopes...)

// OpenID reports whether a scope list makes an OpenID Connect request.
func OpenID(scope []Scope) bool { return slices.Contains(scope, ScopeOpenID) }

// KnownScopes drops the names of a scope list that name no scope: an
// OpenID Connect request ignores them (Core 1.0 §3.1.2.1).
func KnownScopes(list []string) []string {
	out := make([]string, 0, len(list))
	for _, s := range list {
		if ValidScope(s) {
			out = append(out, s)
		}
	}
	return out
}

// DefaultScope is what a request that names no scope gets: an
// authorization request, a direct authorization (Heroku's CLI relies on
// it) and a device authorization.
var DefaultScope = []Scope{ScopeGlobal}

// ClientScope is what a client acting as itself (client credentials) gets
// when it names no scope: it owns no account, so the least there is.
var ClientScope = []Scope{ScopeIdentity}

// implies says which scopes each scope includes besides itself.
var implies = map[Scope][]Scope{
	ScopeGlobal:         {ScopeIdentity, ScopeRead, ScopeWrite, ScopeReadProtected, ScopeWriteProtected},
	ScopeWrite:          {ScopeRead},
	ScopeReadProtected:  {ScopeRead},
	ScopeWriteProtected: {ScopeWrite, ScopeRead, ScopeReadProtected},
}

// ScopeDescriptions explains each scope in plain words.
var ScopeDescriptions = map[Scope]string{
	ScopeGlobal:         "Read and write access to your whole account, its apps and resources, including account details and OAuth management.",
	ScopeIdentity:       "Read your account's email address and name. Nothing else.",
	ScopeRead:           "Read your apps and resources, excluding account details and config vars.",
	ScopeWrite:          "Read and change your apps and resources, excluding account details and config vars.",
	ScopeReadProtected:  "Read your apps and resources, including config vars (runtime secrets).",
	ScopeWriteProtected: "Read and change your apps and resources, including config vars (runtime secrets).",
	ScopeOpenID:         "Sign you in with your Keyhole account: it learns your account's identifier, and when and how you signed in.",
	ScopeProfile:        "Your name.",
	ScopeEmail:          "Your email address, and whether you confirmed it.",
	ScopeOfflineAccess:  "Stay signed in while you are away, until you revoke its access.",
}

// ValidScope reports whether s names a known scope.
func ValidScope(s string) bool { return slices.Contains(Scopes, s) }

// Grants reports whether a token holding the scopes in have may do what
// needs requires. Stronger scopes imply weaker ones.
func Grants(have []Scope, need Scope) bool {
	for _, h := range have {
		if h == need || slices.Contains(implies[h], need) {
			return true
		}
	}
	return false
}

// Covers reports whether have grants every scope of want: want is the same
// access or less (RFC 6749 §6: a refresh may narrow, never widen).
func Covers(have, want []Scope) bool {
	for _, w := range want {
		if !Grants(have, w) {
			return false
		}
	}
	return true
}

// JoinScope writes a scope list as a scope parameter: names separated by
// spaces (RFC 6749 §3.3).
func JoinScope(scope []Scope) string { return strings.Join(scope, " ") }

// NormalizeScopes sorts and de-duplicates a scope list.
func NormalizeScopes(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}

// CheckScopes validates a list of scope names and returns it normalized,
// or def when the list is empty. InvalidScope names the first unknown one.
func CheckScopes(list []string, def []Scope) ([]Scope, error) {
	if len(list) == 0 {
		return slices.Clone(def), nil
	}
	for _, s := range list {
		if !ValidScope(s) {
			return nil, Errorf(InvalidScope, "Unknown scope %q. Valid scopes are %s.", clipName(s), strings.Join(Scopes, ", "))
		}
	}
	return NormalizeScopes(list), nil
}

// SplitScope reads a scope parameter (RFC 6749 §3.3): names separated by
// spaces, or by commas as Heroku's clients send them. The names are not
// checked; CheckScopes does that.
func SplitScope(raw string) []string {
	return strings.FieldsFunc(raw, func(r rune) bool { return r == ' ' || r == ',' || r == '+' })
}

// ParseScope is CheckScopes of SplitScope(raw).
func ParseScope(raw string, def []Scope) ([]Scope, error) {
	return CheckScopes(SplitScope(raw), def)
}

// clipName shortens a name for an error message.
func clipName(s string) string {
	s = strings.ToValidUTF8(s, "")
	if len(s) > 40 {
		s = strings.ToValidUTF8(s[:40], "") + "…"
	}
	return s
}
