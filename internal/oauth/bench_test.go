package oauth_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// BenchmarkClientCredentials measures a whole client-credentials token
// request in process: client authentication (throttled), a token minted
// and written. Run with -bench ClientCredentials.
func BenchmarkClientCredentials(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			h, id, secret, _ := benchServer(b, be)
			form := url.Values{"grant_type": {"client_credentials"}, "scope": {"read"}}.Encode()
			b.SetParallelism(4) // 8 at once on 2 processors, as 8 connections would
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(id, secret)
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

// BenchmarkIntrospect measures an introspection of a live access token by
// its client.
func BenchmarkIntrospect(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			h, id, secret, tok := benchServer(b, be)
			form := url.Values{"token": {tok}}.Encode()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("POST", "/oauth/introspect", strings.NewReader(form))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(id, secret)
					w := httptest.NewRecorder()
					h.ServeHTTP(w, req)
					if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `"active":true`) {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

func benchServer(b *testing.B, be keyholetest.Backend) (http.Handler, string, string, string) {
	ts := keyholetest.NewServer(b, keyholetest.Options{Store: be.Open(b), RateLimit: 1 << 30})
	ts.CreateAccount(b, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(b, "ada@example.com", password))
	if err != nil {
		b.Fatal(err)
	}
	name, redirect := "Bench", "https://app.example/cb"
	c, err := ts.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
	if err != nil {
		b.Fatal(err)
	}
	g, err := ts.Service.ClientCredentials(context.Background(), service.ClientAuth{ID: c.ID, Secret: c.Secret.Reveal()}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return ts.Config.Handler, c.ID, c.Secret.Reveal(), g.Access.Value.Reveal()
}
