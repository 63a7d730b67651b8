package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

const password = "correct horse battery"

// fixture is a server with an account and two registered clients.
type fixture struct {
	t        *testing.T
	ts       *keyholetest.Server
	clock    *keyholetest.Clock
	actor    service.Actor
	global   string
	app      service.ClientInfo // confidential
	other    service.ClientInfo // confidential, another client
	public   service.ClientInfo // public
	redirect string
}

func newFixture(t *testing.T, b keyholetest.Backend) *fixture {
	clk := keyholetest.NewClock(time.Now())
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t), Now: clk.Now})
	ts.CreateAccount(t, "ada@example.com", password)
	global := ts.Login(t, "ada@example.com", password)
	ctx := context.Background()
	actor, err := ts.Service.VerifyToken(ctx, global)
	if err != nil {
		t.Fatal(err)
	}
	f := &fixture{t: t, ts: ts, clock: clk, actor: actor, global: global, redirect: "https://app.example/cb"}
	mk := func(name string, public bool) service.ClientInfo {
		n, r := name, f.redirect
		c, err := ts.Service.CreateClient(ctx, actor, service.ClientParams{Name: &n, RedirectURI: &r, Public: public})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	f.app, f.other, f.public = mk("App", false), mk("Other", false), mk("Public", true)
	return f
}

// grant makes a code for client c as the consent page would.
func (f *fixture) grant(c service.ClientInfo, scope []string, redirect, challenge string) string {
	f.t.Helper()
	info, err := f.ts.Service.CreateGrant(context.Background(), f.actor, service.GrantParams{
		ClientID: c.ID, Scope: scope, RedirectURI: redirect, CodeChallenge: challenge,
	})
	if err != nil {
		f.t.Fatal(err)
	}
	return info.Grant.Value.Reveal()
}

// deviceHandle is what the device page's consent form carries for a user
// code, as the person typed it.
func (f *fixture) deviceHandle(userCode string) string {
	f.t.Helper()
	dc, err := f.ts.Service.DeviceRequest(context.Background(), f.actor, userCode)
	if err != nil {
		f.t.Fatal(err)
	}
	return dc.Handle
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

// post sends a form to path; basic, when not nil, is [id, secret] sent
// with HTTP Basic (form-urlencoded first, as RFC 6749 §2.3.1 says).
func (f *fixture) post(path string, form url.Values, basic []string) answer {
	f.t.Helper()
	req, _ := http.NewRequest("POST", f.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if basic != nil {
		req.SetBasicAuth(url.QueryEscape(basic[0]), url.QueryEscape(basic[1]))
	}
	return f.send(req)
}

func (f *fixture) send(req *http.Request) answer {
	f.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.body)
	return a
}

func (a answer) wantError(t *testing.T, status int, code string) {
	t.Helper()
	if a.status != status || a.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", a.status, a.raw, status, code)
	}
	if a.body["error_description"] == "" || a.body["message"] != a.body["error_description"] || a.body["id"] != code {
		t.Errorf("error body lacks description or Heroku keys: %s", a.raw)
	}
	if status == 401 && a.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("Cache-Control = %q", a.header.Get("Cache-Control"))
	}
}

func (a answer) wantTokens(t *testing.T) (access, refresh string) {
	t.Helper()
	if a.status != 200 {
		t.Fatalf("token request: %d %s", a.status, a.raw)
	}
	if a.body["token_type"] != "Bearer" || a.header.Get("Cache-Control") != "no-store" {
		t.Errorf("token response %s, Cache-Control %q", a.raw, a.header.Get("Cache-Control"))
	}
	if n, _ := a.body["expires_in"].(float64); n <= 0 {
		t.Errorf("expires_in = %v", a.body["expires_in"])
	}
	access, _ = a.body["access_token"].(string)
	refresh, _ = a.body["refresh_token"].(string)
	if access == "" {
		t.Fatalf("no access_token: %s", a.raw)
	}
	return access, refresh
}

func codeForm(code, redirect, verifier string) url.Values {
	v := url.Values{"grant_type": {"authorization_code"}, "code": {code}}
	if redirect != "" {
		v.Set("redirect_uri", redirect)
	}
	if verifier != "" {
		v.Set("code_verifier", verifier)
	}
	return v
}

// apiStatus calls GET path on the Platform API with tok and returns the status.
func (f *fixture) apiStatus(path, tok string) int {
	f.t.Helper()
	req, _ := http.NewRequest("GET", f.ts.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return f.send(req).status
}

const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk0123456789"

func TestTokenEndpointProbes(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := []string{f.app.ID, f.app.Secret.Reveal()}
			other := []string{f.other.ID, f.other.Secret.Reveal()}
			challenge := service.S256(verifier)

			t.Run("code with PKCE and bound redirect", func(t *testing.T) {
				code := f.grant(f.app, []string{"read"}, f.redirect, challenge)
				// Each failure leaves the code usable.
				f.post("/oauth/token", codeForm(code, f.redirect, verifier), other).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, f.redirect+"/extra", verifier), app).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, "", verifier), app).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, f.redirect, verifier[:50]+"x"), app).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, f.redirect, ""), app).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, f.redirect, verifier), []string{f.app.ID, "khs_wrong"}).wantError(t, 401, "invalid_client")
				f.post("/oauth/token", codeForm(code, f.redirect, verifier), nil).wantError(t, 401, "invalid_client")
				access, refresh := f.post("/oauth/token", codeForm(code, f.redirect, verifier), app).wantTokens(t)
				if f.apiStatus("/apps", access) != 200 {
					t.Fatal("access token does not work")
				}
				// Replay: refused, and everything issued from the code dies.
				f.post("/oauth/token", codeForm(code, f.redirect, verifier), app).wantError(t, 400, "invalid_grant")
				if s := f.apiStatus("/apps", access); s != 401 {
					t.Errorf("after replay the access token answers %d, want 401", s)
				}
				f.post("/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}}, app).wantError(t, 400, "invalid_grant")
			})

			t.Run("PKCE downgrade and plain verifier", func(t *testing.T) {
				code := f.grant(f.app, []string{"read"}, "", "")
				f.post("/oauth/token", codeForm(code, "", verifier), app).wantError(t, 400, "invalid_grant")
				f.post("/oauth/token", codeForm(code, "", ""), app).wantTokens(t)
				// A challenge equal to the verifier (what "plain" would send)
				// does not match S256 of it.
				code = f.grant(f.app, []string{"read"}, "", verifier)
				f.post("/oauth/token", codeForm(code, "", verifier), app).wantError(t, 400, "invalid_grant")
			})

			t.Run("public client", func(t *testing.T) {
				if _, err := f.ts.Service.CreateGrant(context.Background(), f.actor, service.GrantParams{ClientID: f.public.ID, Scope: []string{"read"}}); keyhole.ErrorCode(err) != keyhole.Invalid {
					t.Errorf("public grant without PKCE: %v", err)
				}
				code := f.grant(f.public, []string{"read"}, "", challenge)
				form := codeForm(code, "", verifier)
				form.Set("client_id", f.public.ID)
				withSecret := codeForm(code, "", verifier)
				withSecret.Set("client_id", f.public.ID)
				withSecret.Set("client_secret", "khs_guess")
				f.post("/oauth/token", withSecret, nil).wantError(t, 401, "invalid_client")
				_, refresh := f.post("/oauth/token", form, nil).wantTokens(t)
				rf := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {refresh}, "client_id": {f.public.ID}}
				f.post("/oauth/token", rf, nil).wantTokens(t)
				cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {f.public.ID}}
				f.post("/oauth/token", cc, nil).wantError(t, 400, "unauthorized_client")
			})

			t.Run("expired code", func(t *testing.T) {
				code := f.grant(f.app, []string{"read"}, "", "")
				f.clock.Add(service.GrantTTL + time.Second)
				f.post("/oauth/token", codeForm(code, "", ""), app).wantError(t, 400, "invalid_grant")
			})

			t.Run("refresh rotation, escalation, other client", func(t *testing.T) {
				code := f.grant(f.app, []string{"read"}, "", "")
				_, r1 := f.post("/oauth/token", codeForm(code, "", ""), app).wantTokens(t)
				refresh(f, r1, "", other).wantError(t, 400, "invalid_grant")
				refresh(f, r1, "write", app).wantError(t, 400, "invalid_scope")
				refresh(f, r1, "global", app).wantError(t, 400, "invalid_scope")
				refresh(f, r1, "root", app).wantError(t, 400, "invalid_scope")
				a2, r2 := refresh(f, r1, "read", app).wantTokens(t)
				if r2 == r1 {
					t.Fatal("refresh token not rotated")
				}
				// Within the grace the old one is answered the same pair (a
				// retry), and it works.
				a3, r3 := refresh(f, r1, "", app).wantTokens(t)
				if a3 != a2 || r3 != r2 {
					t.Errorf("a repeat within the grace got another pair")
				}
				if f.apiStatus("/apps", a3) != 200 {
					t.Error("the repeated pair does not work")
				}
			})

			t.Run("request form", func(t *testing.T) {
				code := f.grant(f.app, []string{"read"}, "", "")
				f.post("/oauth/token", url.Values{"grant_type": {"password"}, "username": {"a"}}, app).wantError(t, 400, "unsupported_grant_type")
				f.post("/oauth/token", url.Values{"code": {code}}, app).wantTokens(t) // grant_type defaults to authorization_code, as Heroku's
				dup := "grant_type=authorization_code&code=a&code=b"
				req, _ := http.NewRequest("POST", f.ts.URL+"/oauth/token", strings.NewReader(dup))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				f.send(req).wantError(t, 400, "invalid_request")
				req, _ = http.NewRequest("POST", f.ts.URL+"/oauth/token", strings.NewReader(`{"grant_type":"client_credentials"}`))
				req.Header.Set("Content-Type", "application/json")
				f.send(req).wantError(t, 400, "invalid_request")
				req, _ = http.NewRequest("POST", f.ts.URL+"/oauth/token", strings.NewReader("grant_type=client_credentials&x="+strings.Repeat("a", 20<<10)))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				f.send(req).wantError(t, 400, "invalid_request")
				both := url.Values{"grant_type": {"client_credentials"}, "client_secret": {app[1]}}
				f.post("/oauth/token", both, app).wantError(t, 400, "invalid_request")
				f.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {app[0]}, "client_secret": {app[1]}}, nil).wantTokens(t)
			})

			t.Run("client credentials", func(t *testing.T) {
				a1, r := f.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}}, app).wantTokens(t)
				if r != "" {
					t.Errorf("client credentials gave a refresh token")
				}
				if s := f.apiStatus("/account", a1); s != 403 {
					t.Errorf("client token on /account: %d, want 403", s)
				}
				f.post("/oauth/token", url.Values{"grant_type": {"client_credentials"}, "scope": {"root"}}, app).wantError(t, 400, "invalid_scope")
			})
		})
	}
}

// refresh posts a refresh_token request, narrowed to scope when not "".
func refresh(f *fixture, tok, scope string, creds []string) answer {
	f.t.Helper()
	v := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {tok}}
	if scope != "" {
		v.Set("scope", scope)
	}
	return f.post("/oauth/token", v, creds)
}

func TestRevokeAndIntrospect(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := []string{f.app.ID, f.app.Secret.Reveal()}
			other := []string{f.other.ID, f.other.Secret.Reveal()}
			access, refresh := f.post("/oauth/token", codeForm(f.grant(f.app, []string{"read", "identity"}, "", ""), "", ""), app).wantTokens(t)

			in := f.post("/oauth/introspect", url.Values{"token": {access}}, app)
			if in.status != 200 || in.body["active"] != true || in.body["scope"] != "identity read" || in.body["client_id"] != f.app.ID || in.body["username"] != "ada@example.com" || in.body["token_type"] != "Bearer" {
				t.Errorf("introspect own token: %s", in.raw)
			}
			for _, probe := range []struct {
				name  string
				token string
				creds []string
			}{
				{"another client's token", access, other},
				{"garbage", "not-a-token", app},
				{"the account's own API token", f.global, app},
			} {
				in := f.post("/oauth/introspect", url.Values{"token": {probe.token}}, probe.creds)
				if in.status != 200 || in.raw != "{\"active\":false}\n" {
					t.Errorf("%s: %d %s, want only {\"active\":false}", probe.name, in.status, in.raw)
				}
			}
			f.post("/oauth/introspect", url.Values{"token": {access}}, nil).wantError(t, 401, "invalid_client")

			// Revoking another client's token: 200, nothing changes.
			if r := f.post("/oauth/revoke", url.Values{"token": {access}}, other); r.status != 200 {
				t.Errorf("revoke other's: %d", r.status)
			}
			if f.apiStatus("/apps", access) != 200 {
				t.Fatal("another client revoked the token")
			}
			if r := f.post("/oauth/revoke", url.Values{"token": {"khr_unknown"}}, app); r.status != 200 {
				t.Errorf("revoke unknown: %d", r.status)
			}
			f.post("/oauth/revoke", url.Values{}, app).wantError(t, 400, "invalid_request")
			if r := f.post("/oauth/revoke", url.Values{"token": {refresh}, "token_type_hint": {"refresh_token"}}, app); r.status != 200 {
				t.Fatalf("revoke: %d %s", r.status, r.raw)
			}
			if s := f.apiStatus("/apps", access); s != 401 {
				t.Errorf("after revoking the refresh token the access token answers %d", s)
			}
			in = f.post("/oauth/introspect", url.Values{"token": {access}}, app)
			if in.raw != "{\"active\":false}\n" {
				t.Errorf("introspect revoked: %s", in.raw)
			}
		})
	}
}

func TestMetadata(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	resp, err := http.Get(ts.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != 200 {
		t.Fatalf("metadata: %d %v", resp.StatusCode, err)
	}
	if m["issuer"] != ts.Issuer || m["token_endpoint"] != ts.Issuer+"/oauth/token" || m["authorization_response_iss_parameter_supported"] != true {
		t.Errorf("metadata = %v", m)
	}
	if cc := m["code_challenge_methods_supported"].([]any); len(cc) != 1 || cc[0] != "S256" {
		t.Errorf("code_challenge_methods_supported = %v", cc)
	}
	if gt := m["grant_types_supported"].([]any); len(gt) != 4 {
		t.Errorf("grant_types_supported = %v", gt)
	}
}

func TestDeviceFlowAnswers(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			f := newFixture(t, b)
			app := []string{f.app.ID, f.app.Secret.Reveal()}
			start := func(creds []string, form url.Values) (deviceCode, userCode string) {
				t.Helper()
				a := f.post("/oauth/device/code", form, creds)
				if a.status != 200 || a.header.Get("Cache-Control") != "no-store" {
					t.Fatalf("device code: %d %s", a.status, a.raw)
				}
				if a.body["verification_uri"] != f.ts.Issuer+"/device" || a.body["interval"].(float64) <= 0 || a.body["expires_in"].(float64) <= 0 {
					t.Errorf("device code answer: %s", a.raw)
				}
				return a.body["device_code"].(string), a.body["user_code"].(string)
			}
			poll := func(code string, creds []string) answer {
				return f.post("/oauth/token", url.Values{"grant_type": {service.GrantDeviceCode}, "device_code": {code}}, creds)
			}

			// Naming the client by id alone starts a flow; wrong credentials do not.
			dc, uc := start(nil, url.Values{"client_id": {f.app.ID}, "scope": {"read"}})
			f.post("/oauth/device/code", url.Values{"scope": {"read"}}, []string{f.app.ID, "khs_wrong"}).wantError(t, 401, "invalid_client")
			f.post("/oauth/device/code", url.Values{"client_id": {"00000000-0000-0000-0000-000000000000"}}, nil).wantError(t, 401, "invalid_client")
			f.post("/oauth/device/code", url.Values{"client_id": {f.app.ID}, "scope": {"root"}}, nil).wantError(t, 400, "invalid_scope")

			poll(dc, app).wantError(t, 400, "authorization_pending")
			// x/oauth2 retries at once with the other authentication style:
			// that is not polling too fast.
			poll(dc, nil).wantError(t, 401, "invalid_client")
			f.clock.Add(2 * time.Second)
			poll(dc, app).wantError(t, 400, "slow_down")
			f.clock.Add(service.DeviceInterval*time.Second + 6*time.Second)
			poll(dc, app).wantError(t, 400, "authorization_pending")
			// Another client cannot redeem it.
			poll(dc, []string{f.other.ID, f.other.Secret.Reveal()}).wantError(t, 400, "invalid_grant")

			handle := f.deviceHandle(uc)
			if _, err := f.ts.Service.AnswerDevice(context.Background(), f.actor, handle, false); err != nil {
				t.Fatal(err)
			}
			poll(dc, app).wantError(t, 400, "access_denied")
			if _, err := f.ts.Service.AnswerDevice(context.Background(), f.actor, handle, true); err == nil {
				t.Error("a denied code was answered again")
			}

			dc, uc = start(app, url.Values{"scope": {"read"}})
			if _, err := f.ts.Service.AnswerDevice(context.Background(), f.actor, f.deviceHandle(strings.ToLower(uc)), true); err != nil {
				t.Fatal(err)
			}
			access, refresh := poll(dc, app).wantTokens(t)
			if refresh == "" || f.apiStatus("/apps", access) != 200 {
				t.Error("device tokens do not work")
			}
			poll(dc, app).wantError(t, 400, "invalid_grant")

			// OpenID scopes: the token reaches userinfo, and the device
			// flow gives no ID token (docs/heroku-compatibility.md).
			dc, uc = start(app, url.Values{"scope": {"openid email"}})
			if _, err := f.ts.Service.AnswerDevice(context.Background(), f.actor, f.deviceHandle(uc), true); err != nil {
				t.Fatal(err)
			}
			a := poll(dc, app)
			if a.status != 200 || a.body["id_token"] != nil || a.body["scope"] != "email openid" {
				t.Errorf("device flow with openid: %d %s", a.status, a.raw)
			}
			if tok, _ := a.body["access_token"].(string); f.apiStatus("/oauth/userinfo", tok) != 200 || f.apiStatus("/apps", tok) != 403 {
				t.Error("an openid device token does not reach userinfo, or reaches the Platform API")
			}

			dc, _ = start(app, url.Values{})
			f.clock.Add(service.DeviceCodeTTL + time.Second)
			poll(dc, app).wantError(t, 400, "expired_token")
			poll("khd_garbage", app).wantError(t, 400, "invalid_grant")
		})
	}
}
