package bouncer

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// wantIDTokenRefused checks that a callback was answered with the
// "id-token" page, for the cause want, and signed nobody in.
func wantIDTokenRefused(t *testing.T, h *harness, br *browser, p page, want string) {
	t.Helper()
	if p.Status != http.StatusBadRequest || !isPage(p, "This sign-in cannot be trusted") || linkOf(p) != "/auth/signin?next=%2Fuser" {
		t.Fatalf("callback: %d link %q, want 400 with the id-token page\n%s", p.Status, linkOf(p), p.Body)
	}
	if !h.logged("id-token", want) {
		t.Errorf("no id-token problem logged with %q:\n%s", want, h.logs.String())
	}
	if s := h.session(br); s.Auth != nil {
		t.Error("signed in by a refused ID token")
	}
	if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther {
		t.Errorf("GET /user after a refused ID token: %d", p.Status)
	}
}

// TestIDTokenOtherClient: an ID token Keyhole issued to another client is
// refused (aud), even when everything else about it is right: Keyhole's
// signature, the nonce of this sign-in, and an at_hash that matches the
// access token beside it. The other client's whole token answer takes the
// place of the bouncer's, as a malicious app in the middle would do it.
func TestIDTokenOtherClient(t *testing.T) {
	ctx := t.Context()
	answers := &tokenAnswers{}
	h := newHarness(t, keyholetest.Backends(t)[0], func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: answers} })
	br := newBrowser(t)
	cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
	nonce := h.session(br).Pending[0].Nonce

	// Ada also uses Other App, which signs her in with the same nonce.
	actor, err := h.kh.Service.VerifyToken(ctx, h.kh.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect := "Other App", "https://other.example/callback"
	other, err := h.kh.Service.CreateClient(ctx, actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
	if err != nil {
		t.Fatal(err)
	}
	provider, err := oidc.NewProvider(ctx, h.kh.URL)
	if err != nil {
		t.Fatal(err)
	}
	conf := oauth2.Config{ClientID: other.ID, ClientSecret: other.Secret.Reveal(), RedirectURL: redirect,
		Endpoint: provider.Endpoint(), Scopes: []string{"openid", "email", "profile"}}
	verifier := oauth2.GenerateVerifier()
	p := br.Get(conf.AuthCodeURL("st", oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)))
	if p.Status != http.StatusOK || !strings.Contains(p.Body, "Authorize Other App?") {
		t.Fatalf("Other App's consent page: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	f := p.Form()
	f.Set("authorize", "Allow")
	p = br.Post(h.kh.URL+"/oauth/authorize", f)
	u, _ := url.Parse(p.Location)
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, redirect) || u.Query().Get("code") == "" {
		t.Fatalf("Other App's authorization: %d %q", p.Status, p.Location)
	}
	tok, err := conf.Exchange(ctx, u.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	otherAnswer := map[string]any{
		"access_token": tok.AccessToken, "refresh_token": tok.RefreshToken, "token_type": "Bearer",
		"expires_in": tok.Extra("expires_in"), "scope": tok.Extra("scope"), "id_token": tok.Extra("id_token"),
	}
	// It is a good ID token for Other App, with this sign-in's nonce.
	id, err := provider.Verifier(&oidc.Config{ClientID: other.ID}).Verify(ctx, otherAnswer["id_token"].(string))
	if err != nil || id.Nonce != nonce || id.VerifyAccessToken(tok.AccessToken) != nil || id.Subject != h.adaID {
		t.Fatalf("Other App's ID token: %v", err)
	}

	answers.set(func(body map[string]any) {
		clear(body)
		for k, v := range otherAnswer {
			body[k] = v
		}
	})
	wantIDTokenRefused(t, h, br, br.Get(cb), "expected audience")
}

// TestNonce: the ID token must carry the nonce of the sign-in kept in this
// browser's cookie. A cookie whose nonce was changed (a callback that is
// not this browser's sign-in's, as far as the ID token can tell) is
// refused, and the grant it made is revoked.
func TestNonce(t *testing.T) {
	for _, c := range []struct {
		name  string
		nonce func(kept string) string
	}{
		{"another nonce", func(string) string { return "AAAAAAAAAAAAAAAAAAAAAAAAAA" }},
		{"no nonce kept", func(string) string { return "" }},
		{"a prefix", func(kept string) string { return kept[:len(kept)-1] }},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, keyholetest.Backends(t)[0], nil)
			br := newBrowser(t)
			cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
			s := h.session(br)
			s.Pending[0].Nonce = c.nonce(s.Pending[0].Nonce)
			h.setSession(br, s)
			wantIDTokenRefused(t, h, br, br.Get(cb), "nonce")
			if n := len(h.grants("ada@example.com")); n != 0 {
				t.Errorf("%d grants left at Keyhole after a refused ID token, want 0", n)
			}
		})
	}

	// The nonces of two sign-ins under way in one browser swapped: each
	// callback finds the other's.
	t.Run("swapped between two sign-ins", func(t *testing.T) {
		h := newHarness(t, keyholetest.Backends(t)[0], nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
		h.startSignIn(br)
		s := h.session(br)
		s.Pending[0].Nonce, s.Pending[1].Nonce = s.Pending[1].Nonce, s.Pending[0].Nonce
		h.setSession(br, s)
		wantIDTokenRefused(t, h, br, br.Get(cb), "nonce")
	})
}

// TestIDTokenMissingOrBroken: a token answer without an ID token, or with
// one whose signature, at_hash or expiry does not check out, is a page,
// never a 500.
func TestIDTokenMissingOrBroken(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(map[string]any)
		want string
	}{
		{"missing", func(b map[string]any) { delete(b, "id_token") }, "no id_token"},
		{"not a JWT", func(b map[string]any) { b["id_token"] = "not-a-jwt" }, "malformed jwt"},
		{"bad signature", func(b map[string]any) {
			raw := b["id_token"].(string)
			b["id_token"] = raw[:len(raw)-4] + strings.Map(func(r rune) rune {
				if r == 'A' {
					return 'B'
				}
				return 'A'
			}, raw[len(raw)-4:])
		}, "failed to verify signature"},
		{"another access token", func(b map[string]any) { b["access_token"] = "kha_" + strings.Repeat("x", 40) }, "access token hash does not match"},
	} {
		t.Run(c.name, func(t *testing.T) {
			answers := &tokenAnswers{}
			h := newHarness(t, keyholetest.Backends(t)[0], func(cfg *Config) { cfg.HTTPClient = &http.Client{Transport: answers} })
			br := newBrowser(t)
			cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
			answers.set(c.edit)
			wantIDTokenRefused(t, h, br, br.Get(cb), c.want)
		})
	}

	t.Run("expired", func(t *testing.T) {
		h := newHarness(t, keyholetest.Backends(t)[0], nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
		// The bouncer's clock is past the ID token's hour of life; the
		// sign-in itself is made to look young enough.
		h.clock.Add(service.IDTokenTTL + time.Minute)
		s := h.session(br)
		s.Pending[0].Started = h.clock.Now()
		h.setSession(br, s)
		wantIDTokenRefused(t, h, br, br.Get(cb), "token is expired")
	})
}

// TestUserinfoSubject: on every request Keyhole's userinfo must name the
// person of the session's ID token (OpenID Connect Core 1.0 §5.3.2). A
// session holding another person's access token — Bob's, of the same app,
// put in Ada's cookie — is refused and forgotten, and that token revoked.
// With an expired access token, the refresh token is Bob's too: the
// refresh's new ID token names Bob, and is refused the same way.
func TestUserinfoSubject(t *testing.T) {
	for _, c := range []struct {
		name    string
		refresh bool
		want    string
	}{
		{"userinfo", false, "userinfo: keyhole names another subject"},
		{"refreshed ID token", true, `err="keyhole names another subject`},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, keyholetest.Backends(t)[0], nil)
			h.createAccount("bob@example.com")
			ada, bob := newBrowser(t), newBrowser(t)
			h.signIn(ada, "ada@example.com")
			h.signIn(bob, "bob@example.com")
			s, theirs := h.session(ada), h.session(bob).Auth
			s.Auth.Access, s.Auth.Refresh = theirs.Access, theirs.Refresh
			if c.refresh {
				s.Auth.TokenExpiry = time.Now().Add(-time.Minute)
			}
			h.setSession(ada, s)

			p := ada.Get(h.app.URL + "/user")
			if p.Status != http.StatusUnauthorized || !isPage(p, "Please sign in again") || linkOf(p) != "/auth/signin?next=%2Fuser" {
				t.Fatalf("GET /user with Bob's token in Ada's session: %d %q\n%s", p.Status, linkOf(p), p.Body)
			}
			if !h.logged("subject", c.want) {
				t.Errorf("no subject problem logged with %q:\n%s", c.want, h.logs.String())
			}
			if s := h.session(ada); s.Auth != nil {
				t.Error("the session with another person's token was kept")
			}
			if n := len(h.grants("bob@example.com")); n != 0 {
				t.Errorf("the token was not revoked: Bob has %d grants", n)
			}
			// Ada signs in again as herself.
			h.signIn(ada, "ada@example.com")
		})
	}
}

// TestCookieSize: the session cookie holds the ID token and stays under a
// browser's 4096 bytes with sign-ins under way; when a long next path
// would push it over, the oldest sign-ins under way and then the ID token
// make room, and the sign-in still works (signing out then asks Keyhole
// with client_id alone, which asks the person to confirm).
func TestCookieSize(t *testing.T) {
	h := newHarness(t, keyholetest.Backends(t)[0], func(cfg *Config) {
		cfg.PostLogoutURL = strings.Replace(cfg.RedirectURL, "/auth/callback", "/signed-out", 1)
	})
	br := newBrowser(t)
	h.signIn(br, "ada@example.com")
	cookieSize := func(p page) int {
		for _, c := range (&http.Response{Header: p.Header}).Cookies() {
			if c.Name == "bouncer" {
				return len(c.Value)
			}
		}
		t.Fatal("no session cookie set")
		return 0
	}
	for i := range maxPending {
		p := br.Get(h.app.URL + "/auth/signin?next=%2Fuser%3Ftab%3D" + strings.Repeat("x", 40))
		if p.Status != http.StatusSeeOther {
			t.Fatalf("sign-in %d: %d\n%s", i, p.Status, p.Body)
		}
		n := cookieSize(p)
		if n >= 4096 {
			t.Errorf("sign-in %d: cookie of %d bytes", i, n)
		}
		t.Logf("signed in, %d sign-ins under way: a cookie of %d bytes", i+1, n)
	}
	if s := h.session(br); len(s.Pending) != maxPending || s.Auth == nil || s.Auth.IDToken == "" {
		t.Fatalf("signed in with %d sign-ins under way: %d kept, ID token kept %v", maxPending, len(s.Pending), s.Auth != nil && s.Auth.IDToken != "")
	}

	long := "/user?q=" + strings.Repeat("y", 1000)
	p := br.Get(h.app.URL + "/auth/signin?next=" + url.QueryEscape(long))
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign-in with a long next: %d\n%s", p.Status, p.Body)
	}
	if n := cookieSize(p); n >= 4096 {
		t.Errorf("cookie of %d bytes", n)
	}
	s := h.session(br)
	if len(s.Pending) == 0 || s.Pending[len(s.Pending)-1].Next != long || s.Auth == nil {
		t.Fatalf("the long sign-in was not kept: %+v", s.Pending)
	}
	t.Logf("with a 1000-character next: %d sign-ins under way kept, ID token kept %v", len(s.Pending), s.Auth.IDToken != "")
	cb := h.authorize(br, p.Location, "ada@example.com", "Allow")
	if p := br.Get(cb); p.Status != http.StatusSeeOther || p.Location != long {
		t.Fatalf("callback of the long sign-in: %d %q", p.Status, p.Location)
	}

	// Signed in, with nothing under way, the ID token fits again; without
	// it Keyhole asks before signing out.
	s = h.session(br)
	if s.Auth.IDToken == "" {
		t.Error("a fresh sign-in did not keep its ID token")
	}
	s.Auth.IDToken = ""
	h.setSession(br, s)
	req, _ := http.NewRequest("POST", h.app.URL+"/auth/signout", nil)
	out := br.Do(req)
	end, _ := url.Parse(out.Location)
	if out.Status != http.StatusSeeOther || end.Query().Has("id_token_hint") || end.Query().Get("client_id") != h.client.ID {
		t.Fatalf("sign-out without an ID token: %d %q", out.Status, out.Location)
	}
	if p := br.Get(out.Location); p.Status != http.StatusOK || !strings.Contains(p.Body, "Sign out") {
		t.Errorf("Keyhole's end session without a hint: %d %q, want its confirmation page\n%s", p.Status, p.Location, p.Body)
	}
}
