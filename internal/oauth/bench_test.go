package oauth_test

import (
	"context"
	"encoding/json"
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
	ts, _, id, secret := benchOIDC(b, be)
	g, err := ts.Service.ClientCredentials(context.Background(), service.ClientAuth{ID: id, Secret: secret}, nil)
	if err != nil {
		b.Fatal(err)
	}
	return ts.Config.Handler, id, secret, g.Access.Value.Reveal()
}

// BenchmarkRefresh measures a refresh grant over HTTP, one after another
// (each presents the refresh token the last one returned): plain, and for
// an openid grant, where every answer carries a new ID token signed
// RS256. Run with -bench Refresh.
func BenchmarkRefresh(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		for _, scope := range []string{"identity", "openid email"} {
			b.Run(be.Name+"/"+strings.ReplaceAll(scope, " ", "+"), func(b *testing.B) {
				ts, actor, id, secret := benchOIDC(b, be)
				g, err := ts.Service.CreateGrant(context.Background(), actor, service.GrantParams{ClientID: id, Scope: strings.Fields(scope)})
				if err != nil {
					b.Fatal(err)
				}
				tg, err := ts.Service.Exchange(context.Background(), service.TokenRequest{GrantType: service.GrantAuthorizationCode,
					Client: service.ClientAuth{ID: id, Secret: secret}, Code: g.Grant.Value.Reveal()})
				if err != nil {
					b.Fatal(err)
				}
				refresh := tg.Refresh.Value.Reveal()
				b.ReportAllocs()
				for b.Loop() {
					req := httptest.NewRequest("POST", "/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(id, secret)
					w := httptest.NewRecorder()
					ts.Config.Handler.ServeHTTP(w, req)
					var body struct {
						Refresh string `json:"refresh_token"`
						IDToken string `json:"id_token"`
					}
					if w.Code != http.StatusOK || json.Unmarshal(w.Body.Bytes(), &body) != nil || (body.IDToken == "") == strings.Contains(scope, "openid") {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
					refresh = body.Refresh
				}
			})
		}
	}
}

// BenchmarkUserinfo measures GET /oauth/userinfo with an openid access
// token, 8 at once.
func BenchmarkUserinfo(b *testing.B) {
	for _, be := range keyholetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			ts, actor, id, secret := benchOIDC(b, be)
			g, err := ts.Service.CreateGrant(context.Background(), actor, service.GrantParams{ClientID: id, Scope: []string{"openid", "email", "profile"}})
			if err != nil {
				b.Fatal(err)
			}
			tg, err := ts.Service.Exchange(context.Background(), service.TokenRequest{GrantType: service.GrantAuthorizationCode,
				Client: service.ClientAuth{ID: id, Secret: secret}, Code: g.Grant.Value.Reveal()})
			if err != nil {
				b.Fatal(err)
			}
			access := "Bearer " + tg.Access.Value.Reveal()
			b.SetParallelism(4)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest("GET", "/oauth/userinfo", nil)
					req.Header.Set("Authorization", access)
					w := httptest.NewRecorder()
					ts.Config.Handler.ServeHTTP(w, req)
					if w.Code != http.StatusOK {
						b.Fatalf("status %d: %s", w.Code, w.Body)
					}
				}
			})
		})
	}
}

// BenchmarkJWKS measures GET /.well-known/jwks.json, 8 at once.
func BenchmarkJWKS(b *testing.B) {
	ts, _, _, _ := benchOIDC(b, keyholetest.Backends(b)[0])
	b.SetParallelism(4)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			w := httptest.NewRecorder()
			ts.Config.Handler.ServeHTTP(w, httptest.NewRequest("GET", "/.well-known/jwks.json", nil))
			if w.Code != http.StatusOK {
				b.Fatalf("status %d: %s", w.Code, w.Body)
			}
		}
	})
}

// benchOIDC starts a server with an account and a confidential client,
// and returns it, the account's actor and the client's credentials.
func benchOIDC(b *testing.B, be keyholetest.Backend) (*keyholetest.Server, service.Actor, string, string) {
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
	return ts, actor, c.ID, c.Secret.Reveal()
}
