package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSurfaceRecoversPanic: a panicking handler answers the API's 500,
// with nothing of the panic in the body; an aborted response stays aborted.
func TestSurfaceRecoversPanic(t *testing.T) {
	a := New(Deps{})
	const detail = "secret detail 4711"
	for _, tt := range []struct {
		name  string
		value any
	}{
		{"string", detail},
		{"error", errors.New(detail)},
		{"other", struct{ S string }{detail}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := a.surface(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(tt.value) }))
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/account", nil))
			if rec.Code != http.StatusInternalServerError {
				t.Errorf("status = %d, want 500", rec.Code)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want JSON", ct)
			}
			var body struct{ ID, Message string }
			if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
				t.Fatalf("body is not JSON: %v; %s", err, rec.Body)
			}
			if body.ID != "internal_server_error" || body.Message == "" {
				t.Errorf("body = %s, want id internal_server_error with a message", rec.Body)
			}
			if strings.Contains(rec.Body.String(), "4711") || strings.Contains(rec.Body.String(), "panic") {
				t.Errorf("the body shows the panic: %s", rec.Body)
			}
		})
	}

	t.Run("ErrAbortHandler", func(t *testing.T) {
		h := a.surface(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) }))
		defer func() {
			if v := recover(); v != http.ErrAbortHandler {
				t.Errorf("recovered %v, want http.ErrAbortHandler re-panicked", v)
			}
		}()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/account", nil))
		t.Error("http.ErrAbortHandler was swallowed")
	})
}
