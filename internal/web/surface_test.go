package web

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// newTestWeb builds the surface on a real SQLite service, as keyholetest
// does (which this package cannot import: keyholetest builds the server,
// which imports web). Log lines go to the returned buffer.
func newTestWeb(tb testing.TB) (*Web, *bytes.Buffer) {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "keyhole.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	sealer, err := secret.NewSealer(make([]byte, 32))
	if err != nil {
		tb.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, nil))
	svc, err := service.New(service.Deps{Store: db, Sealer: sealer, Log: log,
		Password: secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16},
		Mail:     &mail.Outbox{Dir: filepath.Join(tb.TempDir(), "outbox"), From: "keyhole@keyhole.test"}, Issuer: "http://keyhole.test"})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(svc.Close)
	return New(Deps{Service: svc, Keys: sealer, Log: log, Issuer: "http://keyhole.test"}), &logs
}

// TestSurfaceRecoversPanics checks that a page handler's panic becomes a
// friendly 500 page with the pages' headers, telling the browser nothing
// of the panic (the log has it), and that an aborted response is left to
// net/http.
func TestSurfaceRecoversPanics(t *testing.T) {
	const marker = "database password is hunter2"
	for _, tc := range []struct {
		name  string
		value any
	}{
		{"string", marker},
		{"error", errors.New(marker)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h, logs := newTestWeb(t)
			rec := httptest.NewRecorder()
			h.surface(func(http.ResponseWriter, *http.Request) { panic(tc.value) }).ServeHTTP(rec, httptest.NewRequest("GET", "/login", nil))
			body, hd := rec.Body.String(), rec.Header()
			if rec.Code != http.StatusInternalServerError || !strings.HasPrefix(hd.Get("Content-Type"), "text/html") || !strings.Contains(body, "<h1>") {
				t.Fatalf("got %d %q %s, want a 500 page", rec.Code, hd.Get("Content-Type"), body)
			}
			for _, leak := range []string{marker, "hunter2", "panic", "goroutine", ".go:"} {
				if strings.Contains(body, leak) {
					t.Errorf("the page shows %q: %s", leak, body)
				}
			}
			if !strings.Contains(hd.Get("Content-Security-Policy"), "frame-ancestors 'none'") || hd.Get("Cache-Control") != "no-store" ||
				hd.Get("X-Frame-Options") != "DENY" || hd.Get("Referrer-Policy") != "no-referrer" {
				t.Errorf("headers = %v, want the pages' security headers", hd)
			}
			if !strings.Contains(logs.String(), marker) {
				t.Errorf("the panic was not logged: %s", logs)
			}
		})
	}

	t.Run("abort", func(t *testing.T) {
		h, _ := newTestWeb(t)
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		h.surface(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }).ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
		t.Error("ServeHTTP returned; want the abort re-panicked")
	})
}
