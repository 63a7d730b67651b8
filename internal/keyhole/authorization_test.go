package keyhole_test

import (
	"slices"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// TestTokenExpired: a token is dead from the instant of its expiry on,
// not one tick later; a token without an expiry never dies of age.
func TestTokenExpired(t *testing.T) {
	at := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	tick := time.Microsecond
	for _, tt := range []struct {
		name    string
		expires time.Time
		now     time.Time
		want    bool
	}{
		{"one tick before", at, at.Add(-tick), false},
		{"at the instant", at, at, true},
		{"one tick after", at, at.Add(tick), true},
		{"long before", at, at.Add(-time.Hour), false},
		{"the same instant in another zone", at, at.In(time.FixedZone("UTC+2", 7200)), true},
		{"no expiry", time.Time{}, at, false},
		{"no expiry, far future", time.Time{}, at.AddDate(100, 0, 0), false},
	} {
		if got := (keyhole.Token{ExpiresAt: tt.expires}).Expired(tt.now); got != tt.want {
			t.Errorf("%s: Expired = %t, want %t (expires %v, now %v)", tt.name, got, tt.want, tt.expires, tt.now)
		}
	}
}

// TestTokenScopeOf: a token's own scope, when it has one, is what it may
// do, even when its authorization grants more.
func TestTokenScopeOf(t *testing.T) {
	a := keyhole.Authorization{Scope: []string{"global"}}
	if got := (keyhole.Token{}).ScopeOf(a); !slices.Equal(got, []string{"global"}) {
		t.Errorf("a token without a scope of its own: %q, want the authorization's", got)
	}
	if got := (keyhole.Token{Scope: []string{"identity"}}).ScopeOf(a); !slices.Equal(got, []string{"identity"}) {
		t.Errorf("a narrowed token: %q, want [identity]", got)
	}
	if got := (keyhole.Token{Scope: []string{}}).ScopeOf(a); len(got) != 0 {
		t.Errorf("a token with an empty scope of its own: %q, want nothing", got)
	}
}

func TestClientKinds(t *testing.T) {
	for _, tt := range []struct {
		name            string
		c               keyhole.Client
		public, builtIn bool
	}{
		{"confidential", keyhole.Client{ID: "8b0c6f9e-5d43-4c1e-9d6f-0a4f1e2b3c4d", SecretHash: "abc"}, false, false},
		{"public", keyhole.Client{ID: "8b0c6f9e-5d43-4c1e-9d6f-0a4f1e2b3c4d"}, true, false},
		{"the CLI", keyhole.Client{ID: keyhole.CLIClientID}, true, true},
		{"a confidential client with the CLI's id", keyhole.Client{ID: keyhole.CLIClientID, SecretHash: "abc"}, false, true},
	} {
		if got := tt.c.Public(); got != tt.public {
			t.Errorf("%s: Public = %t, want %t", tt.name, got, tt.public)
		}
		if got := tt.c.BuiltIn(); got != tt.builtIn {
			t.Errorf("%s: BuiltIn = %t, want %t", tt.name, got, tt.builtIn)
		}
	}
}

func TestLookup(t *testing.T) {
	for _, s := range []string{keyhole.Regions[1].ID, keyhole.Regions[1].Name} {
		if n, ok := keyhole.Lookup(keyhole.Regions, s); !ok || n != keyhole.Regions[1] {
			t.Errorf("Lookup(%q) = %v, %t; want %v", s, n, ok, keyhole.Regions[1])
		}
	}
	for _, s := range []string{"", "mars", "US"} {
		if n, ok := keyhole.Lookup(keyhole.Regions, s); ok {
			t.Errorf("Lookup(%q) = %v, want nothing", s, n)
		}
	}
}
