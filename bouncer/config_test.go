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
	cfg := validConfig()
	cfg.Scopes = []string{"read"}
	if b, _ := New(cfg); strings.Join(b.scopes, " ") != "identity read" {
		t.Errorf("scopes %q, want identity added to read", b.scopes)
	}
	cfg.Scopes = []string{"global"}
	if b, _ := New(cfg); strings.Join(b.scopes, " ") != "global" {
		t.Errorf("scopes %q, want global alone", b.scopes)
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
		}
	}
	for _, c := range []struct {
		name   string
		change func(*metadata)
		want   string
	}{
		{"good", func(*metadata) {}, ""},
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
			err := m.validate("https://id.example.com")
			if (err == nil) != (c.want == "") || (err != nil && !strings.Contains(err.Error(), c.want)) {
				t.Errorf("got %v, want %q", err, c.want)
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

	t.Run("fetched once", func(t *testing.T) {
		var hits atomic.Int32
		var srv *httptest.Server
		srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			hits.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"issuer":%q,"authorization_endpoint":"%[1]s/a","token_endpoint":"%[1]s/t","code_challenge_methods_supported":["S256"]}`, srv.URL)
		}))
		defer srv.Close()
		cfg := validConfig()
		cfg.Issuer = srv.URL
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
	})

	// What comes back must be a 200 JSON answer, not a redirect or a page.
	for _, c := range []struct {
		name string
		h    http.HandlerFunc
		want string
	}{
		{"not found", func(w http.ResponseWriter, r *http.Request) { http.NotFound(w, r) }, "status 404"},
		{"redirect", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, "status 302"},
		{"a page", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("<html>")) }, "content type"},
		{"other issuer", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"issuer":"https://evil.example","authorization_endpoint":"https://evil.example/a","token_endpoint":"https://evil.example/t","code_challenge_methods_supported":["S256"]}`))
		}, "is not the configured"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv := httptest.NewServer(c.h)
			defer srv.Close()
			cfg := validConfig()
			cfg.Issuer = srv.URL
			b, err := New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.metadata(context.Background()); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("got %v, want %q", err, c.want)
			}
		})
	}
}
