package oauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestSurfaceRecoversPanics(t *testing.T) {
	o := New(Deps{})
	serve := func(v any) *httptest.ResponseRecorder {
		rec := httptest.NewRecorder()
		o.surface(func(http.ResponseWriter, *http.Request) { panic(v) }).ServeHTTP(rec, httptest.NewRequest("POST", "/oauth/token", nil))
		return rec
	}

	rec := serve("boom")
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || rec.Code != 500 || body["error"] != "server_error" {
		t.Errorf("got %d %s, want 500 {\"error\":\"server_error\"}", rec.Code, rec.Body)
	}
	if got := rec.Header().Get("Content-Type"); !strings.HasPrefix(got, "application/json") {
		t.Errorf("got Content-Type %q, want application/json", got)
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("got Cache-Control %q, want no-store", got)
	}
	if strings.Contains(rec.Body.String(), "boom") {
		t.Errorf("the panic's value reached the client: %s", rec.Body)
	}

	// net/http's own signal to abort a response is passed on.
	defer func() {
		if v := recover(); v != http.ErrAbortHandler {
			t.Errorf("got panic %v, want http.ErrAbortHandler re-panicked", v)
		}
	}()
	serve(http.ErrAbortHandler)
}
