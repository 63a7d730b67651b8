package keyhole_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// TestGrantsEveryPair is the whole implication table, pair by pair: what a
// token holding one scope may do. A stronger scope implies the weaker ones
// of its family; nothing but global implies identity, and nothing implies
// global.
func TestGrantsEveryPair(t *testing.T) {
	grants := map[keyhole.Scope][]keyhole.Scope{
		keyhole.ScopeGlobal:         keyhole.APIScopes,
		keyhole.ScopeIdentity:       {keyhole.ScopeIdentity},
		keyhole.ScopeRead:           {keyhole.ScopeRead},
		keyhole.ScopeWrite:          {keyhole.ScopeWrite, keyhole.ScopeRead},
		keyhole.ScopeReadProtected:  {keyhole.ScopeReadProtected, keyhole.ScopeRead},
		keyhole.ScopeWriteProtected: {keyhole.ScopeWriteProtected, keyhole.ScopeWrite, keyhole.ScopeReadProtected, keyhole.ScopeRead},
		// The OpenID Connect scopes reach no Platform API route, and no
		// Platform API scope implies them: an API key is no ID token.
		keyhole.ScopeOpenID:        {keyhole.ScopeOpenID},
		keyhole.ScopeProfile:       {keyhole.ScopeProfile},
		keyhole.ScopeEmail:         {keyhole.ScopeEmail},
		keyhole.ScopeOfflineAccess: {keyhole.ScopeOfflineAccess},
	}
	if len(grants) != len(keyhole.Scopes) {
		t.Fatalf("the table covers %d scopes, Keyhole knows %d", len(grants), len(keyhole.Scopes))
	}
	for _, have := range keyhole.Scopes {
		for _, need := range keyhole.Scopes {
			want := slices.Contains(grants[have], need)
			if got := keyhole.Grants([]keyhole.Scope{have}, need); got != want {
				t.Errorf("Grants([%s], %s) = %t, want %t", have, need, got, want)
			}
		}
	}
}

func TestGrantsEdges(t *testing.T) {
	for _, tt := range []struct {
		name string
		have []keyhole.Scope
		need keyhole.Scope
		want bool
	}{
		{"no scope at all", nil, keyhole.ScopeRead, false},
		{"an empty list", []keyhole.Scope{}, keyhole.ScopeIdentity, false},
		{"an unknown scope held", []keyhole.Scope{"admin"}, keyhole.ScopeRead, false},
		{"an unknown scope needed", []keyhole.Scope{keyhole.ScopeGlobal}, "admin", false},
		{"the empty scope needed", []keyhole.Scope{keyhole.ScopeGlobal}, "", false},
		{"case matters", []keyhole.Scope{"Global"}, keyhole.ScopeRead, false},
		{"any of several", []keyhole.Scope{keyhole.ScopeIdentity, keyhole.ScopeWrite}, keyhole.ScopeRead, true},
		{"none of several", []keyhole.Scope{keyhole.ScopeIdentity, keyhole.ScopeReadProtected}, keyhole.ScopeWrite, false},
	} {
		if got := keyhole.Grants(tt.have, tt.need); got != tt.want {
			t.Errorf("%s: Grants(%q, %q) = %t, want %t", tt.name, tt.have, tt.need, got, tt.want)
		}
	}
}

// TestCovers is the rule of a refresh that narrows (RFC 6749 §6): the
// same access or less, never more.
func TestCovers(t *testing.T) {
	for _, tt := range []struct {
		have, want []keyhole.Scope
		covers     bool
	}{
		{[]keyhole.Scope{"read"}, nil, true},
		{[]keyhole.Scope{"read"}, []keyhole.Scope{"read"}, true},
		{[]keyhole.Scope{"write"}, []keyhole.Scope{"read"}, true},
		{[]keyhole.Scope{"identity", "read"}, []keyhole.Scope{"identity"}, true},
		{[]keyhole.Scope{"global"}, []keyhole.Scope{"identity", "write-protected"}, true},
		{[]keyhole.Scope{"read"}, []keyhole.Scope{"write"}, false},
		{[]keyhole.Scope{"read"}, []keyhole.Scope{"read", "write"}, false},
		{[]keyhole.Scope{"write"}, []keyhole.Scope{"read-protected"}, false},
		{[]keyhole.Scope{"write-protected"}, []keyhole.Scope{"identity"}, false},
		{[]keyhole.Scope{"identity", "read"}, []keyhole.Scope{"global"}, false},
		{nil, []keyhole.Scope{"identity"}, false},
	} {
		if got := keyhole.Covers(tt.have, tt.want); got != tt.covers {
			t.Errorf("Covers(%q, %q) = %t, want %t", tt.have, tt.want, got, tt.covers)
		}
	}
}

func TestValidScope(t *testing.T) {
	for _, s := range keyhole.Scopes {
		if !keyhole.ValidScope(s) {
			t.Errorf("ValidScope(%q) = false", s)
		}
		if keyhole.ScopeDescriptions[s] == "" {
			t.Errorf("scope %q has no description", s)
		}
	}
	for _, s := range []string{"", "Global", "root", "read ", "read,write", "global\x00"} {
		if keyhole.ValidScope(s) {
			t.Errorf("ValidScope(%q) = true", s)
		}
	}
}

// TestDefaultScopes: what a request naming no scope gets. An account's
// request gets global, as Heroku's CLI relies on; a client acting as
// itself the least there is.
func TestDefaultScopes(t *testing.T) {
	if !slices.Equal(keyhole.DefaultScope, []keyhole.Scope{keyhole.ScopeGlobal}) {
		t.Errorf("DefaultScope = %q, want [global]", keyhole.DefaultScope)
	}
	if !slices.Equal(keyhole.ClientScope, []keyhole.Scope{keyhole.ScopeIdentity}) {
		t.Errorf("ClientScope = %q, want [identity]", keyhole.ClientScope)
	}
}

func TestNormalizeScopes(t *testing.T) {
	in := []string{"write", "read", "write", "identity", "read"}
	got := keyhole.NormalizeScopes(in)
	if want := []string{"identity", "read", "write"}; !slices.Equal(got, want) {
		t.Errorf("NormalizeScopes(%q) = %q, want %q", in, got, want)
	}
	if in[0] != "write" || in[1] != "read" {
		t.Errorf("NormalizeScopes changed its input: %q", in)
	}
	if got := keyhole.NormalizeScopes(nil); len(got) != 0 {
		t.Errorf("NormalizeScopes(nil) = %q", got)
	}
}

func TestSplitScope(t *testing.T) {
	for raw, want := range map[string][]string{
		"":                     nil,
		"read":                 {"read"},
		"read write":           {"read", "write"},
		"read,write":           {"read", "write"},
		"read+write":           {"read", "write"},
		"  read ,, write +  ":  {"read", "write"},
		"identity read,global": {"identity", "read", "global"},
		"read\twrite":          {"read\twrite"},
	} {
		if got := keyhole.SplitScope(raw); !slices.Equal(got, want) {
			t.Errorf("SplitScope(%q) = %q, want %q", raw, got, want)
		}
	}
}

func TestCheckScopes(t *testing.T) {
	for _, tt := range []struct {
		name string
		list []string
		def  []keyhole.Scope
		want []keyhole.Scope
	}{
		{"empty takes the default", nil, keyhole.DefaultScope, []keyhole.Scope{"global"}},
		{"empty takes the client default", []string{}, keyhole.ClientScope, []keyhole.Scope{"identity"}},
		{"empty without a default", nil, nil, nil},
		{"one", []string{"read"}, keyhole.DefaultScope, []keyhole.Scope{"read"}},
		{"sorted, once each", []string{"write", "identity", "write"}, keyhole.DefaultScope, []keyhole.Scope{"identity", "write"}},
		{"every scope", slices.Clone(keyhole.Scopes), nil, keyhole.NormalizeScopes(keyhole.Scopes)},
	} {
		got, err := keyhole.CheckScopes(tt.list, tt.def)
		if err != nil || !slices.Equal(got, tt.want) {
			t.Errorf("%s: CheckScopes(%q, %q) = %q, %v; want %q", tt.name, tt.list, tt.def, got, err, tt.want)
		}
	}
	for _, list := range [][]string{{"root"}, {"read", "admin"}, {""}, {"Global"}, {"read", "read "}} {
		got, err := keyhole.CheckScopes(list, keyhole.DefaultScope)
		if keyhole.ErrorCode(err) != keyhole.InvalidScope || got != nil {
			t.Errorf("CheckScopes(%q) = %q, %v; want nil and invalid_scope", list, got, err)
		}
	}
	// The default is copied: a caller changing what it got changes no
	// other request's default.
	got, _ := keyhole.CheckScopes(nil, keyhole.DefaultScope)
	got[0] = keyhole.ScopeIdentity
	if keyhole.DefaultScope[0] != keyhole.ScopeGlobal {
		t.Fatalf("changing CheckScopes' answer changed DefaultScope to %q", keyhole.DefaultScope)
	}
}

// TestCheckScopesNamesTheUnknownOne: the message names the first unknown
// scope, clipped and made valid UTF-8, and lists the valid ones.
func TestCheckScopesNamesTheUnknownOne(t *testing.T) {
	_, err := keyhole.CheckScopes([]string{"read", "root", "admin"}, nil)
	msg := keyhole.ErrorMessage(err)
	if !strings.Contains(msg, `"root"`) || strings.Contains(msg, "admin") || !strings.Contains(msg, strings.Join(keyhole.Scopes, ", ")) {
		t.Errorf("message %q: want it to name \"root\" only and list the valid scopes", msg)
	}
	long := strings.Repeat("x", 100) + "\xff"
	_, err = keyhole.CheckScopes([]string{long}, nil)
	msg = keyhole.ErrorMessage(err)
	if !strings.Contains(msg, `"`+strings.Repeat("x", 40)+`…"`) || strings.Contains(msg, strings.Repeat("x", 41)) {
		t.Errorf("message %q: want the name clipped to 40 characters", msg)
	}
	_, err = keyhole.CheckScopes([]string{strings.Repeat("y", 40)}, nil)
	if msg := keyhole.ErrorMessage(err); !strings.Contains(msg, `"`+strings.Repeat("y", 40)+`"`) {
		t.Errorf("message %q: want a name of 40 characters whole", msg)
	}
	_, err = keyhole.CheckScopes([]string{"bad\xffname"}, nil)
	if msg := keyhole.ErrorMessage(err); !strings.Contains(msg, `"badname"`) {
		t.Errorf("message %q: want the invalid UTF-8 left out", msg)
	}
}

func TestParseScope(t *testing.T) {
	for raw, want := range map[string][]keyhole.Scope{
		"":                    {"global"},
		"   ":                 {"global"},
		"read":                {"read"},
		"write,read":          {"read", "write"},
		"identity+identity":   {"identity"},
		"read-protected read": {"read", "read-protected"},
	} {
		got, err := keyhole.ParseScope(raw, keyhole.DefaultScope)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseScope(%q) = %q, %v; want %q", raw, got, err, want)
		}
	}
	for _, raw := range []string{"root", "read root", "read\twrite", "global;read"} {
		if _, err := keyhole.ParseScope(raw, keyhole.DefaultScope); keyhole.ErrorCode(err) != keyhole.InvalidScope {
			t.Errorf("ParseScope(%q): %v, want invalid_scope", raw, err)
		}
	}
}

func TestJoinScope(t *testing.T) {
	if got := keyhole.JoinScope([]keyhole.Scope{"identity", "read"}); got != "identity read" {
		t.Errorf("JoinScope = %q, want \"identity read\" (RFC 6749 §3.3)", got)
	}
	got, err := keyhole.ParseScope(keyhole.JoinScope(keyhole.Scopes), nil)
	if err != nil || !slices.Equal(got, keyhole.NormalizeScopes(keyhole.Scopes)) {
		t.Errorf("ParseScope(JoinScope(every scope)) = %q, %v", got, err)
	}
}
