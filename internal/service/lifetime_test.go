package service_test

import (
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// TestAccessTokenRefusedAtTheInstantItExpires: an access token works up
// to one tick before its expiry and not at the instant itself, for every
// use of it: verification, introspection and revocation (which then
// changes nothing).
func TestAccessTokenRefusedAtTheInstantItExpires(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		app := r.client("App", false)
		start := r.now()
		for _, at := range around(start.Add(service.DefaultAccessTTL)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				direct, err := r.svc.CreateAuthorization(r.ctx, r.actor, service.AuthorizationParams{ExpiresIn: ptr(int(service.DefaultAccessTTL / time.Second))})
				if err != nil {
					t.Fatal(err)
				}
				g := r.tokens(app, "read")
				r.at(at.when)
				for name, tok := range map[string]string{"direct": direct.Access.Value.Reveal(), "from a code": g.Access.Value.Reveal()} {
					_, err := r.svc.VerifyToken(r.ctx, tok)
					if at.inside {
						wantCode(t, name+": VerifyToken", err, "")
					} else {
						wantCode(t, name+": VerifyToken", err, keyhole.Unauthorized)
					}
				}
				in, err := r.svc.Introspect(r.ctx, auth(app), g.Access.Value.Reveal())
				if err != nil || in.Active != at.inside {
					t.Errorf("Introspect: active %t, %v; want active %t", in.Active, err, at.inside)
				}
				if err := r.svc.Revoke(r.ctx, auth(app), g.Access.Value.Reveal()); err != nil {
					t.Fatal(err)
				}
				if at.inside {
					// Revoking a live access token ends its authorization:
					// the refresh token dies with it (RFC 7009 §2.1).
					_, err = r.refresh(app, g.Refresh)
					wantCode(t, "refresh after revoking the live access token", err, keyhole.InvalidGrant)
				}
			})
		}
	})
}

func ptr[T any](v T) *T { return &v }

// TestMintLifetimes: how long each grant's tokens live, decided in one
// place (mint) for all of them.
func TestMintLifetimes(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		now := r.now()
		app, public := r.client("App", false), r.client("Public", true)
		never := time.Time{}
		type lives struct{ access, refresh time.Time }
		check := func(name string, g service.TokenGrant, want lives, hasRefresh bool) {
			t.Helper()
			if !g.Access.ExpiresAt.Equal(want.access) {
				t.Errorf("%s: access token expires %v, want %v", name, g.Access.ExpiresAt, want.access)
			}
			switch {
			case !hasRefresh && g.Refresh != nil:
				t.Errorf("%s: got a refresh token, want none", name)
			case hasRefresh && g.Refresh == nil:
				t.Errorf("%s: no refresh token", name)
			case hasRefresh && !g.Refresh.ExpiresAt.Equal(want.refresh):
				t.Errorf("%s: refresh token expires %v, want %v", name, g.Refresh.ExpiresAt, want.refresh)
			}
		}
		check("code, confidential client", r.tokens(app, "read"),
			lives{now.Add(service.DefaultAccessTTL), never}, true)
		check("code, public client", r.tokens(public, "read"),
			lives{now.Add(service.DefaultAccessTTL), now.Add(service.PublicRefreshIdle)}, true)
		cc, err := r.svc.ClientCredentials(r.ctx, auth(app), nil)
		if err != nil {
			t.Fatal(err)
		}
		check("client credentials", cc, lives{access: now.Add(service.DefaultClientTokenTTL)}, false)

		for _, tt := range []struct {
			name      string
			expiresIn *int
			want      time.Time
		}{
			{"direct, no expires_in", nil, never},
			{"direct, expires_in 1", ptr(1), now.Add(time.Second)},
			{"direct, expires_in a year", ptr(365 * 24 * 3600), now.Add(365 * 24 * time.Hour)},
		} {
			info, err := r.svc.CreateAuthorization(r.ctx, r.actor, service.AuthorizationParams{ExpiresIn: tt.expiresIn})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Access.ExpiresAt.Equal(tt.want) {
				t.Errorf("%s: access token expires %v, want %v", tt.name, info.Access.ExpiresAt, tt.want)
			}
			if info.Refresh != nil {
				t.Errorf("%s: a direct authorization got a refresh token", tt.name)
			}
		}
		for _, bad := range []int{0, -1, 365*24*3600 + 1} {
			_, err := r.svc.CreateAuthorization(r.ctx, r.actor, service.AuthorizationParams{ExpiresIn: ptr(bad)})
			wantCode(t, "expires_in "+time.Duration(bad).String(), err, keyhole.Invalid)
		}

		// A CLI login's token ends with its session, whatever it asked.
		sessionEnd := now.Add(service.SessionTTL)
		for _, tt := range []struct {
			name      string
			expiresIn *int
			want      time.Time
		}{
			{"login, no expires_in", nil, sessionEnd},
			{"login, expires_in a year", ptr(365 * 24 * 3600), sessionEnd},
			{"login, expires_in a minute", ptr(60), now.Add(time.Minute)},
			{"login, expires_in just past the session", ptr(int(service.SessionTTL/time.Second) + 1), sessionEnd},
		} {
			info, err := r.svc.Login(r.ctx, service.LoginRequest{Email: "ada@example.com", Password: password, IP: "192.0.2.1",
				Params: service.AuthorizationParams{ExpiresIn: tt.expiresIn}})
			if err != nil {
				t.Fatal(err)
			}
			if !info.Access.ExpiresAt.Equal(tt.want) {
				t.Errorf("%s: access token expires %v, want %v", tt.name, info.Access.ExpiresAt, tt.want)
			}
		}
	})
}

// TestPublicRefreshTokenIdleLifetime: a public client's refresh token
// lives PublicRefreshIdle unused, up to one tick before and not at the
// instant; each rotation starts the time again. A confidential client's
// never expires.
func TestPublicRefreshTokenIdleLifetime(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		public, app := r.client("Public", true), r.client("App", false)
		start := r.now()
		for _, at := range around(start.Add(service.PublicRefreshIdle)) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				g := r.tokens(public, "read")
				r.at(at.when)
				next, err := r.refresh(public, g.Refresh)
				if !at.inside {
					wantCode(t, "refresh", err, keyhole.InvalidGrant)
					return
				}
				if err != nil {
					t.Fatalf("refresh one tick before its idle lifetime: %v", err)
				}
				if want := at.when.Add(service.PublicRefreshIdle); !next.Refresh.ExpiresAt.Equal(want) {
					t.Errorf("the rotated refresh token expires %v, want %v (a new idle lifetime)", next.Refresh.ExpiresAt, want)
				}
			})
		}
		t.Run("each rotation starts it again", func(t *testing.T) {
			r := r.with(t)
			r.at(start)
			g := r.tokens(public, "read")
			for i := range 3 {
				r.clk.Add(service.PublicRefreshIdle - time.Second)
				n, err := r.refresh(public, g.Refresh)
				if err != nil {
					t.Fatalf("refresh %d, %v after the last: %v", i+1, service.PublicRefreshIdle-time.Second, err)
				}
				g = n
			}
			r.verify(g.Access.Value.Reveal())
		})
		t.Run("a confidential client's does not expire", func(t *testing.T) {
			r := r.with(t)
			r.at(start)
			g := r.tokens(app, "read")
			r.clk.Add(3 * service.PublicRefreshIdle)
			n, err := r.refresh(app, g.Refresh)
			if err != nil {
				t.Fatalf("refresh after %v: %v", 3*service.PublicRefreshIdle, err)
			}
			if !n.Refresh.ExpiresAt.IsZero() {
				t.Errorf("the confidential client's new refresh token expires %v, want never", n.Refresh.ExpiresAt)
			}
		})
	})
}

// TestCLILoginTokensEndWithTheSession: a CLI login's token, and one
// regenerated from it, works up to one tick before the login session ends
// and not at the instant, whatever expires_in asked for.
func TestCLILoginTokensEndWithTheSession(t *testing.T) {
	eachRig(t, func(t *testing.T, r *rig) {
		start := r.now()
		end := start.Add(service.SessionTTL)
		for _, at := range around(end) {
			t.Run(at.name, func(t *testing.T) {
				r := r.with(t)
				r.at(start)
				info, err := r.svc.Login(r.ctx, service.LoginRequest{Email: "ada@example.com", Password: password, IP: "192.0.2.1",
					Params: service.AuthorizationParams{ExpiresIn: ptr(365 * 24 * 3600)}})
				if err != nil {
					t.Fatal(err)
				}
				login := info.Access.Value.Reveal()
				r.at(start.Add(24 * time.Hour))
				regen, err := r.svc.RegenerateTokens(r.ctx, r.verify(login), info.ID)
				if err != nil {
					t.Fatal(err)
				}
				if !regen.Access.ExpiresAt.Equal(end) {
					t.Errorf("the regenerated token expires %v, want the session's end %v", regen.Access.ExpiresAt, end)
				}
				r.at(at.when)
				_, err = r.svc.VerifyToken(r.ctx, regen.Access.Value.Reveal())
				if at.inside {
					wantCode(t, "the regenerated token", err, "")
				} else {
					wantCode(t, "the regenerated token", err, keyhole.Unauthorized)
				}
			})
		}
	})
}
