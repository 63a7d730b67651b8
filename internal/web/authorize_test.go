package web_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// TestAuthorizeRepeatedParameter checks RFC 6749 §3.1 (no parameter more
// than once) with §4.1.2.1: once the client and its redirect URI check
// out, a repeated parameter is sent back to the client as invalid_request
// (with state only when state was sent once); while they do not, or when
// they are what is repeated, it is shown on a page and never redirected.
func TestAuthorizeRepeatedParameter(t *testing.T) {
	s := newOAuthSetup(t)
	c := s.client(t, "Acme", "https://client.example/cb", false)
	good := []string{"client_id", c.ID, "response_type", "code", "redirect_uri", c.RedirectURI}
	with := func(kv ...string) string { return s.authorizeURL(append(slices.Clone(good), kv...)...) }
	for _, tc := range []struct {
		name, url string
		state     bool
	}{
		{"scope", with("scope", "read", "scope", "write", "state", "st"), true},
		{"state", with("state", "a", "state", "b"), false},
		{"response_type", with("response_type", "token", "state", "st"), true},
		{"code_challenge", with("code_challenge", challenge, "code_challenge", challenge, "code_challenge_method", "S256", "state", "st"), true},
		{"an unknown parameter", with("junk", "1", "junk", "2", "state", "st"), true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			q := redirected(t, s.b.do("GET", tc.url, nil), c.RedirectURI)
			if q.Get("error") != "invalid_request" || q.Get("error_description") == "" || q.Has("code") || q.Get("iss") != s.ts.Issuer {
				t.Errorf("answer = %v, want error=invalid_request with a description and iss", q)
			}
			if got := q.Get("state"); tc.state && got != "st" || !tc.state && q.Has("state") {
				t.Errorf("state = %q (sent once: %v)", got, tc.state)
			}
		})
	}
	t.Run("in a POST", func(t *testing.T) {
		form := url.Values{"client_id": {c.ID}, "response_type": {"code"}, "scope": {"read", "write"}}
		if q := redirected(t, s.b.do("POST", s.ts.URL+"/oauth/authorize", form), c.RedirectURI); q.Get("error") != "invalid_request" {
			t.Errorf("answer = %v, want error=invalid_request", q)
		}
	})
	for _, tc := range []struct{ name, url string }{
		{"client_id", with("client_id", c.ID)},
		{"redirect_uri", with("redirect_uri", c.RedirectURI)},
		{"scope, with an unknown client", s.authorizeURL("client_id", "01234567-89ab-cdef-0123-456789abcdef", "response_type", "code", "scope", "a", "scope", "b")},
		{"scope, with another redirect URI", s.authorizeURL("client_id", c.ID, "response_type", "code", "redirect_uri", "https://evil.example/cb", "scope", "a", "scope", "b")},
	} {
		t.Run(tc.name+" is a page", func(t *testing.T) {
			p := s.b.do("GET", tc.url, nil)
			if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
				t.Errorf("got %d Location %q, want a 400 page", p.status, p.header.Get("Location"))
			}
		})
	}
	// A visitor who is not signed in is shown the error, with the way
	// back behind a link (RFC 9700 §4.11.2).
	p := newBrowser(t).do("GET", with("scope", "read", "scope", "write"), nil)
	if p.status != http.StatusBadRequest || p.header.Get("Location") != "" || !strings.Contains(p.body, "error=invalid_request") {
		t.Errorf("signed out: got %d Location %q, want a page linking back with the error", p.status, p.header.Get("Location"))
	}
}
