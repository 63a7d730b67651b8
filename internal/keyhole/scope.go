package keyhole

import "slices"

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
)

// Scopes lists every scope, in the order they are documented.
var Scopes = []Scope{ScopeGlobal, ScopeIdentity, ScopeRead, ScopeWrite, ScopeReadProtected, ScopeWriteProtected}

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

// NormalizeScopes sorts and de-duplicates a scope list.
func NormalizeScopes(in []string) []string {
	out := slices.Clone(in)
	slices.Sort(out)
	return slices.Compact(out)
}
