package e2e

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// The OpenID Connect tests mirror the OpenID conformance suite's Basic OP
// plan (oidcc-basic-certification-test-plan) and Config OP plan module by
// module: each subtest is named after its module and does what the module
// checks, with go-oidc as the relying party, through the real sign-in and
// consent pages, on each backend. README.md says which modules Keyhole
// would not pass and why.

const redirectURL = "https://app.example/callback"

// signedOutURL is the example client's post-logout redirect URI.
const signedOutURL = "https://app.example/signed-out"

// op is Keyhole as an OpenID provider, with a relying party registered
// (a confidential client), an account and a browser.
type op struct {
	t         *testing.T
	ctx       context.Context
	ts        *keyholetest.Server
	clk       *keyholetest.Clock
	provider  *oidc.Provider
	verifier  *oidc.IDTokenVerifier
	conf      *oauth2.Config
	client    service.ClientInfo
	accountID string
	br        *browser
}

func newOP(t *testing.T, be keyholetest.Backend) *op {
	t.Helper()
	clk := keyholetest.NewClock(time.Now().UTC().Truncate(time.Second))
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t), Now: clk.Now})
	return newOPOn(t, ts, clk)
}

// newOPOn is newOP on a running server.
func newOPOn(t *testing.T, ts *keyholetest.Server, clk *keyholetest.Clock) *op {
	t.Helper()
	ctx := context.Background()
	id := ts.CreateAccount(t, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(ctx, ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect, logout := "Example App", redirectURL, []string{signedOutURL}
	c, err := ts.Service.CreateClient(ctx, actor, service.ClientParams{Name: &name, RedirectURI: &redirect, PostLogoutRedirectURIs: &logout})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, ts.Issuer)
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &op{
		t: t, ctx: ctx, ts: ts, clk: clk, provider: provider, client: c, accountID: id, br: newBrowser(t),
		verifier: provider.Verifier(&oidc.Config{ClientID: c.ID, Now: clk.Now}),
		conf: &oauth2.Config{
			ClientID: c.ID, ClientSecret: c.Secret.Reveal(), RedirectURL: redirect,
			Scopes: []string{oidc.ScopeOpenID}, Endpoint: provider.Endpoint(),
		},
	}
}

// request is one authorization request of the relying party.
type request struct {
	scope    []string
	params   url.Values
	state    string
	nonce    string
	verifier string
}

func (o *op) newRequest(scope ...string) *request {
	if len(scope) == 0 {
		scope = []string{oidc.ScopeOpenID}
	}
	return &request{scope: scope, params: url.Values{}, state: randomState(), nonce: randomState(), verifier: oauth2.GenerateVerifier()}
}

// url is the request's authorization URL: PKCE S256, state, nonce (unless
// cleared) and the extra parameters.
func (o *op) url(rq *request) string {
	conf := *o.conf
	conf.Scopes = rq.scope
	opts := []oauth2.AuthCodeOption{oauth2.S256ChallengeOption(rq.verifier)}
	if rq.nonce != "" {
		opts = append(opts, oidc.Nonce(rq.nonce))
	}
	for k := range rq.params {
		opts = append(opts, oauth2.SetAuthURLParam(k, rq.params.Get(k)))
	}
	return conf.AuthCodeURL(rq.state, opts...)
}

// outcome is where an authorization request ended.
type outcome struct {
	// answer is the query the client's redirect URI got, nil if none.
	answer url.Values
	// signIns and consents count the pages shown on the way.
	signIns, consents int
	// page is the last page when the request ended on one.
	page page
}

// run sends the browser through the request: it signs in when sent to
// the login page and allows when shown the consent page, until Keyhole
// redirects to the client.
func (o *op) run(rq *request) outcome {
	o.t.Helper()
	return o.follow(o.br.Get(o.url(rq)))
}

func (o *op) follow(p page) outcome {
	o.t.Helper()
	var out outcome
	for range 6 {
		switch {
		case p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, redirectURL):
			u, _ := url.Parse(p.Location)
			out.answer = u.Query()
			return out
		case p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, "/login?"):
			out.signIns++
			p = signInPage(o.br, o.ts.URL, p, "ada@example.com")
		case p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, "/oauth/authorize?"):
			p = o.br.Get(o.ts.URL + p.Location)
		case p.Status == http.StatusOK && strings.Contains(p.Body, `value="Allow"`):
			out.consents++
			f := p.Form()
			f.Set("authorize", "Allow")
			p = o.br.Post(o.ts.URL+"/oauth/authorize", f)
		default:
			out.page = p
			return out
		}
	}
	o.t.Fatalf("the authorization request did not end: %d %s", p.Status, p.Location)
	return out
}

// code runs the request and returns its code, failing unless the client
// got one with the request's state and Keyhole's iss.
func (o *op) code(rq *request) (string, outcome) {
	o.t.Helper()
	out := o.run(rq)
	switch {
	case out.answer == nil:
		o.t.Fatalf("no answer to the client: %d %s", out.page.Status, out.page.Body)
	case out.answer.Get("code") == "":
		o.t.Fatalf("no code: %v", out.answer)
	case out.answer.Get("state") != rq.state || out.answer.Get("iss") != o.ts.Issuer:
		o.t.Fatalf("answer state/iss = %q %q", out.answer.Get("state"), out.answer.Get("iss"))
	}
	return out.answer.Get("code"), out
}

// signedIn is a finished sign-in: the tokens and the verified ID token.
type signedIn struct {
	tok   *oauth2.Token
	raw   string
	id    *oidc.IDToken
	out   outcome
	claim idTokenClaims
}

type idTokenClaims struct {
	AuthTime      int64    `json:"auth_time"`
	AMR           []string `json:"amr"`
	AZP           string   `json:"azp"`
	SID           string   `json:"sid"`
	Email         *string  `json:"email"`
	EmailVerified *bool    `json:"email_verified"`
	Name          *string  `json:"name"`
}

// signIn runs the request to the end: exchange, ID token verified by
// go-oidc with the nonce and at_hash checked.
func (o *op) signIn(rq *request, opts ...oauth2.AuthCodeOption) signedIn {
	o.t.Helper()
	code, out := o.code(rq)
	tok, err := o.conf.Exchange(o.ctx, code, append(opts, oauth2.VerifierOption(rq.verifier))...)
	if err != nil {
		o.t.Fatalf("Exchange: %v", err)
	}
	s := o.verify(tok, rq.nonce)
	s.out = out
	return s
}

func (o *op) verify(tok *oauth2.Token, nonce string) signedIn {
	o.t.Helper()
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		o.t.Fatalf("no id_token in the token response: %+v", tok)
	}
	id, err := o.verifier.Verify(o.ctx, raw)
	if err != nil {
		o.t.Fatalf("go-oidc refused the ID token: %v", err)
	}
	if id.Nonce != nonce {
		o.t.Errorf("nonce = %q, want %q", id.Nonce, nonce)
	}
	if err := id.VerifyAccessToken(tok.AccessToken); err != nil {
		o.t.Errorf("at_hash: %v", err)
	}
	s := signedIn{tok: tok, raw: raw, id: id}
	if err := id.Claims(&s.claim); err != nil {
		o.t.Fatal(err)
	}
	if id.Subject != o.accountID || id.Issuer != o.ts.Issuer || !slices.Equal(id.Audience, []string{o.client.ID}) || s.claim.AZP != o.client.ID {
		o.t.Errorf("ID token sub=%q iss=%q aud=%v azp=%q", id.Subject, id.Issuer, id.Audience, s.claim.AZP)
	}
	if got := id.Expiry.Sub(id.IssuedAt); got != service.IDTokenTTL {
		o.t.Errorf("ID token lives %v, want %v", got, service.IDTokenTTL)
	}
	return s
}

// userinfo calls the userinfo endpoint with tok as the Bearer header.
func (o *op) userinfo(method, tok string) (int, http.Header, map[string]any) {
	o.t.Helper()
	req, _ := http.NewRequest(method, o.ts.URL+"/oauth/userinfo", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	return do(o.t, req)
}

func do(t *testing.T, req *http.Request) (int, http.Header, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	return resp.StatusCode, resp.Header, body
}

// wantAnswerError checks that a request ended at the client with the
// error code, with its state and Keyhole's iss.
func wantAnswerError(t *testing.T, o *op, out outcome, rq *request, code string) {
	t.Helper()
	if out.answer == nil {
		t.Fatalf("want error=%s at the client, got a page: %d %s", code, out.page.Status, out.page.Body)
	}
	if out.answer.Get("error") != code || out.answer.Get("state") != rq.state || out.answer.Get("iss") != o.ts.Issuer || out.answer.Get("code") != "" {
		t.Fatalf("answer = %v, want error=%s with the state and iss", out.answer, code)
	}
}

// jwsHeader reads the protected header of a compact JWS.
func jwsHeader(t *testing.T, raw string) map[string]any {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(strings.Split(raw, ".")[0])
	var h map[string]any
	if err != nil || json.Unmarshal(b, &h) != nil {
		t.Fatalf("JWS header of %q", raw)
	}
	return h
}

// TestOIDCBasicOP is the Basic OP plan: one subtest per module, on each
// backend.
func TestOIDCBasicOP(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			t.Parallel()
			modules := []struct {
				name string
				run  func(t *testing.T, o *op)
			}{
				{"oidcc-server", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest())
					if s.out.signIns != 1 || s.out.consents != 1 {
						t.Errorf("sign-ins %d, consents %d: want one of each", s.out.signIns, s.out.consents)
					}
					if s.claim.AuthTime != o.clk.Now().Unix() || !slices.Equal(s.claim.AMR, []string{"pwd"}) || s.claim.SID == "" {
						t.Errorf("auth_time %d (now %d), amr %v, sid %q", s.claim.AuthTime, o.clk.Now().Unix(), s.claim.AMR, s.claim.SID)
					}
					// Nothing the scope did not ask for.
					if s.claim.Email != nil || s.claim.Name != nil || s.claim.EmailVerified != nil {
						t.Errorf("openid alone put claims of email or profile in the ID token: %+v", s.claim)
					}
					if s.tok.Extra("expires_in") == nil || s.tok.RefreshToken == "" || s.tok.Extra("scope") != "openid" {
						t.Errorf("token response: expires_in %v, refresh %q, scope %v", s.tok.Extra("expires_in"), s.tok.RefreshToken, s.tok.Extra("scope"))
					}
					// openid alone reaches no Platform API route.
					if st := bearerGet(t, o.ts.URL+"/account", s.tok.AccessToken); st != http.StatusForbidden {
						t.Errorf("GET /account with an openid token: %d, want 403", st)
					}
				}},
				{"oidcc-response-type-missing", func(t *testing.T, o *op) {
					o.signIn(o.newRequest()) // signed in, so the error goes to the client
					rq := o.newRequest()
					u, _ := url.Parse(o.url(rq))
					q := u.Query()
					q.Del("response_type")
					u.RawQuery = q.Encode()
					wantAnswerError(t, o, o.follow(o.br.Get(u.String())), rq, "invalid_request")
				}},
				{"oidcc-idtoken-signature", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest())
					h := jwsHeader(t, s.raw)
					if h["alg"] != "RS256" || h["kid"] == nil || h["kid"] == "" {
						t.Errorf("JWS header = %v, want RS256 with a kid", h)
					}
					// A changed byte of the payload breaks the signature.
					parts := strings.Split(s.raw, ".")
					parts[1] = parts[1][:len(parts[1])-2] + map[bool]string{true: "AA", false: "BB"}[!strings.HasSuffix(parts[1], "AA")]
					if _, err := o.verifier.Verify(o.ctx, strings.Join(parts, ".")); err == nil {
						t.Error("go-oidc accepted an ID token with a changed payload")
					}
				}},
				{"oidcc-userinfo-get", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest())
					st, h, body := o.userinfo(http.MethodGet, s.tok.AccessToken)
					if st != 200 || body["sub"] != s.id.Subject || h.Get("Cache-Control") != "no-store" {
						t.Errorf("userinfo: %d %v %v", st, body, h)
					}
					// go-oidc's own userinfo call, and its subject check.
					info, err := o.provider.UserInfo(o.ctx, oauth2.StaticTokenSource(s.tok))
					if err != nil || info.Subject != s.id.Subject {
						t.Errorf("go-oidc UserInfo: %+v, %v", info, err)
					}
				}},
				{"oidcc-userinfo-post-header", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest())
					st, _, body := o.userinfo(http.MethodPost, s.tok.AccessToken)
					if st != 200 || body["sub"] != s.id.Subject {
						t.Errorf("userinfo: %d %v", st, body)
					}
				}},
				{"oidcc-userinfo-post-body", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest())
					req, _ := http.NewRequest(http.MethodPost, o.ts.URL+"/oauth/userinfo", strings.NewReader(url.Values{"access_token": {s.tok.AccessToken}}.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					st, _, body := do(t, req)
					if st != 200 || body["sub"] != s.id.Subject {
						t.Errorf("userinfo: %d %v", st, body)
					}
				}},
				{"oidcc-ensure-request-without-nonce-succeeds-for-code-flow", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.nonce = ""
					s := o.signIn(rq)
					if s.id.Nonce != "" {
						t.Errorf("nonce %q in the ID token of a request without one", s.id.Nonce)
					}
				}},
				{"oidcc-scope-profile", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest("openid", "profile"))
					_, _, body := o.userinfo(http.MethodGet, s.tok.AccessToken)
					if _, ok := body["name"]; ok {
						// The account has no name: no claim, rather than "".
						t.Errorf("userinfo = %v: an empty name was sent", body)
					}
					if _, ok := body["email"]; ok {
						t.Errorf("userinfo = %v: email without the email scope", body)
					}
				}},
				{"oidcc-scope-email", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest("openid", "email"))
					_, _, body := o.userinfo(http.MethodGet, s.tok.AccessToken)
					if body["email"] != "ada@example.com" || body["email_verified"] != true || body["name"] != nil {
						t.Errorf("userinfo = %v", body)
					}
					if s.claim.Email == nil || *s.claim.Email != "ada@example.com" || s.claim.EmailVerified == nil || !*s.claim.EmailVerified {
						t.Errorf("ID token email claims = %+v", s.claim)
					}
				}},
				{"oidcc-scope-all", func(t *testing.T, o *op) {
					name := "Ada Lovelace"
					actor, _ := o.ts.Service.VerifyToken(o.ctx, o.ts.Login(t, "ada@example.com", password))
					if _, err := o.ts.Service.UpdateAccount(o.ctx, actor, service.AccountUpdate{Name: &name}); err != nil {
						t.Fatal(err)
					}
					s := o.signIn(o.newRequest("openid", "profile", "email", "address", "phone"))
					if s.tok.Extra("scope") != "email openid profile" {
						t.Errorf("scope = %v: the unknown address and phone should be ignored", s.tok.Extra("scope"))
					}
					_, _, body := o.userinfo(http.MethodGet, s.tok.AccessToken)
					if body["email"] != "ada@example.com" || body["name"] != name || body["sub"] != o.accountID {
						t.Errorf("userinfo = %v", body)
					}
					if s.claim.Name == nil || *s.claim.Name != name {
						t.Errorf("ID token name = %v", s.claim.Name)
					}
				}},
				{"oidcc-ensure-other-scope-order-succeeds", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest("email", "openid"))
					if s.claim.Email == nil {
						t.Error("email scope listed first was lost")
					}
				}},
				{"oidcc-display-page", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("display", "page")
					o.signIn(rq)
				}},
				{"oidcc-display-popup", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("display", "popup")
					o.signIn(rq)
				}},
				{"oidcc-prompt-login", func(t *testing.T, o *op) {
					first := o.signIn(o.newRequest())
					o.clk.Add(2 * time.Second)
					rq := o.newRequest()
					rq.params.Set("prompt", "login")
					second := o.signIn(rq)
					if second.out.signIns != 1 {
						t.Errorf("prompt=login showed the sign-in page %d times, want once", second.out.signIns)
					}
					if second.claim.AuthTime <= first.claim.AuthTime {
						t.Errorf("auth_time %d after prompt=login, not later than %d", second.claim.AuthTime, first.claim.AuthTime)
					}
					if second.claim.SID == first.claim.SID {
						t.Error("the new sign-in kept the old session")
					}
				}},
				{"oidcc-prompt-none-not-logged-in", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("prompt", "none")
					out := o.run(rq)
					wantAnswerError(t, o, out, rq, "login_required")
					if out.signIns != 0 || out.consents != 0 {
						t.Error("prompt=none showed a page")
					}
				}},
				{"oidcc-prompt-none-logged-in", func(t *testing.T, o *op) {
					first := o.signIn(o.newRequest())
					rq := o.newRequest()
					rq.params.Set("prompt", "none")
					s := o.signIn(rq)
					if s.out.signIns != 0 || s.out.consents != 0 {
						t.Error("prompt=none showed a page")
					}
					if s.claim.AuthTime != first.claim.AuthTime {
						t.Errorf("auth_time moved from %d to %d without a sign-in", first.claim.AuthTime, s.claim.AuthTime)
					}
					// Signed in, but not yet consented to other scopes.
					rq = o.newRequest("openid", "email")
					rq.params.Set("prompt", "none")
					wantAnswerError(t, o, o.run(rq), rq, "consent_required")
				}},
				{"oidcc-max-age-1", func(t *testing.T, o *op) {
					first := o.signIn(o.newRequest())
					rq := o.newRequest()
					rq.params.Set("max_age", "1")
					// At exactly one second the sign-in is recent enough.
					o.clk.Add(time.Second)
					if s := o.signIn(rq); s.out.signIns != 0 {
						t.Errorf("max_age=1 one second after the sign-in asked to sign in again")
					}
					o.clk.Add(time.Microsecond)
					rq = o.newRequest()
					rq.params.Set("max_age", "1")
					s := o.signIn(rq)
					if s.out.signIns != 1 || s.claim.AuthTime <= first.claim.AuthTime {
						t.Errorf("max_age=1 past the second: %d sign-ins, auth_time %d (first %d)", s.out.signIns, s.claim.AuthTime, first.claim.AuthTime)
					}
				}},
				{"oidcc-max-age-0", func(t *testing.T, o *op) {
					o.signIn(o.newRequest())
					rq := o.newRequest()
					rq.params.Set("max_age", "0")
					if s := o.signIn(rq); s.out.signIns != 1 {
						t.Errorf("max_age=0 showed the sign-in page %d times, want once", s.out.signIns)
					}
				}},
				{"oidcc-max-age-10000", func(t *testing.T, o *op) {
					o.signIn(o.newRequest())
					o.clk.Add(time.Hour)
					rq := o.newRequest()
					rq.params.Set("max_age", "10000")
					if s := o.signIn(rq); s.out.signIns != 0 {
						t.Error("max_age=10000 an hour after the sign-in asked to sign in again")
					}
				}},
				{"oidcc-ensure-request-with-unknown-parameter-succeeds", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("extra", "foobar")
					o.signIn(rq)
				}},
				{"oidcc-id-token-hint", func(t *testing.T, o *op) {
					first := o.signIn(o.newRequest())
					// The hint may have expired (Core 1.0 §3.1.2.1).
					o.clk.Add(service.IDTokenTTL + time.Minute)
					rq := o.newRequest()
					rq.params.Set("prompt", "none")
					rq.params.Set("id_token_hint", first.raw)
					s := o.signIn(rq)
					if s.id.Subject != first.id.Subject || s.out.signIns != 0 {
						t.Errorf("prompt=none with a hint: sub %q, %d sign-ins", s.id.Subject, s.out.signIns)
					}
				}},
				{"oidcc-login-hint", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("login_hint", "ada@example.com")
					p := o.br.Get(o.url(rq))
					login := o.br.Get(keyholetest.Resolve(o.ts.URL, p.Location))
					if !strings.Contains(login.Body, `value="ada@example.com"`) {
						t.Errorf("the sign-in page does not offer the hinted address:\n%s", login.Body)
					}
					o.follow(p)
				}},
				{"oidcc-ui-locales", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("ui_locales", "se")
					o.signIn(rq)
				}},
				{"oidcc-claims-locales", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("claims_locales", "se")
					o.signIn(rq)
				}},
				{"oidcc-ensure-request-with-acr-values-succeeds", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("acr_values", "1 2")
					o.signIn(rq)
				}},
				{"oidcc-codereuse", func(t *testing.T, o *op) {
					rq := o.newRequest()
					code, _ := o.code(rq)
					tok, err := o.conf.Exchange(o.ctx, code, oauth2.VerifierOption(rq.verifier))
					if err != nil {
						t.Fatal(err)
					}
					_, err = o.conf.Exchange(o.ctx, code, oauth2.VerifierOption(rq.verifier))
					wantInvalidGrant(t, "the code again", err)
					// The reuse revoked what the code gave.
					if st, h, _ := o.userinfo(http.MethodGet, tok.AccessToken); st != 401 || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
						t.Errorf("userinfo after code reuse: %d %q", st, h.Get("WWW-Authenticate"))
					}
				}},
				{"oidcc-codereuse-30seconds", func(t *testing.T, o *op) {
					rq := o.newRequest()
					code, _ := o.code(rq)
					tok, err := o.conf.Exchange(o.ctx, code, oauth2.VerifierOption(rq.verifier))
					if err != nil {
						t.Fatal(err)
					}
					o.clk.Add(30 * time.Second)
					_, err = o.conf.Exchange(o.ctx, code, oauth2.VerifierOption(rq.verifier))
					wantInvalidGrant(t, "the code 30 s later", err)
					if st, _, _ := o.userinfo(http.MethodGet, tok.AccessToken); st != 401 {
						t.Errorf("userinfo after code reuse: %d", st)
					}
				}},
				{"oidcc-ensure-registered-redirect-uri", func(t *testing.T, o *op) {
					o.signIn(o.newRequest())
					conf := *o.conf
					conf.RedirectURL = "https://evil.example/callback"
					p := o.br.Get(conf.AuthCodeURL(randomState(), oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
					if p.Status != http.StatusBadRequest || p.Location != "" || !strings.Contains(p.Body, "redirect_uri") {
						t.Errorf("unregistered redirect_uri: %d %q", p.Status, p.Location)
					}
				}},
				{"oidcc-ensure-post-request-succeeds", func(t *testing.T, o *op) {
					rq := o.newRequest()
					u, _ := url.Parse(o.url(rq))
					// As the client's page would post it: from its origin,
					// without Keyhole's cookies (SameSite=Lax).
					req, _ := http.NewRequest(http.MethodPost, o.provider.Endpoint().AuthURL, strings.NewReader(u.RawQuery))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.Header.Set("Origin", "https://app.example")
					req.Header.Set("Sec-Fetch-Site", "cross-site")
					out := o.follow(o.br.Do(req))
					if out.answer.Get("code") == "" || out.answer.Get("state") != rq.state {
						t.Fatalf("POST authorization request: %v %d %s", out.answer, out.page.Status, out.page.Body)
					}
					tok, err := o.conf.Exchange(o.ctx, out.answer.Get("code"), oauth2.VerifierOption(rq.verifier))
					if err != nil {
						t.Fatal(err)
					}
					o.verify(tok, rq.nonce)
				}},
				{"oidcc-server-client-secret-post", func(t *testing.T, o *op) {
					o.conf.Endpoint.AuthStyle = oauth2.AuthStyleInParams
					o.signIn(o.newRequest())
				}},
				{"oidcc-request-uri-unsigned-supported-correctly-or-rejected-as-unsupported", func(t *testing.T, o *op) {
					o.signIn(o.newRequest())
					rq := o.newRequest()
					rq.params.Set("request_uri", "https://app.example/request.jwt")
					wantAnswerError(t, o, o.run(rq), rq, "request_uri_not_supported")
				}},
				{"oidcc-unsigned-request-object-supported-correctly-or-rejected-as-unsupported", func(t *testing.T, o *op) {
					o.signIn(o.newRequest())
					rq := o.newRequest()
					rq.params.Set("request", "eyJhbGciOiJub25lIn0.eyJzY29wZSI6Im9wZW5pZCJ9.")
					wantAnswerError(t, o, o.run(rq), rq, "request_not_supported")
				}},
				{"oidcc-claims-essential", func(t *testing.T, o *op) {
					rq := o.newRequest()
					rq.params.Set("claims", `{"userinfo":{"name":{"essential":true}}}`)
					o.signIn(rq)
				}},
				{"oidcc-refresh-token", func(t *testing.T, o *op) {
					s := o.signIn(o.newRequest("openid", "email"))
					o.clk.Add(time.Minute)
					tok := *s.tok
					tok.Expiry = time.Now().Add(-time.Minute)
					fresh, err := o.conf.TokenSource(o.ctx, &tok).Token()
					if err != nil {
						t.Fatalf("refresh: %v", err)
					}
					r := o.verify(fresh, "")
					if r.id.Subject != s.id.Subject || r.claim.AuthTime != s.claim.AuthTime || !r.id.IssuedAt.After(s.id.IssuedAt) || r.claim.SID != s.claim.SID {
						t.Errorf("refreshed ID token: sub %q auth_time %d iat %v, first: %q %d %v", r.id.Subject, r.claim.AuthTime, r.id.IssuedAt, s.id.Subject, s.claim.AuthTime, s.id.IssuedAt)
					}
					// A refresh narrowed to email alone has no ID token.
					tok2 := *fresh
					tok2.Expiry = time.Now().Add(-time.Minute)
					form := url.Values{"grant_type": {"refresh_token"}, "refresh_token": {fresh.RefreshToken}, "scope": {"email"}}
					req, _ := http.NewRequest(http.MethodPost, o.provider.Endpoint().TokenURL, strings.NewReader(form.Encode()))
					req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
					req.SetBasicAuth(o.client.ID, o.client.Secret.Reveal())
					st, _, body := do(t, req)
					if st != 200 || body["id_token"] != nil {
						t.Errorf("refresh to email alone: %d, id_token %v", st, body["id_token"])
					}
				}},
				{"oidcc-ensure-request-with-valid-pkce-succeeds", func(t *testing.T, o *op) {
					rq := o.newRequest()
					code, _ := o.code(rq)
					_, err := o.conf.Exchange(o.ctx, code, oauth2.VerifierOption(oauth2.GenerateVerifier()))
					wantInvalidGrant(t, "a wrong code_verifier", err)
					s := o.signIn(o.newRequest())
					if s.raw == "" {
						t.Error("no ID token")
					}
				}},
			}
			for _, m := range modules {
				t.Run(m.name, func(t *testing.T) {
					t.Parallel()
					m.run(t, newOP(t, be))
				})
			}
		})
	}
}

// TestOIDCConfigOP is the Config OP plan's one module.
func TestOIDCConfigOP(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name+"/oidcc-discovery-endpoint-verification", func(t *testing.T) {
			o := newOP(t, be)
			get := func(path string) (*http.Response, map[string]any) {
				resp, err := http.Get(o.ts.URL + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var m map[string]any
				if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
					t.Fatalf("%s: %v", path, err)
				}
				return resp, m
			}
			resp, disc := get("/.well-known/openid-configuration")
			if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
				t.Errorf("discovery: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			_, oauthMeta := get("/.well-known/oauth-authorization-server")
			if disc["issuer"] != o.ts.Issuer || oauthMeta["issuer"] != disc["issuer"] {
				t.Errorf("issuer %v, OAuth metadata's %v, want %s", disc["issuer"], oauthMeta["issuer"], o.ts.Issuer)
			}
			list := func(k string) []string {
				var out []string
				for _, v := range disc[k].([]any) {
					out = append(out, v.(string))
				}
				return out
			}
			for k, want := range map[string][]string{
				"response_types_supported":              {"code"},
				"subject_types_supported":               {"public"},
				"id_token_signing_alg_values_supported": {"RS256"},
				"code_challenge_methods_supported":      {"S256"},
				"prompt_values_supported":               {"none", "login", "consent", "select_account"},
			} {
				if got := list(k); !slices.Equal(got, want) {
					t.Errorf("%s = %v, want %v", k, got, want)
				}
			}
			for k, want := range map[string][]string{
				"scopes_supported":                      {"openid", "profile", "email", "offline_access"},
				"claims_supported":                      {"sub", "iss", "auth_time", "nonce", "email", "email_verified", "name", "amr", "at_hash"},
				"token_endpoint_auth_methods_supported": {"client_secret_basic", "client_secret_post"},
				"grant_types_supported":                 {"authorization_code", "refresh_token"},
			} {
				for _, w := range want {
					if !slices.Contains(list(k), w) {
						t.Errorf("%s lacks %s", k, w)
					}
				}
			}
			for k, path := range map[string]string{
				"authorization_endpoint": "/oauth/authorize", "token_endpoint": "/oauth/token", "jwks_uri": "/.well-known/jwks.json",
				"userinfo_endpoint": "/oauth/userinfo", "end_session_endpoint": "/oauth/logout",
			} {
				if disc[k] != o.ts.Issuer+path {
					t.Errorf("%s = %v", k, disc[k])
				}
			}
			if disc["request_uri_parameter_supported"] != false || disc["request_parameter_supported"] != false || disc["claims_parameter_supported"] != false {
				t.Error("the request, request_uri and claims parameters must be said unsupported")
			}
			// The JWK Set: public keys only, each with kid, use, alg.
			resp, set := get("/.well-known/jwks.json")
			if cc := resp.Header.Get("Cache-Control"); cc != "public, max-age=300" {
				t.Errorf("JWKS Cache-Control = %q", cc)
			}
			if service.JWKSMaxAge >= service.SigningKeyLead {
				t.Errorf("the key set may be cached %v, not less than a new key's lead %v", service.JWKSMaxAge, service.SigningKeyLead)
			}
			keys := set["keys"].([]any)
			if len(keys) != 1 {
				t.Fatalf("%d keys published, want the one", len(keys))
			}
			for _, k := range keys {
				k := k.(map[string]any)
				if k["kty"] != "RSA" || k["use"] != "sig" || k["alg"] != "RS256" || k["kid"] == "" || k["n"] == nil || k["e"] == nil {
					t.Errorf("key = %v", k)
				}
				for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "k"} {
					if _, ok := k[private]; ok {
						t.Errorf("the published key has its private %q", private)
					}
				}
			}
		})
	}
}

// TestOIDCUserinfoErrors: a token that is not a live access token gets
// 401 invalid_token, one without openid 403 insufficient_scope, each with
// its challenge.
func TestOIDCUserinfoErrors(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			o := newOP(t, be)
			s := o.signIn(o.newRequest())
			apiKey := o.ts.APIKey(t, "ada@example.com", password)
			plain := o.ts.Login(t, "ada@example.com", password)
			for _, tt := range []struct {
				name, token string
				status      int
				code        string
			}{
				{"a refresh token", s.tok.RefreshToken, 401, "invalid_token"},
				{"a made-up token", "kho_" + strings.Repeat("a", 40), 401, "invalid_token"},
				{"nothing", "", 401, "invalid_token"},
				{"the API key", apiKey, 403, "insufficient_scope"},
				{"a Platform API token", plain, 403, "insufficient_scope"},
			} {
				st, h, body := o.userinfo(http.MethodGet, tt.token)
				if st != tt.status || body["error"] != tt.code || !strings.Contains(h.Get("WWW-Authenticate"), `Bearer realm="keyhole", error="`+tt.code+`"`) {
					t.Errorf("%s: %d %v %q", tt.name, st, body, h.Get("WWW-Authenticate"))
				}
			}
			// Revoked: the access token stops at once.
			req, _ := http.NewRequest(http.MethodPost, o.ts.URL+"/oauth/revoke",
				strings.NewReader(url.Values{"token": {s.tok.AccessToken}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(o.client.ID, o.client.Secret.Reveal())
			if st, _, _ := do(t, req); st != 200 {
				t.Fatalf("revoke: %d", st)
			}
			if st, _, _ := o.userinfo(http.MethodGet, s.tok.AccessToken); st != 401 {
				t.Errorf("userinfo with a revoked token: %d", st)
			}
		})
	}
}

// TestOIDCBadAuthorizationParameters: each malformed OpenID parameter is
// invalid_request to the client (signed in), never a code and never a
// redirect elsewhere.
func TestOIDCBadAuthorizationParameters(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			o := newOP(t, be)
			first := o.signIn(o.newRequest())
			other := newOPOn(t, keyholetest.NewServer(t, keyholetest.Options{Now: o.clk.Now}), o.clk)
			foreign := other.signIn(other.newRequest())
			// Another client of this Keyhole, which the person has not
			// authorized yet.
			name, redirect := "Other App", "https://other.example/cb"
			actor, _ := o.ts.Service.VerifyToken(o.ctx, o.ts.Login(t, "ada@example.com", password))
			c2, err := o.ts.Service.CreateClient(o.ctx, actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
			if err != nil {
				t.Fatal(err)
			}
			for _, tt := range []struct{ name, key, value string }{
				{"an unknown prompt", "prompt", "sometimes"},
				{"prompt=none with login", "prompt", "none login"},
				{"max_age not a number", "max_age", "soon"},
				{"max_age negative", "max_age", "-1"},
				{"max_age empty", "max_age", ""},
				{"a hint signed by another server", "id_token_hint", foreign.raw},
				{"a hint that is no JWT", "id_token_hint", "not-a-token"},
				{"a nonce too long", "nonce", strings.Repeat("n", 513)},
			} {
				rq := o.newRequest()
				if tt.key == "nonce" {
					rq.nonce = tt.value
				} else {
					rq.params.Set(tt.key, tt.value)
				}
				wantAnswerError(t, o, o.run(rq), rq, "invalid_request")
			}
			// A hint of this Keyhole, issued to the first client, sent by
			// the other: invalid_request, not consent_required.
			conf := oauth2.Config{ClientID: c2.ID, RedirectURL: redirect, Scopes: []string{"openid"}, Endpoint: o.provider.Endpoint()}
			p := o.br.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()),
				oauth2.SetAuthURLParam("prompt", "none"), oauth2.SetAuthURLParam("id_token_hint", first.raw)))
			u, _ := url.Parse(p.Location)
			if p.Status != http.StatusSeeOther || u.Host != "other.example" || u.Query().Get("error") != "invalid_request" || u.Query().Get("state") != "st" {
				t.Errorf("a hint for another client: %d %s", p.Status, p.Location)
			}
			// Without it, the other client gets consent_required.
			p = o.br.Get(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier()), oauth2.SetAuthURLParam("prompt", "none")))
			if u, _ := url.Parse(p.Location); u.Query().Get("error") != "consent_required" {
				t.Errorf("prompt=none for a client not authorized: %s", p.Location)
			}
		})
	}
}

// TestOIDCLogout is RP-Initiated Logout 1.0: with a hint that names the
// person, at once and back to the client with its state; without one,
// only once confirmed; never to an unregistered URI. Signed out,
// prompt=none answers login_required.
func TestOIDCLogout(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			o := newOP(t, be)
			end := o.ts.Issuer + "/oauth/logout"
			var claims struct {
				EndSession string `json:"end_session_endpoint"`
			}
			if err := o.provider.Claims(&claims); err != nil || claims.EndSession != end {
				t.Fatalf("end_session_endpoint = %q, %v", claims.EndSession, err)
			}
			s := o.signIn(o.newRequest())
			for _, tt := range []struct{ name, query, want string }{
				{"an unregistered post_logout_redirect_uri", url.Values{"id_token_hint": {s.raw}, "post_logout_redirect_uri": {"https://evil.example/"}}.Encode(), "not registered"},
				{"a post_logout_redirect_uri without hint or client", url.Values{"post_logout_redirect_uri": {redirectURL}}.Encode(), "needs an id_token_hint or a client_id"},
				{"a hint for another client than client_id", url.Values{"id_token_hint": {s.raw}, "client_id": {"00000000-0000-4000-8000-000000000001"}}.Encode(), "another client"},
				{"a forged hint", url.Values{"id_token_hint": {s.raw[:len(s.raw)-4] + "AAAA"}}.Encode(), "not an ID token Keyhole issued"},
			} {
				p := o.br.Get(end + "?" + tt.query)
				if p.Status != http.StatusBadRequest || p.Location != "" || !strings.Contains(p.Body, tt.want) {
					t.Errorf("%s: %d %q, body lacks %q", tt.name, p.Status, p.Location, tt.want)
				}
			}
			// Still signed in after all of that.
			rq := o.newRequest()
			rq.params.Set("prompt", "none")
			if out := o.run(rq); out.answer.Get("code") == "" {
				t.Fatalf("a refused logout signed out: %v", out.answer)
			}

			// Without a hint: a page asks first, and a link alone does nothing.
			p := o.br.Get(end + "?" + url.Values{"client_id": {o.client.ID}, "post_logout_redirect_uri": {redirectURL}, "state": {"s1"}}.Encode())
			if p.Status != 200 || !strings.Contains(p.Body, "Sign out of Keyhole?") || !strings.Contains(p.Body, "Example App") {
				t.Fatalf("logout without a hint: %d %s", p.Status, p.Body)
			}
			forged := p.Form()
			forged.Set("csrf", "x")
			if bad := o.br.Post(end, forged); bad.Status != http.StatusForbidden {
				t.Errorf("confirmation with a bad form token: %d", bad.Status)
			}
			if out := o.run(rq); out.answer.Get("code") == "" {
				t.Fatal("an unconfirmed logout signed out")
			}
			done := o.br.Post(end, p.Form())
			if done.Status != http.StatusSeeOther || done.Location != redirectURL+"?state=s1" {
				t.Fatalf("confirmed logout: %d %q", done.Status, done.Location)
			}
			rq = o.newRequest()
			rq.params.Set("prompt", "none")
			wantAnswerError(t, o, o.run(rq), rq, "login_required")

			// With a hint naming the person: at once, by POST from the
			// client's page too.
			s = o.signIn(o.newRequest())
			// It goes to one of the client's post-logout redirect URIs.
			req, _ := http.NewRequest(http.MethodPost, end, strings.NewReader(url.Values{"id_token_hint": {s.raw}, "post_logout_redirect_uri": {signedOutURL}, "state": {"s2"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			req.Header.Set("Origin", "https://app.example")
			p = o.br.Do(req)
			if p.Status != http.StatusSeeOther {
				t.Fatalf("POST logout: %d %s", p.Status, p.Body)
			}
			p = o.br.Get(o.ts.URL + p.Location)
			if p.Status != http.StatusSeeOther || p.Location != signedOutURL+"?state=s2" {
				t.Fatalf("logout with a hint: %d %q %s", p.Status, p.Location, p.Body)
			}
			rq = o.newRequest()
			rq.params.Set("prompt", "none")
			wantAnswerError(t, o, o.run(rq), rq, "login_required")
			// The refresh token the client holds lives on: logout ends the
			// browser session, not the application's access.
			tok := *s.tok
			tok.Expiry = time.Now().Add(-time.Minute)
			if _, err := o.conf.TokenSource(o.ctx, &tok).Token(); err != nil {
				t.Errorf("refresh after logout: %v", err)
			}

			// Signed out already, no redirect asked: the signed-out page.
			p = o.br.Get(end)
			if p.Status != 200 || !strings.Contains(p.Body, "signed out") {
				t.Errorf("logout when signed out: %d %s", p.Status, p.Body)
			}
		})
	}
}

// TestOIDCKeyRotation: after admin:rotate-signing-key's rotation an ID
// token signed before still verifies, the new key signs once its lead
// has passed, and relying parties that cached the old key set verify the
// new tokens (go-oidc fetches the set again for an unknown kid) — on two
// replicas behind one address, each answering for the other.
func TestOIDCKeyRotation(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			clk := keyholetest.NewClock(time.Now().UTC().Truncate(time.Second))
			// Two replicas of one deployment (shared database and key)
			// behind a balancer that sends each request where told.
			var target atomic.Pointer[httptest.Server]
			lb := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				u, _ := url.Parse(target.Load().URL)
				httputil.NewSingleHostReverseProxy(u).ServeHTTP(w, r)
			}))
			defer lb.Close()
			key := make([]byte, 32)
			var stA, stB store.Store
			if be.Name == "postgres" {
				// Each its own connection pool and cache, as processes.
				dsn := keyholetest.PostgresSchema(t)
				stA, stB = keyholetest.OpenPostgresDSN(t, dsn), keyholetest.OpenPostgresDSN(t, dsn)
			}
			if stA == nil {
				stA = be.Open(t)
			}
			a := keyholetest.NewServer(t, keyholetest.Options{Store: stA, Now: clk.Now, Key: key, Issuer: lb.URL})
			if stB == nil {
				// SQLite: processes of one deployment share the cached store.
				stB = a.Store
			}
			b := keyholetest.NewServer(t, keyholetest.Options{Store: stB, Now: clk.Now, Key: key, Issuer: lb.URL})
			target.Store(a.Server)
			o := newOPOn(t, a, clk)
			o.ts = &keyholetest.Server{Server: lb, Store: a.Store, Service: a.Service, Issuer: lb.URL}

			before := o.signIn(o.newRequest())
			oldKid := jwsHeader(t, before.raw)["kid"]
			rotated, err := b.Service.RotateSigningKey(o.ctx, service.SigningKeyLead)
			if err != nil {
				t.Fatal(err)
			}
			// Within the lead the old key still signs, on both replicas,
			// and both publish the new key.
			clk.Add(service.SigningKeyLead - time.Second)
			for _, r := range []*keyholetest.Server{a, b} {
				target.Store(r.Server)
				s := o.signIn(o.newRequest())
				if kid := jwsHeader(t, s.raw)["kid"]; kid != oldKid {
					t.Errorf("%s signed with %v within the lead", r.URL, kid)
				}
				jwks, _ := r.Service.JWKS(o.ctx)
				if !strings.Contains(string(jwks), rotated.ID) || !strings.Contains(string(jwks), oldKid.(string)) {
					t.Errorf("%s publishes %s, want both keys", r.URL, jwks)
				}
			}
			// Past the lead the new key signs everywhere; the verifier made
			// before the rotation (its key set cached) verifies both.
			clk.Add(time.Second)
			for _, r := range []*keyholetest.Server{b, a} {
				target.Store(r.Server)
				s := o.signIn(o.newRequest())
				if kid := jwsHeader(t, s.raw)["kid"]; kid != rotated.ID {
					t.Errorf("%s signs with %v, want the new key %s", r.URL, kid, rotated.ID)
				}
			}
			if _, err := o.verifier.Verify(o.ctx, before.raw); err != nil && !isExpired(err) {
				t.Errorf("the token signed before the rotation: %v", err)
			}
			// The old key stays published until its last token expired,
			// and a hint it signed still works until then (logout).
			clk.Add(service.IDTokenTTL - time.Second)
			jwks, _ := b.Service.JWKS(o.ctx)
			if !strings.Contains(string(jwks), oldKid.(string)) {
				t.Error("the old key went before its last token expired")
			}
			target.Store(b.Server)
			if p := o.br.Get(lb.URL + "/oauth/logout?" + url.Values{"id_token_hint": {before.raw}}.Encode()); p.Status >= 400 {
				t.Errorf("logout with a hint of the old key: %d %s", p.Status, p.Body)
			}
			clk.Add(time.Second + time.Minute)
			if err := b.Service.Sweep(o.ctx); err != nil {
				t.Fatal(err)
			}
			for _, r := range []*keyholetest.Server{a, b} {
				jwks, _ := r.Service.JWKS(o.ctx)
				if strings.Contains(string(jwks), oldKid.(string)) || !strings.Contains(string(jwks), rotated.ID) {
					t.Errorf("%s publishes %s an hour after the rotation", r.URL, jwks)
				}
			}
		})
	}
}

func isExpired(err error) bool {
	var e *oidc.TokenExpiredError
	return errors.As(err, &e)
}

// TestOIDCAfterAccountChanges: what OpenID Connect issued follows the
// account. A confirmed email change shows at userinfo and in the next
// refreshed ID token, with the same sub, and email_verified true; a
// password change ends the application's grant (refresh and userinfo
// fail) and the browser sessions, so prompt=none answers login_required.
func TestOIDCAfterAccountChanges(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			o := newOP(t, be)
			ctx := context.Background()
			actor, err := o.ts.Service.VerifyToken(ctx, o.ts.Login(t, "ada@example.com", password))
			if err != nil {
				t.Fatal(err)
			}
			s := o.signIn(o.newRequest("openid", "email"))

			newEmail := "ada@new.example"
			if _, err := o.ts.Service.UpdateAccount(ctx, actor, service.AccountUpdate{Email: &newEmail, CurrentPassword: password}); err != nil {
				t.Fatal(err)
			}
			link, err := url.Parse(o.ts.Mail().Take(t, newEmail, "confirm your new email address").Link(service.VerifyPath + "?token="))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := o.ts.Service.VerifyEmail(ctx, link.Query().Get("token"), service.Origin{}); err != nil {
				t.Fatal(err)
			}
			if st, _, body := o.userinfo(http.MethodGet, s.tok.AccessToken); st != 200 || body["email"] != newEmail || body["sub"] != o.accountID || body["email_verified"] != true {
				t.Errorf("userinfo after the email change: %d %v", st, body)
			}
			tok := *s.tok
			tok.Expiry = time.Now().Add(-time.Minute)
			fresh, err := o.conf.TokenSource(o.ctx, &tok).Token()
			if err != nil {
				t.Fatalf("refresh after the email change: %v", err)
			}
			r := o.verify(fresh, "")
			if r.claim.Email == nil || *r.claim.Email != newEmail || r.id.Subject != s.id.Subject || r.claim.AuthTime != s.claim.AuthTime {
				t.Errorf("refreshed ID token after the email change: email %v, sub %q, auth_time %d", r.claim.Email, r.id.Subject, r.claim.AuthTime)
			}

			newPassword := "a whole new passphrase"
			if _, err := o.ts.Service.UpdateAccount(ctx, actor, service.AccountUpdate{NewPassword: &newPassword, CurrentPassword: password}); err != nil {
				t.Fatal(err)
			}
			stale := *fresh
			stale.Expiry = time.Now().Add(-time.Minute)
			_, err = o.conf.TokenSource(o.ctx, &stale).Token()
			wantInvalidGrant(t, "refresh after the password change", err)
			if st, _, _ := o.userinfo(http.MethodGet, fresh.AccessToken); st != 401 {
				t.Errorf("userinfo after the password change: %d, want 401", st)
			}
			rq := o.newRequest()
			rq.params.Set("prompt", "none")
			wantAnswerError(t, o, o.run(rq), rq, "login_required")
		})
	}
}
