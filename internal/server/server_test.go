package server_test

import (
	"net/http/httptest"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/server"
)

// TestHSTSIncludeSubdomains checks the Strict-Transport-Security header
// with HSTSIncludeSubdomains off (the default) and on: the domain alone,
// or every subdomain too; and that over http there is none either way.
func TestHSTSIncludeSubdomains(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	for _, tc := range []struct {
		name       string
		issuer     string
		subdomains bool
		want       string
	}{
		{"https, off", "https://id.example.com", false, "max-age=63072000"},
		{"https, on", "https://id.example.com", true, "max-age=63072000; includeSubDomains"},
		{"http, off", "http://127.0.0.1:5000", false, ""},
		{"http, on", "http://127.0.0.1:5000", true, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := server.New(server.Config{Service: ts.Service, Keys: ts.Keys, Issuer: tc.issuer, HSTSIncludeSubdomains: tc.subdomains})
			for _, path := range []string{"/login", "/healthz", "/account", "/oauth/token"} {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest("GET", tc.issuer+path, nil))
				if got := rec.Header().Values("Strict-Transport-Security"); len(got) > 1 || rec.Header().Get("Strict-Transport-Security") != tc.want {
					t.Errorf("GET %s: Strict-Transport-Security = %q, want %q", path, got, tc.want)
				}
			}
		})
	}
}
