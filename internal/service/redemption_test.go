package service_test

import (
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// TestGrantCodeExpiresAtGrantTTL: a grant code is redeemed up to one tick
// before GrantTTL and refused at the instant.
func TestGrantCodeExpiresAtGrantTTL(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		start := r.now()
		for _, at := range around(start.Add(service.GrantTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				code := r.code(app, "read")
				r.at(at.when)
				_, err := r.redeem(app, code)
				if at.inside {
					wantCode(t, "redeem", err, "")
				} else {
					wantCode(t, "redeem", err, keyhole.InvalidGrant)
				}
			})
		}
	})
}

// TestGrantCodeBindings: a code is bound to its client, to the
// redirect_uri its request named and to its PKCE challenge. Each refusal
// leaves the code usable by the right request (x/oauth2 retries a failed
// exchange), and its replay revokes what it issued.
func TestGrantCodeBindings(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app, other := r.client("App", false), r.client("Other", false)
		const redirect = "https://app.example/cb"
		challenge := service.S256(pkceVerifier)
		info, err := r.svc.CreateGrant(r.ctx, r.actor, service.GrantParams{ClientID: app.ID, Scope: []string{"read"}, RedirectURI: redirect, CodeChallenge: challenge})
		if err != nil {
			t.Fatal(err)
		}
		code := info.Grant.Value.Reveal()
		req := func(mod func(*service.TokenRequest)) service.TokenRequest {
			q := service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: auth(app), Code: code, RedirectURI: redirect, CodeVerifier: pkceVerifier}
			mod(&q)
			return q
		}
		for _, tt := range []struct {
			name string
			req  service.TokenRequest
			want string
		}{
			{"another client", req(func(q *service.TokenRequest) { q.Client = auth(other) }), keyhole.InvalidGrant},
			{"another client naming no id", req(func(q *service.TokenRequest) { q.Client = service.ClientAuth{Secret: other.Secret.Reveal()} }), keyhole.InvalidClient},
			{"a wrong secret", req(func(q *service.TokenRequest) { q.Client.Secret = "khs_wrong" }), keyhole.InvalidClient},
			{"no secret", req(func(q *service.TokenRequest) { q.Client.Secret = "" }), keyhole.InvalidClient},
			{"no redirect_uri", req(func(q *service.TokenRequest) { q.RedirectURI = "" }), keyhole.InvalidGrant},
			{"another redirect_uri", req(func(q *service.TokenRequest) { q.RedirectURI = redirect + "/more" }), keyhole.InvalidGrant},
			{"a redirect_uri differing in case", req(func(q *service.TokenRequest) { q.RedirectURI = "https://App.example/cb" }), keyhole.InvalidGrant},
			{"no verifier", req(func(q *service.TokenRequest) { q.CodeVerifier = "" }), keyhole.InvalidGrant},
			{"a malformed verifier", req(func(q *service.TokenRequest) { q.CodeVerifier = pkceVerifier[:42] }), keyhole.InvalidGrant},
			{"another verifier", req(func(q *service.TokenRequest) { q.CodeVerifier = pkceVerifier[:50] + "xyz" }), keyhole.InvalidGrant},
			{"the challenge as verifier", req(func(q *service.TokenRequest) { q.CodeVerifier = challenge }), keyhole.InvalidGrant},
			{"a refresh token's grant type", req(func(q *service.TokenRequest) { q.GrantType = service.GrantRefreshToken; q.RefreshToken = code }), keyhole.InvalidGrant},
			{"no code", req(func(q *service.TokenRequest) { q.Code = "" }), keyhole.Invalid},
			{"a malformed code", req(func(q *service.TokenRequest) { q.Code = code[:len(code)-1] + "x" }), keyhole.InvalidGrant},
		} {
			_, err := r.svc.Exchange(r.ctx, tt.req)
			wantCode(t, tt.name, err, tt.want)
		}
		g, err := r.svc.Exchange(r.ctx, req(func(*service.TokenRequest) {}))
		if err != nil {
			t.Fatalf("the right request after the refusals: %v", err)
		}
		r.verify(g.Access.Value.Reveal())

		// A replay: refused, and the authorization it made is revoked.
		_, err = r.svc.Exchange(r.ctx, req(func(*service.TokenRequest) {}))
		wantCode(t, "a replay of the code", err, keyhole.InvalidGrant)
		_, err = r.svc.VerifyToken(r.ctx, g.Access.Value.Reveal())
		wantCode(t, "the access token after the replay", err, keyhole.Unauthorized)
		_, err = r.refresh(app, g.Refresh)
		wantCode(t, "the refresh token after the replay", err, keyhole.InvalidGrant)

		// A code made without PKCE takes no verifier (a downgrade), and one
		// made without redirect_uri needs none.
		plain := r.code(app, "read")
		_, err = r.svc.Exchange(r.ctx, service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: auth(app), Code: plain, CodeVerifier: pkceVerifier})
		wantCode(t, "a verifier for a code without challenge", err, keyhole.InvalidGrant)
		_, err = r.svc.Exchange(r.ctx, service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: auth(app), Code: plain})
		wantCode(t, "the code without challenge, redeemed plainly", err, "")
	})
}

// TestRefreshRules: a refresh token works for its own client only, may
// narrow its scope but never widen it (not even back to what the
// authorization grants), is not an access token, and its use after it
// was rotated (beyond any grace) revokes the authorization.
func TestRefreshRules(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			// No grace: a rotated token presented again is a reuse at once.
			r := newRigWith(t, be, keyholetest.Options{RefreshGrace: -1})
			app, other := r.client("App", false), r.client("Other", false)
			g := r.tokens(app, "identity", "read")

			_, err := r.refresh(other, g.Refresh)
			wantCode(t, "another client's refresh token", err, keyhole.InvalidGrant)
			_, err = r.svc.VerifyToken(r.ctx, g.Refresh.Value.Reveal())
			wantCode(t, "the refresh token as a bearer token", err, keyhole.Unauthorized)
			_, err = r.svc.Exchange(r.ctx, service.TokenRequest{GrantType: service.GrantRefreshToken, Client: auth(app), RefreshToken: g.Access.Value.Reveal()})
			wantCode(t, "the access token as a refresh token", err, keyhole.InvalidGrant)
			for _, scope := range [][]string{{"write"}, {"global"}, {"identity", "read", "read-protected"}, {"root"}} {
				_, err := r.refresh(app, g.Refresh, scope...)
				if keyhole.ErrorCode(err) != keyhole.InvalidScope {
					t.Errorf("a refresh widened to %q: %v, want invalid_scope", scope, err)
				}
			}
			narrow, err := r.refresh(app, g.Refresh, "identity")
			if err != nil {
				t.Fatalf("narrowing to identity: %v", err)
			}
			a := r.verify(narrow.Access.Value.Reveal())
			if a.Can(keyhole.ScopeRead) || !a.Can(keyhole.ScopeIdentity) {
				t.Errorf("the narrowed token's scope is %q, want [identity]", a.Scope)
			}
			_, err = r.refresh(app, narrow.Refresh, "read")
			wantCode(t, "widening a narrowed token back to read", err, keyhole.InvalidScope)
			again, err := r.refresh(app, narrow.Refresh)
			if err != nil {
				t.Fatal(err)
			}
			if a := r.verify(again.Access.Value.Reveal()); a.Can(keyhole.ScopeRead) {
				t.Errorf("refreshing a narrowed token without a scope gave %q, want it narrow still", a.Scope)
			}
			// The rotated token is not live: introspection says inactive
			// and revoking it changes nothing.
			in, err := r.svc.Introspect(r.ctx, auth(app), narrow.Refresh.Value.Reveal())
			if err != nil || in.Active {
				t.Errorf("introspection of a rotated refresh token: active %t, %v; want inactive", in.Active, err)
			}
			if err := r.svc.Revoke(r.ctx, auth(app), narrow.Refresh.Value.Reveal()); err != nil {
				t.Fatal(err)
			}
			r.verify(again.Access.Value.Reveal())

			// A reuse of a rotated token revokes the whole authorization.
			_, err = r.refresh(app, g.Refresh)
			wantCode(t, "a reuse of the first refresh token", err, keyhole.InvalidGrant)
			_, err = r.svc.VerifyToken(r.ctx, again.Access.Value.Reveal())
			wantCode(t, "the live access token after the reuse", err, keyhole.Unauthorized)
			_, err = r.refresh(app, again.Refresh)
			wantCode(t, "the live refresh token after the reuse", err, keyhole.InvalidGrant)
		})
	}
}

// TestRevocationCascades (RFC 7009 §2.1): a client revoking either token
// of an authorization ends the authorization; a client acting as itself
// revokes only the token; another client's token, an unknown or a
// malformed one change nothing and are no error.
func TestRevocationCascades(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app, other := r.client("App", false), r.client("Other", false)
		for _, kind := range []string{"access", "refresh"} {
			t.Run("revoking the "+kind+" token", func(t *testing.T) {
				r := r.with(t)
				g := r.tokens(app, "read")
				tok := g.Access.Value.Reveal()
				if kind == "refresh" {
					tok = g.Refresh.Value.Reveal()
				}
				if err := r.svc.Revoke(r.ctx, auth(other), tok); err != nil {
					t.Fatal(err)
				}
				r.verify(g.Access.Value.Reveal())
				for _, junk := range []string{"", "garbage", "khr_unknown", g.Access.Value.Reveal() + "x"} {
					if err := r.svc.Revoke(r.ctx, auth(app), junk); err != nil {
						t.Errorf("revoking %q: %v, want no error", junk, err)
					}
				}
				r.verify(g.Access.Value.Reveal())
				err := r.svc.Revoke(r.ctx, service.ClientAuth{ID: app.ID, Secret: "khs_wrong"}, tok)
				wantCode(t, "revoking with a wrong secret", err, keyhole.InvalidClient)
				r.verify(g.Access.Value.Reveal())

				if err := r.svc.Revoke(r.ctx, auth(app), tok); err != nil {
					t.Fatal(err)
				}
				_, err = r.svc.VerifyToken(r.ctx, g.Access.Value.Reveal())
				wantCode(t, "the access token", err, keyhole.Unauthorized)
				_, err = r.refresh(app, g.Refresh)
				wantCode(t, "the refresh token", err, keyhole.InvalidGrant)
				if _, err := r.svc.Authorization(r.ctx, r.actor, g.Authorization.ID); keyhole.ErrorCode(err) != keyhole.NotFound {
					t.Errorf("the authorization after the revocation: %v, want it gone", err)
				}
			})
		}
		t.Run("a client acting as itself", func(t *testing.T) {
			r := r.with(t)
			one, err := r.svc.ClientCredentials(r.ctx, auth(app), nil)
			if err != nil {
				t.Fatal(err)
			}
			two, err := r.svc.ClientCredentials(r.ctx, auth(app), nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.svc.Revoke(r.ctx, auth(app), one.Access.Value.Reveal()); err != nil {
				t.Fatal(err)
			}
			_, err = r.svc.VerifyToken(r.ctx, one.Access.Value.Reveal())
			wantCode(t, "the revoked client token", err, keyhole.Unauthorized)
			r.verify(two.Access.Value.Reveal())
		})
	})
}

// TestIntrospectionSeesOwnLiveTokensOnly: a client learns about its own
// live tokens only; everything else is simply inactive.
func TestIntrospectionSeesOwnLiveTokensOnly(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app, other := r.client("App", false), r.client("Other", false)
		g := r.tokens(app, "identity", "read")
		for _, tt := range []struct {
			name   string
			client service.ClientInfo
			tok    string
			active bool
		}{
			{"own access token", app, g.Access.Value.Reveal(), true},
			{"own refresh token", app, g.Refresh.Value.Reveal(), true},
			{"another client's access token", other, g.Access.Value.Reveal(), false},
			{"another client's refresh token", other, g.Refresh.Value.Reveal(), false},
			{"the account's CLI token", app, r.ts.Login(t, "ada@example.com", password), false},
			{"garbage", app, "garbage", false},
		} {
			in, err := r.svc.Introspect(r.ctx, auth(tt.client), tt.tok)
			if err != nil || in.Active != tt.active {
				t.Errorf("%s: active %t, %v; want %t", tt.name, in.Active, err, tt.active)
			}
			if in.Active && (in.ClientID != app.ID || in.Email != "ada@example.com" || keyhole.JoinScope(in.Scope) != "identity read") {
				t.Errorf("%s: %+v", tt.name, in)
			}
			if !in.Active && (in.ClientID != "" || in.Email != "" || in.Scope != nil) {
				t.Errorf("%s: an inactive answer tells %+v", tt.name, in)
			}
		}
		_, err := r.svc.Introspect(r.ctx, service.ClientAuth{ID: app.ID, Secret: "khs_wrong"}, g.Access.Value.Reveal())
		wantCode(t, "introspection with a wrong secret", err, keyhole.InvalidClient)
	})
}
