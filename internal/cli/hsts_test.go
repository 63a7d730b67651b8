package cli_test

import (
	"net/http"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/cli"
)

// TestServeHSTSIncludeSubdomains checks --hsts-include-subdomains (env
// KEYHOLE_HSTS_INCLUDE_SUBDOMAINS) end to end: off by default, on when
// set, and refused without https, where no HSTS is sent at all.
func TestServeHSTSIncludeSubdomains(t *testing.T) {
	for _, tc := range []struct {
		name string
		env  map[string]string
		want string
	}{
		{"default", map[string]string{"KEYHOLE_ISSUER": "https://id.example.com"}, "max-age=63072000"},
		{"on", map[string]string{"KEYHOLE_ISSUER": "https://id.example.com", "KEYHOLE_HSTS_INCLUDE_SUBDOMAINS": "true"}, "max-age=63072000; includeSubDomains"},
		{"off", map[string]string{"KEYHOLE_ISSUER": "https://id.example.com", "KEYHOLE_HSTS_INCLUDE_SUBDOMAINS": "off"}, "max-age=63072000"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := http.Get("http://" + serveFor(t, tc.env) + "/healthz")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if got := resp.Header.Get("Strict-Transport-Security"); got != tc.want {
				t.Errorf("Strict-Transport-Security = %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
	}{
		{"over http", nil, []string{"--hsts-include-subdomains"}, "--hsts-include-subdomains needs https"},
		{"an http issuer", map[string]string{"KEYHOLE_HSTS_INCLUDE_SUBDOMAINS": "1"}, []string{"--issuer", "http://id.example.com"}, "--hsts-include-subdomains needs https"},
		{"not a boolean", map[string]string{"KEYHOLE_HSTS_INCLUDE_SUBDOMAINS": "maybe"}, []string{"--issuer", "https://id.example.com"}, "KEYHOLE_HSTS_INCLUDE_SUBDOMAINS"},
	} {
		t.Run("refused: "+tc.name, func(t *testing.T) {
			code, _, stderr := run(t, tc.env, "", append([]string{"serve", "--data-dir", t.TempDir()}, tc.args...)...)
			if code != cli.ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("exit %d, stderr %s; want %d and %q", code, stderr, cli.ExitUsage, tc.want)
			}
		})
	}
}
