package server

import (
	"bytes"
	"context"
	"log/slog"
	"testing"
	"time"
)

// TestAccessLineIsSlogs: every line appendAccessLine writes is byte for
// byte what slog's TextHandler writes for the same record; a line it
// declines is one with a string slog might quote, and goes through slog.
func TestAccessLineIsSlogs(t *testing.T) {
	times := []time.Time{
		time.Date(2026, 12, 1, 22, 19, 34, 0, time.UTC),
		time.Date(2026, 12, 1, 22, 19, 34, 120_000_000, time.UTC),
		time.Date(2026, 12, 1, 22, 19, 34, 999_999_999, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 6_000, time.FixedZone("CET", 3600)),
		time.Now(),
	}
	cases := []struct {
		id, method, path string
		plain            bool
	}{
		{"e859b7ab-8919-44c4-b514-64845dba0ed2", "GET", "/account", true},
		{"cli-1,e859b7ab-8919-44c4-b514-64845dba0ed2", "POST", "/oauth/authorizations/0b5c3e7e-0b55-4a53-a1c3-0a4f7d1f3f0e", true},
		{"x", "DELETE", "/a%20b~c_d.e(f)!*':;@&+$,", true},
		{"x", "GET", "/a b", false},
		{"x", "GET", "/a=b", false},
		{"x", "GET", `/a"b`, false},
		{"x", "GET", `/a\b`, false},
		{"x", "GET", "/é", false},
		{"x", "GET", "/tab\there", false},
		{"x", "GET", "", false},
		{"", "GET", "/", false},
	}
	durations := []time.Duration{0, 999, 1234567, 2 * time.Second, 90 * time.Minute}
	for _, when := range times {
		for _, c := range cases {
			for _, d := range durations {
				var want bytes.Buffer
				r := slog.NewRecord(when, slog.LevelInfo, "request", 0)
				r.AddAttrs(slog.String("request_id", c.id), slog.String("method", c.method), slog.String("path", c.path),
					slog.Int("status", 404), slog.Int("bytes", 123), slog.Duration("duration", d))
				if err := slog.NewTextHandler(&want, nil).Handle(context.Background(), r); err != nil {
					t.Fatal(err)
				}
				got, ok := appendAccessLine(nil, when, c.id, c.method, c.path, 404, 123, d)
				if ok != c.plain {
					t.Errorf("%q: written directly = %v, want %v", c.path, ok, c.plain)
				}
				if ok && string(got) != want.String() {
					t.Errorf("direct line differs from slog's:\n got %s\nwant %s", got, want.String())
				}
				if !ok && len(got) != 0 {
					t.Errorf("%q: declined, yet wrote %q", c.path, got)
				}
			}
		}
	}
}

// TestRedactPath: a segment shaped like a Keyhole secret keeps its prefix
// only; other paths are left as they are.
func TestRedactPath(t *testing.T) {
	for in, want := range map[string]string{
		"/account":                             "/account",
		"/apps/khaki-app":                      "/apps/khaki-app",
		"/teams/invitations/khi_abc123/accept": "/teams/invitations/khi_REDACTED/accept",
		"/teams/invitations/khi_abc123":        "/teams/invitations/khi_REDACTED",
		"/oauth/authorizations/kha_x/khr_y":    "/oauth/authorizations/kha_REDACTED/khr_REDACTED",
		"/teams/invitations/khi_":              "/teams/invitations/khi_",
	} {
		if got := redactPath(in); got != want {
			t.Errorf("redactPath(%q) = %q, want %q", in, got, want)
		}
	}
	if n := testing.AllocsPerRun(100, func() { redactPath("/apps/web-app/config-vars") }); n != 0 {
		t.Errorf("redactPath of a plain path allocates %v times", n)
	}
}
