// Package e2e drives whole OAuth flows against a running Keyhole with the
// real golang.org/x/oauth2 client, a browser-like HTTP client (cookie jar,
// form posts) standing in for the person.
package e2e

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

const password = "correct horse battery"

// browser is a person's browser (keyholetest.Agent): it keeps cookies
// and does not follow redirects, so that each step can be checked.
type browser = keyholetest.Agent

type page = keyholetest.Page

func newBrowser(t *testing.T) *browser { return keyholetest.NewAgent(t) }

// signInPage follows a redirect to the login page, fills it in and returns
// the page the login sends the browser back to.
func signInPage(b *browser, base string, p page, email string) page {
	b.T.Helper()
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?") {
		b.T.Fatalf("expected a redirect to /login, got %d %q", p.Status, p.Location)
	}
	login := b.Get(keyholetest.Resolve(base, p.Location))
	if login.Status != 200 {
		b.T.Fatalf("login page: %d", login.Status)
	}
	f := login.Form()
	f.Set("email", email)
	f.Set("password", password)
	done := b.Post(base+"/login", f)
	if done.Status != http.StatusSeeOther {
		b.T.Fatalf("login: %d %s", done.Status, done.Body)
	}
	return b.Get(keyholetest.Resolve(base, done.Location))
}

type fixture struct {
	ts     *keyholetest.Server
	client service.ClientInfo
	conf   *oauth2.Config
}

func setup(t *testing.T, b keyholetest.Backend, public bool) *fixture {
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)})
	ts.CreateAccount(t, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect := "Example App", "https://app.example/callback?tenant=7"
	c, err := ts.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect, Public: public})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ts: ts, client: c, conf: &oauth2.Config{
		ClientID: c.ID, ClientSecret: c.Secret.Reveal(), RedirectURL: redirect, Scopes: []string{"read", "identity"},
		Endpoint: oauth2.Endpoint{
			AuthURL: ts.URL + "/oauth/authorize", TokenURL: ts.URL + "/oauth/token", DeviceAuthURL: ts.URL + "/oauth/device/code",
		},
	}}
}

func randomState() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// apiGet calls the Platform API with an oauth2 HTTP client.
func apiGet(t *testing.T, c *http.Client, u string) int {
	t.Helper()
	resp, err := c.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestAuthorizationCodeFlow is the web flow with PKCE S256 as x/oauth2 does
// it: AuthCodeURL, the person signs in and consents, Exchange, then the
// TokenSource refreshes an expired token by itself.
func TestAuthorizationCodeFlow(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		for _, public := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/public=%v", be.Name, public), func(t *testing.T) {
				f := setup(t, be, public)
				ctx := context.Background()
				br := newBrowser(t)
				verifier := oauth2.GenerateVerifier()
				state := randomState()
				authURL := f.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier))

				consent := signInPage(br, f.ts.URL, br.Get(authURL), "ada@example.com")
				if consent.Status != 200 || !strings.Contains(consent.Body, "Authorize Example App?") {
					t.Fatalf("consent page: %d\n%s", consent.Status, consent.Body)
				}
				for _, want := range []string{"identity", "Read your account", "read", "excluding account details", "app.example"} {
					if !strings.Contains(consent.Body, want) {
						t.Errorf("consent page lacks %q", want)
					}
				}
				for _, h := range []string{"Content-Security-Policy", "Cache-Control", "X-Frame-Options"} {
					if consent.Header.Get(h) == "" {
						t.Errorf("consent page lacks %s", h)
					}
				}
				if csp := consent.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "https://app.example") {
					t.Errorf("CSP = %q", csp)
				}
				if strings.Contains(consent.Body, "<script") {
					t.Error("the consent page has a script")
				}
				form := consent.Form()
				form.Set("authorize", "Allow")
				back := br.Post(f.ts.URL+"/oauth/authorize", form)
				if back.Status != http.StatusSeeOther {
					t.Fatalf("Allow: %d %s", back.Status, back.Body)
				}
				cb, _ := url.Parse(back.Location)
				q := cb.Query()
				if cb.Host != "app.example" || cb.Path != "/callback" || q.Get("tenant") != "7" || q.Get("state") != state || q.Get("iss") != f.ts.Issuer || q.Get("code") == "" {
					t.Fatalf("redirect = %s", back.Location)
				}

				tok, err := f.conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
				if err != nil {
					t.Fatalf("Exchange: %v", err)
				}
				if tok.TokenType != "Bearer" || tok.RefreshToken == "" || time.Until(tok.Expiry) < 7*time.Hour {
					t.Errorf("token = %+v", tok)
				}
				if tok.Extra("user_id") == nil || tok.Extra("scope") != "identity read" {
					t.Errorf("extras user_id=%v scope=%v", tok.Extra("user_id"), tok.Extra("scope"))
				}
				hc := f.conf.Client(ctx, tok)
				if s := apiGet(t, hc, f.ts.URL+"/account"); s != 200 {
					t.Errorf("GET /account: %d", s)
				}
				if s := apiGet(t, hc, f.ts.URL+"/apps/x/config-vars"); s != 403 {
					t.Errorf("config vars with read: %d, want 403", s)
				}

				// Expire the token locally: the TokenSource refreshes it.
				old := *tok
				tok.Expiry = time.Now().Add(-time.Minute)
				src := f.conf.TokenSource(ctx, tok)
				fresh, err := src.Token()
				if err != nil {
					t.Fatalf("refresh: %v", err)
				}
				if fresh.AccessToken == old.AccessToken || fresh.RefreshToken == old.RefreshToken || fresh.RefreshToken == "" {
					t.Errorf("refresh did not rotate: %+v", fresh)
				}
				if s := apiGet(t, oauth2.NewClient(ctx, src), f.ts.URL+"/account"); s != 200 {
					t.Errorf("GET /account after refresh: %d", s)
				}

				if public {
					// Consent is never skipped for a public client: anyone
					// can claim its id.
					again := br.Get(f.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
					if again.Status != 200 || !strings.Contains(again.Body, "Authorize Example App?") {
						t.Errorf("public client skipped consent: %d %s", again.Status, again.Location)
					}
					return
				}
				// A second authorization for the same scopes skips consent.
				again := br.Get(f.conf.AuthCodeURL(state))
				if again.Status != http.StatusSeeOther || !strings.Contains(again.Location, "code=") {
					t.Errorf("second authorization asked again: %d %s", again.Status, again.Location)
				}

				// The grant is listed with its client; revoking it kills the
				// tokens at once, and consent is asked again.
				key := f.ts.APIKey(t, "ada@example.com", password)
				api := func(method, path string) []byte {
					req, _ := http.NewRequest(method, f.ts.URL+path, nil)
					req.Header.Set("Authorization", "Bearer "+key)
					resp, err := http.DefaultClient.Do(req)
					if err != nil || resp.StatusCode != 200 {
						t.Fatalf("%s %s: %v %v", method, path, resp.StatusCode, err)
					}
					defer resp.Body.Close()
					b, _ := io.ReadAll(resp.Body)
					return b
				}
				var list []struct {
					ID     string `json:"id"`
					Client *struct {
						ID string `json:"id"`
					} `json:"client"`
				}
				if err := json.Unmarshal(api("GET", "/oauth/authorizations"), &list); err != nil {
					t.Fatal(err)
				}
				revoked := 0
				for _, a := range list {
					if a.Client != nil && a.Client.ID == f.client.ID {
						api("DELETE", "/oauth/authorizations/"+a.ID)
						revoked++
					}
				}
				// The second authorization gave the grant another code.
				if revoked != 1 {
					t.Errorf("%d authorizations listed with the client, want 1", revoked)
				}
				if s := apiGet(t, oauth2.NewClient(ctx, oauth2.StaticTokenSource(fresh)), f.ts.URL+"/account"); s != 401 {
					t.Errorf("revoked token: %d, want 401", s)
				}
				if again := br.Get(f.conf.AuthCodeURL(state)); again.Status != 200 || !strings.Contains(again.Body, "Authorize Example App?") {
					t.Errorf("after revocation consent was not asked again: %d %s", again.Status, again.Location)
				}
			})
		}
	}
}

// TestDenyAndProbes checks what the person and the client see when things
// go wrong: errors before the client is verified stay on Keyhole's page;
// after, they go back to the client with state and iss.
func TestDenyAndProbes(t *testing.T) {
	f := setup(t, keyholetest.Backends(t)[0], false)
	br := newBrowser(t)
	base := f.ts.URL + "/oauth/authorize?"
	good := url.Values{"response_type": {"code"}, "client_id": {f.client.ID}, "redirect_uri": {f.conf.RedirectURL}, "state": {"xyz"}}
	with := func(k, v string) string {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		if v == "" {
			q.Del(k)
		} else {
			q.Set(k, v)
		}
		return base + q.Encode()
	}
	// Sign in once.
	signInPage(br, f.ts.URL, br.Get(with("scope", "read")), "ada@example.com")

	pages := []struct{ name, url string }{
		{"unknown client", with("client_id", "00000000-0000-0000-0000-000000000000")},
		{"no client", with("client_id", "")},
		{"extra path", with("redirect_uri", "https://app.example/callback/extra?tenant=7")},
		{"other host", with("redirect_uri", "https://evil.example/callback?tenant=7")},
		{"trailing slash", with("redirect_uri", "https://app.example/callback/?tenant=7")},
		{"query differs", with("redirect_uri", "https://app.example/callback")},
		{"oversize state", with("state", strings.Repeat("s", 3000))},
	}
	for _, p := range pages {
		got := br.Get(p.url)
		if got.Status != 400 || got.Location != "" {
			t.Errorf("%s: %d, Location %q; want a 400 page, never a redirect", p.name, got.Status, got.Location)
		}
		if !strings.Contains(got.Header.Get("Content-Type"), "text/html") {
			t.Errorf("%s: not a page: %s", p.name, got.Header.Get("Content-Type"))
		}
	}
	redirects := []struct{ name, url, code string }{
		{"unsupported response_type", with("response_type", "token"), "unsupported_response_type"},
		{"missing response_type", with("response_type", ""), "invalid_request"},
		{"unknown scope", with("scope", "root"), "invalid_scope"},
		{"plain PKCE", with("code_challenge", strings.Repeat("a", 43)) + "&code_challenge_method=plain", "invalid_request"},
		{"PKCE without method", with("code_challenge", strings.Repeat("a", 43)), "invalid_request"},
		{"short challenge", with("code_challenge", "abc") + "&code_challenge_method=S256", "invalid_request"},
		{"repeated parameter", with("scope", "read") + "&scope=write", "invalid_request"},
	}
	for _, r := range redirects {
		got := br.Get(r.url)
		u, _ := url.Parse(got.Location)
		if got.Status != http.StatusSeeOther || u == nil || u.Host != "app.example" || u.Query().Get("error") != r.code ||
			u.Query().Get("state") != "xyz" || u.Query().Get("iss") != f.ts.Issuer || u.Query().Get("code") != "" {
			t.Errorf("%s: %d %q; want a redirect with error=%s, state and iss", r.name, got.Status, got.Location, r.code)
		}
	}
	// Deny.
	consent := br.Get(with("scope", "write"))
	form := consent.Form()
	form.Set("authorize", "Deny")
	got := br.Post(f.ts.URL+"/oauth/authorize", form)
	u, _ := url.Parse(got.Location)
	if got.Status != http.StatusSeeOther || u.Query().Get("error") != "access_denied" || u.Query().Get("state") != "xyz" || u.Query().Get("tenant") != "7" {
		t.Errorf("Deny: %d %s", got.Status, got.Location)
	}
	// Allow without the form token, or with another, is refused.
	form.Set("authorize", "Allow")
	form.Set("csrf", "forged")
	if got := br.Post(f.ts.URL+"/oauth/authorize", form); got.Status != 403 || got.Location != "" {
		t.Errorf("forged CSRF: %d %s", got.Status, got.Location)
	}
	// A cross-site POST is refused before anything else.
	form = consent.Form()
	form.Set("authorize", "Allow")
	req, _ := http.NewRequest("POST", f.ts.URL+"/oauth/authorize", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "cross-site")
	if got := br.Do(req); got.Status != 403 || got.Location != "" {
		t.Errorf("cross-site POST: %d %s", got.Status, got.Location)
	}
	// A public client must use PKCE. A visitor who has not signed in is
	// shown the error, with the way back to the app behind a link, never
	// sent there on their own.
	f2 := setup(t, keyholetest.Backends(t)[0], true)
	br2 := newBrowser(t)
	got = br2.Get(f2.conf.AuthCodeURL("s"))
	if got.Status != 400 || got.Location != "" || !strings.Contains(got.Body, "error=invalid_request") {
		t.Errorf("public client without PKCE: %d %s %s", got.Status, got.Location, got.Body)
	}
}

// TestClientCredentialsAndDeviceFlow uses x/oauth2's clientcredentials and
// device flow packages against the server; the person answers the device
// on the /device page.
func TestClientCredentialsAndDeviceFlow(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			f := setup(t, be, false)
			ctx := context.Background()
			cc := clientcredentials.Config{ClientID: f.client.ID, ClientSecret: f.client.Secret.Reveal(), TokenURL: f.conf.Endpoint.TokenURL, Scopes: []string{"identity"}}
			tok, err := cc.Token(ctx)
			if err != nil {
				t.Fatalf("client credentials: %v", err)
			}
			if tok.AccessToken == "" || tok.RefreshToken != "" {
				t.Errorf("client token = %+v", tok)
			}
			// The client acts as itself: no account behind the token.
			if s := apiGet(t, cc.Client(ctx), f.ts.URL+"/account"); s != 403 {
				t.Errorf("client token on /account: %d, want 403", s)
			}

			da, err := f.conf.DeviceAuth(ctx)
			if err != nil {
				t.Fatalf("DeviceAuth: %v", err)
			}
			if da.VerificationURI != f.ts.Issuer+"/device" || da.Interval <= 0 || len(da.UserCode) != 9 {
				t.Errorf("device auth = %+v", da)
			}
			// Too early: the person has not answered.
			short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
			_, err = f.conf.DeviceAccessToken(short, da)
			cancel()
			if err == nil {
				t.Fatal("a token before the person answered")
			}

			br := newBrowser(t)
			entry := signInPage(br, f.ts.URL, br.Get(da.VerificationURIComplete), "ada@example.com")
			if entry.Status != 200 || !strings.Contains(entry.Body, da.UserCode) {
				t.Fatalf("device page: %d %s", entry.Status, entry.Body)
			}
			form := entry.Form()
			form.Set("user_code", strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")))
			consent := br.Post(f.ts.URL+"/device", form)
			if consent.Status != 200 || !strings.Contains(consent.Body, "Authorize Example App?") {
				t.Fatalf("device consent: %d %s", consent.Status, consent.Body)
			}
			form = consent.Form()
			form.Set("authorize", "Allow")
			if done := br.Post(f.ts.URL+"/device", form); done.Status != 200 || !strings.Contains(done.Body, "return to your device") {
				t.Fatalf("device Allow: %d %s", done.Status, done.Body)
			}
			da.Interval = 1 // keep the test short; the server asked for more
			tok, err = f.conf.DeviceAccessToken(ctx, da)
			if err != nil {
				t.Fatalf("DeviceAccessToken: %v", err)
			}
			if s := apiGet(t, f.conf.Client(ctx, tok), f.ts.URL+"/account"); s != 200 {
				t.Errorf("device token on /account: %d", s)
			}
			// The code is spent.
			if _, err := f.conf.DeviceAccessToken(ctx, da); err == nil {
				t.Error("the device code worked twice")
			}
		})
	}
}
