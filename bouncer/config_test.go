package bouncer

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func validConfig() Config {
	return Config{
		Issuer: "https://id.example.com", ClientID: "id", ClientSecret: "secret",
		RedirectURL: "https://app.example.com/auth/callback", HashKey: randomKey(32), BlockKey: randomKey(16),
	}
}

// TestNew: New reports every problem of a configuration at once.
func TestNew(t *testing.T) {
	_, err := New(Config{})
	if err == nil {
		t.Fatal("New accepted an empty Config")
	}
	for _, want := range []string{"Issuer is required", "ClientID is required", "ClientSecret is required", "RedirectURL is required", "HashKey must be at least 32 bytes", "BlockKey must be 16, 24 or 32 bytes"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
	for _, c := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"issuer not a URL", func(c *Config) { c.Issuer = "id.example.com" }, "Issuer"},
		{"issuer with a query", func(c *Config) { c.Issuer = "https://id.example.com/?x=1" }, "Issuer"},
		{"issuer with an empty query", func(c *Config) { c.Issuer = "https://id.example.com/?" }, "Issuer"},
		{"redirect without path", func(c *Config) { c.RedirectURL = "https://app.example.com" }, "RedirectURL"},
		{"short block key", func(c *Config) { c.BlockKey = randomKey(15) }, "BlockKey"},
		{"same keys", func(c *Config) { c.BlockKey = c.HashKey }, "must differ"},
		{"unknown scope", func(c *Config) { c.Scopes = []string{"root"} }, `unknown scope "root"`},
		{"bad email", func(c *Config) { c.AllowEmails = []string{"example.com"} }, "AllowEmails"},
		{"bad domain", func(c *Config) { c.AllowDomains = []string{"ada@example.com"} }, "AllowDomains"},
		{"relative sign-in path", func(c *Config) { c.SignInPath = "signin" }, "SignInPath"},
		{"callback on the sign-out path", func(c *Config) { c.SignOutPath = "/auth/callback" }, "also SignInPath or SignOutPath"},
		{"relative post-logout URL", func(c *Config) { c.PostLogoutURL = "/signed-out" }, "PostLogoutURL"},
		{"post-logout URL on plain OAuth", func(c *Config) {
			c.Scopes, c.PostLogoutURL = []string{"identity"}, "https://app.example.com/"
		}, "PostLogoutURL needs openid"},
		{"allow-list without email", func(c *Config) {
			c.Scopes, c.AllowDomains = []string{"openid", "profile"}, []string{"example.com"}
		}, "need the email scope"},
	} {
		t.Run(c.name, func(t *testing.T) {
			cfg := validConfig()
			c.change(&cfg)
			if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want an error naming %q", err, c.want)
			}
		})
	}
	b, err := New(validConfig())
	if err != nil {
		t.Fatal(err)
	}
	if b.cookies.name != "__Host-bouncer" || !b.cookies.secure {
		t.Errorf("over https the cookie is %q, secure=%v", b.cookies.name, b.cookies.secure)
	}
	if strings.Join(b.scopes, " ") != "email openid profile" || !b.openID {
		t.Errorf("default scopes %q (OpenID Connect: %v), want openid email profile", b.scopes, b.openID)
	}
	for _, c := range []struct {
		scopes []string
		want   string
		openID bool
	}{
		{[]string{"identity"}, "identity", false},
		{[]string{"read"}, "identity read", false},
		{[]string{"global"}, "global", false},
		{[]string{"openid"}, "openid", true},
		{[]string{"openid", "read"}, "openid read", true},
	} {
		cfg := validConfig()
		cfg.Scopes = c.scopes
		if b, err := New(cfg); err != nil || strings.Join(b.scopes, " ") != c.want || b.openID != c.openID {
			t.Errorf("Scopes %q: %q, OpenID Connect %v, %v; want %q, %v", c.scopes, b.scopes, b.openID, err, c.want, c.openID)
		}
	}
}

// TestMetadata: the metadata must be Keyhole's own, for the issuer
// configured, with PKCE S256.
func TestMetadata(t *testing.T) {
	good := func() metadata {
		return metadata{
			Issuer: "https://id.example.com", AuthorizationEndpoint: "https://id.example.com/oauth/authorize",
			TokenEndpoint: "https://id.example.com/oauth/token", RevocationEndpoint: "https://id.example.com/oauth/revoke",
			ResponseTypes: []string{"code"}, CodeChallengeMethods: []string{"S256"},
			JWKSURI: "https://id.example.com/.well-known/jwks.json", UserinfoEndpoint: "https://id.example.com/oauth/userinfo",
			EndSessionEndpoint: "https://id.example.com/oauth/logout",
		}
	}
	for _, c := range []struct {
		name   string
		change func(*metadata)
		want   string
	}{
		{"good", func(*metadata) {}, ""},
		{"no end_session_endpoint", func(m *metadata) { m.EndSessionEndpoint = "" }, ""},
		{"no userinfo_endpoint", func(m *metadata) { m.UserinfoEndpoint = "" }, "userinfo_endpoint"},
		{"no jwks_uri", func(m *metadata) { m.JWKSURI = "" }, "jwks_uri"},
		{"http end_session_endpoint", func(m *metadata) { m.EndSessionEndpoint = "http://id.example.com/oauth/logout" }, "is not https"},
		{"no revocation endpoint", func(m *metadata) { m.RevocationEndpoint = "" }, ""},
		{"another issuer", func(m *metadata) { m.Issuer = "https://evil.example" }, "is not the configured"},
		{"issuer with a slash", func(m *metadata) { m.Issuer += "/" }, "is not the configured"},
		{"no PKCE", func(m *metadata) { m.CodeChallengeMethods = nil }, "lacks S256"},
		{"plain PKCE only", func(m *metadata) { m.CodeChallengeMethods = []string{"plain"} }, "lacks S256"},
		{"no code flow", func(m *metadata) { m.ResponseTypes = []string{"token"} }, "lacks code"},
		{"http token endpoint", func(m *metadata) { m.TokenEndpoint = "http://id.example.com/oauth/token" }, "is not https"},
		{"relative endpoint", func(m *metadata) { m.AuthorizationEndpoint = "/oauth/authorize" }, "is not an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := good()
			c.change(&m)
			err := m.validate("https://id.example.com", true)
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("got %v, want %q", err, c.want)
			}
			// Plain OAuth needs none of OpenID Connect's endpoints.
			m.JWKSURI, m.UserinfoEndpoint, m.EndSessionEndpoint = "", "", ""
			oauthWant := c.want
			if strings.Contains(c.name, "userinfo") || strings.Contains(c.name, "jwks") || strings.Contains(c.name, "end_session") {
				oauthWant = ""
			}
			if err := m.validate("https://id.example.com", false); (err == nil) != (oauthWant == "") || (err != nil && !strings.Contains(err.Error(), oauthWant)) {
				t.Errorf("plain OAuth: got %v, want %q", err, oauthWant)
			}
		})
	}

	for issuer, want := range map[string]string{
		"https://id.example.com":         "https://id.example.com/.well-known/oauth-authorization-server",
		"https://example.com/keyhole":    "https://example.com/.well-known/oauth-authorization-server/keyhole",
		"http://127.0.0.1:5000":          "http://127.0.0.1:5000/.well-known/oauth-authorization-server",
		"https://example.com/with space": "https://example.com/.well-known/oauth-authorization-server/with%20space",
	} {
		if got := metadataURL(issuer); got != want {
			t.Errorf("metadataURL(%q) = %q, want %q", issuer, got, want)
		}
	}

	for _, m := range modes {
		t.Run("fetched once/"+m.name, func(t *testing.T) {
			var hits atomic.Int32
			var paths sync.Map
			var srv *httptest.Server
			srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				hits.Add(1)
				paths.Store(r.URL.Path, true)
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/a","token_endpoint":"%[1]s/t","jwks_uri":"%[1]s/k","userinfo_endpoint":"%[1]s/u","code_challenge_methods_supported":["S256"]}`, srv.URL)
			}))
			defer srv.Close()
			cfg := validConfig()
			cfg.Issuer, cfg.Scopes = srv.URL, m.scopes
			b, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() {
					if _, err := b.metadata(context.Background()); err != nil {
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if n := hits.Load(); n != 1 {
				t.Errorf("20 callers fetched the metadata %d times, want 1", n)
			}
			want := "/.well-known/oauth-authorization-server"
			if m.scopes == nil {
				want = "/.well-known/openid-configuration"
			}
			if _, ok := paths.Load(want); !ok {
				t.Errorf("the metadata was not read at %s", want)
			}
		})
	}

	// What comes back must be a 200 JSON answer, not a redirect or a page,
	// for the issuer configured (go-oidc says so on OpenID Connect).
	for _, c := range []struct {
		name               string
		h                  http.HandlerFunc
		wantOAuth, wantOID string
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "status 404", "404 Not Found"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, "status 302", "302 Found"},
		{"a page", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "content type", "expected Content-Type = application/json"},
		{"other issuer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t","jwks_uri":"https://evil.example/k","userinfo_endpoint":"https://evil.example/u","code_challenge_methods_supported":["S256"]}`))
		}, "is not the configured", "did not match the issuer URL"},
	} {
		for _, m := range modes {
			t.Run(c.name+"/"+m.name, func(t *testing.T) {
				srv := httptest.NewServer(c.h)
				defer srv.Close()
				cfg := validConfig()
				cfg.Issuer, cfg.Scopes = srv.URL, m.scopes
				b, err := New(cfg)
				if err != nil {
					t.Fatal(err)
				}
				want := c.wantOAuth
				if m.scopes == nil {
					want = c.wantOID
				}
				if _, err := b.metadata(context.Background()); err == nil || !strings.Contains(err.Error(), want) {
					t.Errorf("got %v, want %q", err, want)
				}
			})
		}
	}

	// On OpenID Connect an issuer that differs by a trailing slash is
	// another issuer (Discovery 1.0 §4.3).
	t.Run("issuer with a slash/openid", func(t *testing.T) {
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":"%s/","authorization_endpoint":"%[1]s/a","token_endpoint":"%[1]s/t","jwks_uri":"%[1]s/k","userinfo_endpoint":"%[1]s/u","code_challenge_methods_supported":["S256"]}`, srv.URL)
		}))
		defer srv.Close()
		cfg := validConfig()
		cfg.Issuer = srv.URL
		b, _ := New(cfg)
		if _, err := b.metadata(context.Background()); err == nil || !strings.Contains(err.Error(), "did not match the issuer URL") {
			t.Errorf("got %v, want an issuer mismatch", err)
		}
	})
}
