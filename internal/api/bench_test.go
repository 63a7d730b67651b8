package api_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// BenchmarkAuthenticatedRequest measures a whole authenticated Platform API
// call in process: Bearer token parsed, checksum checked, hashed, looked up
// with its authorization in one query, scope checked, account read and
// encoded. Run with -bench AuthenticatedRequest; KEYHOLE_TEST_POSTGRES adds
// the PostgreSQL backend.
func BenchmarkAuthenticatedRequest(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ts := keyholetest.NewServer(b, keyholetest.Options{Store: be.Open(b), RateLimit: 1 << 30})
			ts.CreateAccount(b, "ada@example.com", password)
			tok := ts.Login(b, "ada@example.com", password)
			h := ts.Config.Handler
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/account", nil)
					req.Header.Set("Authorization", "Bearer "+tok)
					req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// BenchmarkRejectedToken measures the refusal of a malformed token, which
// never reaches the database.
func BenchmarkRejectedToken(b *testing.B) {
	ts := keyholetest.NewServer(b, keyholetest.Options{RateLimit: 1 << 30})
	h := ts.Config.Handler
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("GET", "/account", nil)
		req.Header.Set("Authorization", "Bearer kha_0000000000000000000000000000000000000000000000000")
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code != http.StatusUnauthorized {
			b.Fatalf("status %d", w.Code)
		}
	}
}

// BenchmarkAppAccess measures GET /apps/{app}/config-vars by who asks: the
// owner of a personal app (no read beyond the app), a team's admin (its
// membership read) and a collaborator outside the team (membership and
// grant read): the cost of the permission rule, which reads the database
// on every request and caches nothing.
func BenchmarkAppAccess(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ts := keyholetest.NewServer(b, keyholetest.Options{Store: be.Open(b), RateLimit: 1 << 30})
			c := client{t: b, base: ts.URL}
			tok := map[string]string{}
			for _, who := range []string{"owner", "admin", "collaborator"} {
				ts.CreateAccount(b, who+"@example.com", password)
				tok[who] = ts.Login(b, who+"@example.com", password)
			}
			c.do("POST", "/apps", map[string]any{"name": "own-app"}, bearer(tok["owner"])).wantStatus(b, 201)
			c.do("POST", "/teams", map[string]any{"name": "bench"}, bearer(tok["admin"])).wantStatus(b, 201)
			c.do("POST", "/teams/apps", map[string]any{"name": "team-app", "team": "bench"}, bearer(tok["admin"])).wantStatus(b, 201)
			c.do("POST", "/teams/apps/team-app/collaborators", map[string]any{"user": "collaborator@example.com", "permissions": []string{"deploy"}}, bearer(tok["admin"])).wantStatus(b, 201)
			h := ts.Config.Handler
			for _, k := range []struct{ who, app string }{{"owner", "own-app"}, {"admin", "team-app"}, {"collaborator", "team-app"}} {
				b.Run(k.who, func(b *testing.B) {
					b.ReportAllocs()
					b.RunParallel(func(pb *testing.PB) {
						for pb.Next() {
							req := httptest.NewRequest("GET", "/apps/"+k.app+"/config-vars", nil)
							req.Header.Set("Authorization", "Bearer "+tok[k.who])
							req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
							w := httptest.NewRecorder()
							h.ServeHTTP(w, req)
							if w.Code != http.StatusOK {
								b.Fatalf("status %d: %s", w.Code, w.Body)
							}
						}
					})
				})
			}
		})
	}
}
