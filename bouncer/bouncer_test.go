package bouncer

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestSignIn walks the whole sign-in, with OpenID Connect and with plain
// OAuth: a request without a session is sent to sign in, the sign-in goes
// to Keyhole with a fresh state, PKCE S256 and (OpenID Connect) nonce, the
// callback sets the session, and the wrapped handler sees the account.
func TestSignIn(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		for _, m := range modes {
			t.Run(be.Name+"/"+m.name, func(t *testing.T) { testSignIn(t, be, m) })
		}
	}
}

func testSignIn(t *testing.T, be keyholetest.Backend, m mode) {
	openID := m.scopes == nil
	h := newHarness(t, be, m.tweak)
	br := newBrowser(t)

	if p := br.Get(h.app.URL + "/"); p.Status != 200 || p.Body != "home signed-in=false" {
		t.Errorf("public page: %d %q", p.Status, p.Body)
	}
	if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther || p.Location != "/auth/signin?next=%2Fuser" {
		t.Fatalf("GET /user without a session: %d %q, want 303 to /auth/signin?next=%%2Fuser", p.Status, p.Location)
	}
	authURL := h.startSignIn(br)
	u, _ := url.Parse(authURL)
	q := u.Query()
	scope := "identity"
	if openID {
		scope = "email openid profile"
	}
	for k, want := range map[string]string{
		"response_type": "code", "client_id": h.client.ID, "redirect_uri": h.cfg.RedirectURL,
		"scope": scope, "code_challenge_method": "S256",
	} {
		if got := q.Get(k); got != want {
			t.Errorf("authorization request %s = %q, want %q", k, got, want)
		}
	}
	pending := h.session(br).Pending
	if len(pending) != 1 || q.Get("state") != pending[0].State || len(pending[0].State) < 22 || pending[0].Next != "/user" {
		t.Fatalf("pending sign-in %+v for state %q", pending, q.Get("state"))
	}
	if got, want := q.Get("code_challenge"), oauth2.S256ChallengeFromVerifier(pending[0].Verifier); got != want {
		t.Errorf("code_challenge = %q, want S256 of the kept verifier %q", got, want)
	}
	if openID && (q.Get("nonce") != pending[0].Nonce || len(pending[0].Nonce) < 22) {
		t.Errorf("nonce = %q, kept %q: want the same random value", q.Get("nonce"), pending[0].Nonce)
	}
	if !openID && (q.Has("nonce") || pending[0].Nonce != "") {
		t.Errorf("a plain OAuth sign-in sent nonce %q, kept %q", q.Get("nonce"), pending[0].Nonce)
	}
	// Another sign-in gets another state, verifier and nonce.
	again, _ := url.Parse(h.startSignIn(br))
	if again.Query().Get("state") == q.Get("state") || again.Query().Get("code_challenge") == q.Get("code_challenge") ||
		(openID && again.Query().Get("nonce") == q.Get("nonce")) {
		t.Error("two sign-ins share their state, PKCE challenge or nonce")
	}

	cb := br.Get(h.authorize(br, authURL, "ada@example.com", "Allow"))
	if cb.Status != http.StatusSeeOther || cb.Location != "/user" {
		t.Fatalf("callback: %d %q\n%s", cb.Status, cb.Location, cb.Body)
	}
	var cookie *http.Cookie
	for _, c := range (&http.Response{Header: cb.Header}).Cookies() {
		if c.Name == "bouncer" {
			cookie = c
		}
	}
	if cookie == nil || !cookie.HttpOnly || cookie.SameSite != http.SameSiteLaxMode || cookie.Path != "/" {
		t.Fatalf("session cookie = %+v", cookie)
	}
	for _, secret := range []string{"ada@example.com", "kha_", "khr_", "eyJ", h.adaID} {
		if strings.Contains(cookie.Value, secret) {
			t.Errorf("the session cookie shows %q in clear", secret)
		}
	}
	if len(cookie.Value) >= 4096 {
		t.Errorf("the session cookie has %d bytes, more than a browser keeps", len(cookie.Value))
	}
	if got := cb.Header.Get("Referrer-Policy"); got != "no-referrer" {
		t.Errorf("callback Referrer-Policy = %q", got)
	}
	s := h.session(br)
	if s.Auth == nil || len(s.Pending) != 1 {
		t.Fatalf("session after the callback: %+v", s)
	}
	if got, want := s.Auth.Expires, h.clock.Now().Add(8*time.Hour); got.Sub(want).Abs() > time.Second {
		t.Errorf("session expires %v, want 8 hours from now (%v)", got, want)
	}
	if openID && (s.Auth.Subject != h.adaID || s.Auth.Email != "ada@example.com" || strings.Count(s.Auth.IDToken, ".") != 2) {
		t.Errorf("OpenID session: sub %q email %q ID token %q", s.Auth.Subject, s.Auth.Email, s.Auth.IDToken)
	}
	if !openID && (s.Auth.Subject != "" || s.Auth.IDToken != "") {
		t.Errorf("a plain OAuth session holds sub %q and ID token %q", s.Auth.Subject, s.Auth.IDToken)
	}

	p := br.Get(h.app.URL + "/user")
	if want := "Hello ada@example.com (" + h.adaID + ")"; p.Status != 200 || p.Body != want {
		t.Errorf("GET /user: %d %q, want %q", p.Status, p.Body, want)
	}
	// The OpenID scopes reach no Platform API route (Keyhole answers
	// 403); identity reads the account.
	want := "GET /account as the person: 200"
	if openID {
		want = "GET /account as the person: 403"
	}
	if p := br.Get(h.app.URL + "/api"); p.Body != want {
		t.Errorf("Client: %q, want %q", p.Body, want)
	}
	if p := br.Get(h.app.URL + "/"); p.Body != "home signed-in=false" {
		t.Errorf("a public page was checked with Keyhole: %q", p.Body)
	}
	if n := len(h.grants("ada@example.com")); n != 1 {
		t.Errorf("%d grants to Test App, want 1", n)
	}

	// Signing in again replaces the grant: the earlier one is
	// revoked rather than left alive.
	h.signIn(br, "ada@example.com")
	if n := len(h.grants("ada@example.com")); n != 1 {
		t.Errorf("%d grants to Test App after a second sign-in, want 1", n)
	}
}

// TestRevoked: once the person revokes the app's access at Keyhole, the
// next request gets a page asking to sign in again (Keyhole's userinfo
// refuses the token on OpenID Connect, GET /account on plain OAuth), the
// token is forgotten, and signing in again works.
func TestRevoked(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		for _, m := range modes {
			t.Run(be.Name+"/"+m.name, func(t *testing.T) {
				h := newHarness(t, be, m.tweak)
				br := newBrowser(t)
				h.signIn(br, "ada@example.com")
				if n := h.revokeGrants("ada@example.com"); n != 1 {
					t.Fatalf("revoked %d grants, want 1", n)
				}
				p := br.Get(h.app.URL + "/user?tab=2")
				if p.Status != http.StatusUnauthorized || !isPage(p, "Please sign in again") || linkOf(p) != "/auth/signin?next=%2Fuser%3Ftab%3D2" {
					t.Fatalf("GET /user after revocation: %d link %q\n%s", p.Status, linkOf(p), p.Body)
				}
				if s := h.session(br); s.Auth != nil {
					t.Errorf("the revoked token is still in the session")
				}
				if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/auth/signin?") {
					t.Errorf("after the page: %d %q, want a redirect to sign in", p.Status, p.Location)
				}
				h.signIn(br, "ada@example.com")
			})
		}
	}
}

// TestAllowList: an email outside AllowEmails and AllowDomains gets 403,
// and the grant it made is revoked at Keyhole.
func TestAllowList(t *testing.T) {
	be := keyholetest.Backends(t)[0]
	for _, c := range []struct {
		name            string
		emails, domains []string
		email           string
		allowed         bool
	}{
		{"no list", nil, nil, "bob@other.example", true},
		{"email listed", []string{"Ada@Example.com"}, nil, "ada@example.com", true},
		{"email not listed", []string{"ada@example.com"}, nil, "bob@other.example", false},
		{"domain listed", nil, []string{"@other.example"}, "bob@other.example", true},
		{"domain not listed", []string{"carol@other.example"}, []string{"example.com"}, "bob@other.example", false},
		{"subdomain", nil, []string{"example"}, "bob@other.example", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, be, func(cfg *Config) { cfg.AllowEmails, cfg.AllowDomains = c.emails, c.domains })
			if c.email != "ada@example.com" {
				h.createAccount(c.email)
			}
			br := newBrowser(t)
			p := br.Get(h.authorize(br, h.startSignIn(br), c.email, "Allow"))
			if c.allowed {
				if p.Status != http.StatusSeeOther || p.Location != "/user" {
					t.Fatalf("callback for an allowed email: %d %q", p.Status, p.Location)
				}
				if p := br.Get(h.app.URL + "/user"); p.Status != 200 || !strings.HasPrefix(p.Body, "Hello "+c.email) {
					t.Errorf("GET /user: %d %q", p.Status, p.Body)
				}
				return
			}
			if p.Status != http.StatusForbidden || !isPage(p, "Not allowed") || !strings.Contains(p.Body, c.email+" may not use Test App") {
				t.Fatalf("callback for %s: %d\n%s", c.email, p.Status, p.Body)
			}
			if s := h.session(br); s.Auth != nil {
				t.Error("the session holds the grant of an email not allowed")
			}
			if n := len(h.grants(c.email)); n != 0 {
				t.Errorf("%d grants to Test App left at Keyhole, want 0", n)
			}
		})
	}
}

// TestCallbackRefused: a callback that does not answer a sign-in started
// in this browser, or that did not come from this Keyhole, is refused with
// a 4xx page and signs nobody in.
func TestCallbackRefused(t *testing.T) {
	be := keyholetest.Backends(t)[0]
	edit := func(cb string, f func(url.Values)) string {
		u, _ := url.Parse(cb)
		q := u.Query()
		f(q)
		u.RawQuery = q.Encode()
		return u.String()
	}
	for _, c := range []struct {
		name   string
		change func(url.Values)
		title  string
	}{
		{"wrong state", func(q url.Values) { q.Set("state", "AAAAAAAAAAAAAAAAAAAAAAAAAA") }, "This sign-in cannot be finished"},
		{"missing state", func(q url.Values) { q.Del("state") }, "This sign-in cannot be finished"},
		{"state twice", func(q url.Values) { q.Add("state", q.Get("state")) }, "This sign-in cannot be finished"},
		{"mismatched iss", func(q url.Values) { q.Set("iss", "http://evil.example") }, "This sign-in cannot be trusted"},
		{"iss with a trailing slash", func(q url.Values) { q.Set("iss", q.Get("iss")+"/") }, "This sign-in cannot be trusted"},
		{"missing iss", func(q url.Values) { q.Del("iss") }, "This sign-in cannot be trusted"},
		{"missing code", func(q url.Values) { q.Del("code") }, "Keyhole did not accept this sign-in"},
		{"forged code", func(q url.Values) { q.Set("code", "khc_forged") }, "Keyhole did not accept this sign-in"},
		{"error other than a denial", func(q url.Values) { q.Del("code"); q.Set("error", "invalid_scope") }, "Keyhole did not accept this sign-in"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t, be, nil)
			br := newBrowser(t)
			cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
			p := br.Get(edit(cb, c.change))
			if p.Status < 400 || p.Status > 499 || !isPage(p, c.title) || linkOf(p) == "" {
				t.Fatalf("%d (want 4xx), link %q\n%s", p.Status, linkOf(p), p.Body)
			}
			if s := h.session(br); s.Auth != nil {
				t.Fatal("signed in by a refused callback")
			}
			if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther {
				t.Errorf("GET /user after a refused callback: %d", p.Status)
			}
		})
	}

	t.Run("replayed", func(t *testing.T) {
		h := newHarness(t, be, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
		before := h.session(br)
		if p := br.Get(cb); p.Status != http.StatusSeeOther {
			t.Fatalf("first callback: %d", p.Status)
		}
		// The same browser again: its sign-in is finished.
		p := br.Get(cb)
		if p.Status != http.StatusBadRequest || !isPage(p, "This sign-in cannot be finished") {
			t.Fatalf("replayed callback: %d\n%s", p.Status, p.Body)
		}
		if p := br.Get(h.app.URL + "/user"); p.Status != 200 {
			t.Errorf("the replay signed the person out: %d", p.Status)
		}
		// Someone who copied the cookie from before the callback: the
		// state matches, the code is spent.
		other := newBrowser(t)
		h.setSession(other, before)
		p = other.Get(cb)
		if p.Status != http.StatusBadRequest || !isPage(p, "Keyhole did not accept this sign-in") {
			t.Fatalf("callback replayed with the earlier cookie: %d\n%s", p.Status, p.Body)
		}
		if s := h.session(other); s.Auth != nil {
			t.Error("the replay with the earlier cookie signed in")
		}
	})

	t.Run("a wrong state leaves the real sign-in working", func(t *testing.T) {
		h := newHarness(t, be, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
		if p := br.Get(edit(cb, func(q url.Values) { q.Set("state", "x") })); p.Status != http.StatusBadRequest {
			t.Fatalf("wrong state: %d", p.Status)
		}
		if p := br.Get(cb); p.Status != http.StatusSeeOther || p.Location != "/user" {
			t.Errorf("the real callback after a wrong one: %d %q", p.Status, p.Location)
		}
	})

	t.Run("too late", func(t *testing.T) {
		h := newHarness(t, be, nil)
		br := newBrowser(t)
		cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
		h.clock.Add(31 * time.Minute)
		if p := br.Get(cb); p.Status != http.StatusBadRequest || !isPage(p, "This sign-in cannot be finished") {
			t.Errorf("a callback 31 minutes on: %d\n%s", p.Status, p.Body)
		}
	})
}

// TestCallbackParallel: twenty copies of one callback at once (double
// clicks, a prefetch, an attacker racing) sign in at most one and answer
// the rest with a 4xx page, never a 5xx. Keyhole takes a code presented
// twice for a stolen one and revokes what it gave (RFC 6749 §4.1.2), so in
// the end no grant is left either.
func TestCallbackParallel(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			h := newHarness(t, be, nil)
			br := newBrowser(t)
			cb := h.authorize(br, h.startSignIn(br), "ada@example.com", "Allow")
			u, _ := url.Parse(h.app.URL)
			cookies := br.Jar.Cookies(u)
			statuses := make([]int, 20)
			var wg sync.WaitGroup
			for i := range statuses {
				wg.Go(func() {
					req, _ := http.NewRequest("GET", cb, nil)
					for _, c := range cookies {
						req.AddCookie(c)
					}
					resp, err := http.DefaultTransport.RoundTrip(req)
					if err != nil {
						t.Error(err)
						return
					}
					resp.Body.Close()
					statuses[i] = resp.StatusCode
				})
			}
			wg.Wait()
			signedIn, refused := 0, 0
			for _, s := range statuses {
				switch {
				case s == http.StatusSeeOther:
					signedIn++
				case s >= 400 && s < 500:
					refused++
				default:
					t.Errorf("status %d", s)
				}
			}
			if signedIn > 1 || signedIn+refused != 20 {
				t.Errorf("%d signed in and %d refused, want at most 1 and the rest (%v)", signedIn, refused, statuses)
			}
			if n := len(h.grants("ada@example.com")); n != 0 {
				t.Errorf("%d grants left from a code presented 20 times, want 0", n)
			}
		})
	}
}

// TestDeclined: denying consent brings the person back to a page saying
// so, with the way back to the start.
func TestDeclined(t *testing.T) {
	h := newHarness(t, keyholetest.Backends(t)[0], nil)
	br := newBrowser(t)
	p := br.Get(h.authorize(br, h.startSignIn(br), "ada@example.com", "Deny"))
	if p.Status != http.StatusForbidden || !isPage(p, "You declined") || linkOf(p) != "/" ||
		!strings.Contains(p.Body, "You chose not to let Test App use your Keyhole account") {
		t.Fatalf("declined: %d\n%s", p.Status, p.Body)
	}
	if s := h.session(br); s.Auth != nil || len(s.Pending) != 0 {
		t.Errorf("session after a denial: %+v", s)
	}
}

// TestExpiredSession: 8 hours after signing in the session is over, and
// the page says so with a way to sign in again.
func TestExpiredSession(t *testing.T) {
	h := newHarness(t, keyholetest.Backends(t)[0], nil)
	br := newBrowser(t)
	h.signIn(br, "ada@example.com")
	h.clock.Add(8*time.Hour - time.Second)
	if p := br.Get(h.app.URL + "/user"); p.Status != 200 {
		t.Fatalf("a second before the end: %d", p.Status)
	}
	h.clock.Add(time.Second)
	p := br.Get(h.app.URL + "/user")
	if p.Status != http.StatusUnauthorized || !isPage(p, "Your session has ended") || linkOf(p) != "/auth/signin?next=%2Fuser" {
		t.Fatalf("expired: %d %q\n%s", p.Status, linkOf(p), p.Body)
	}
	if s := h.session(br); s.Auth != nil {
		t.Error("the expired grant is still in the session")
	}
}

// TestRefresh: an expired access token is refreshed before the handler
// runs, and the rotated refresh token (and on OpenID Connect the new ID
// token, of the same person) goes back into the session; twenty requests
// refreshing at once all get through.
func TestRefresh(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		for _, m := range modes {
			t.Run(be.Name+"/"+m.name, func(t *testing.T) {
				openID := m.scopes == nil
				h := newHarness(t, be, m.tweak)
				br := newBrowser(t)
				h.signIn(br, "ada@example.com")
				old := h.session(br)
				old.Auth.TokenExpiry = time.Now().Add(-time.Minute)
				h.setSession(br, old)

				u, _ := url.Parse(h.app.URL)
				cookies := br.Jar.Cookies(u)
				bodies := make([]string, 20)
				var wg sync.WaitGroup
				for i := range bodies {
					wg.Go(func() {
						req, _ := http.NewRequest("GET", h.app.URL+"/user", nil)
						for _, c := range cookies {
							req.AddCookie(c)
						}
						resp, err := http.DefaultTransport.RoundTrip(req)
						if err != nil {
							t.Error(err)
							return
						}
						resp.Body.Close()
						if resp.StatusCode != 200 || len(resp.Cookies()) != 1 {
							t.Errorf("request %d: %d, %d cookies set", i, resp.StatusCode, len(resp.Cookies()))
						}
					})
				}
				wg.Wait()

				p := br.Get(h.app.URL + "/user")
				if p.Status != 200 {
					t.Fatalf("GET /user with an expired access token: %d %s", p.Status, p.Body)
				}
				s := h.session(br)
				if s.Auth.Access == old.Auth.Access || s.Auth.Refresh == old.Auth.Refresh || s.Auth.Refresh == "" ||
					time.Until(s.Auth.TokenExpiry) < 7*time.Hour {
					t.Fatalf("the session kept the old token: %+v", s.Auth)
				}
				if s.Auth.Expires != old.Auth.Expires {
					t.Errorf("a refresh moved the session's end from %v to %v", old.Auth.Expires, s.Auth.Expires)
				}
				if openID && (s.Auth.IDToken == old.Auth.IDToken || s.Auth.Subject != h.adaID || s.Auth.Email != "ada@example.com") {
					t.Errorf("after a refresh: a new ID token %v, sub %q, email %q", s.Auth.IDToken != old.Auth.IDToken, s.Auth.Subject, s.Auth.Email)
				}
				if openID {
					// The refreshed ID token is Keyhole's, for this client, and
					// binds the refreshed access token.
					md, err := h.b.metadata(t.Context())
					if err != nil {
						t.Fatal(err)
					}
					tok := (&oauth2.Token{AccessToken: s.Auth.Access}).WithExtra(map[string]any{"id_token": s.Auth.IDToken})
					if _, acct, _, err := h.b.verifyIDToken(t.Context(), md, tok); err != nil || acct.ID != h.adaID {
						t.Errorf("the stored refreshed ID token: %+v, %v", acct, err)
					}
				}
				// The fresh token is used as it is: no refresh, no new cookie.
				if p := br.Get(h.app.URL + "/user"); p.Status != 200 || p.Header.Get("Set-Cookie") != "" {
					t.Errorf("next request: %d, Set-Cookie %q", p.Status, p.Header.Get("Set-Cookie"))
				}
				// The rotated refresh token stays usable at Keyhole's side:
				// the session's is the live one.
				s.Auth.TokenExpiry = time.Now().Add(-time.Minute)
				h.setSession(br, s)
				if p := br.Get(h.app.URL + "/user"); p.Status != 200 {
					t.Errorf("refresh with the stored rotated refresh token: %d %s", p.Status, p.Body)
				}
			})
		}
	}
}

// TestSignOut: signing out revokes the grant at Keyhole and forgets the
// session; a cross-site form cannot sign anyone out. A plain OAuth session
// goes Home and leaves the Keyhole session alone; an OpenID Connect
// session goes on to Keyhole's end_session_endpoint with the ID token as
// id_token_hint, which ends the Keyhole session at once and lands on
// PostLogoutURL (or, without one, on Keyhole's "signed out" page).
func TestSignOut(t *testing.T) {
	be := keyholetest.Backends(t)[0]
	for _, c := range []struct {
		name       string
		mode       mode
		postLogout bool
	}{
		{"oauth", modes[1], false},
		{"openid with PostLogoutURL", modes[0], true},
		{"openid without PostLogoutURL", modes[0], false},
	} {
		t.Run(c.name, func(t *testing.T) {
			openID := c.mode.scopes == nil
			h := newHarness(t, be, func(cfg *Config) {
				c.mode.tweak(cfg)
				if c.postLogout {
					// The app's /signed-out, which the harness registers.
					cfg.PostLogoutURL = strings.Replace(cfg.RedirectURL, "/auth/callback", "/signed-out", 1)
				}
			})
			br := newBrowser(t)
			h.signIn(br, "ada@example.com")
			before := h.session(br).Auth

			p := br.Get(h.app.URL + "/auth/signout")
			if p.Status != 200 || !isPage(p, "Sign out?") || !strings.Contains(p.Body, `<form method="post" action="/auth/signout">`) {
				t.Errorf("GET /auth/signout: %d\n%s", p.Status, p.Body)
			}
			if got := strings.Contains(p.Body, "signs this browser out of Keyhole"); got != openID {
				t.Errorf("the sign-out page says it signs out of Keyhole: %v, want %v\n%s", got, openID, p.Body)
			}
			req, _ := http.NewRequest("POST", h.app.URL+"/auth/signout", nil)
			req.Header.Set("Sec-Fetch-Site", "cross-site")
			if p := br.Do(req); p.Status != http.StatusForbidden || !isPage(p, "Please try again") {
				t.Errorf("cross-site sign-out: %d\n%s", p.Status, p.Body)
			}
			if n := len(h.grants("ada@example.com")); n != 1 {
				t.Fatalf("a cross-site post touched the grant: %d left", n)
			}

			req, _ = http.NewRequest("POST", h.app.URL+"/auth/signout", nil)
			req.Header.Set("Sec-Fetch-Site", "same-origin")
			out := br.Do(req)
			if s := h.session(br); s.Auth != nil {
				t.Error("still signed in after signing out")
			}
			if n := len(h.grants("ada@example.com")); n != 0 {
				t.Errorf("%d grants left at Keyhole after signing out, want 0", n)
			}
			req, _ = http.NewRequest("GET", h.kh.URL+"/account", nil)
			req.Header.Set("Authorization", "Bearer "+before.Access)
			if p := newBrowser(t).Do(req); p.Status != http.StatusUnauthorized {
				t.Errorf("the signed-out access token at Keyhole: %d, want 401", p.Status)
			}
			if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther {
				t.Errorf("GET /user after signing out: %d", p.Status)
			}

			if !openID {
				if out.Status != http.StatusSeeOther || out.Location != "/" {
					t.Fatalf("sign-out: %d %q\n%s", out.Status, out.Location, out.Body)
				}
				// Keyhole's session goes on: signing in again asks for no
				// password.
				if p := br.Get(h.startSignIn(br)); p.Status != http.StatusOK || !strings.Contains(p.Body, "Authorize Test App?") {
					t.Errorf("signing in again after a plain OAuth sign-out: %d %q, want the consent page", p.Status, p.Location)
				}
				return
			}
			end, _ := url.Parse(out.Location)
			if out.Status != http.StatusSeeOther || !strings.HasPrefix(out.Location, h.kh.URL+"/oauth/logout?") {
				t.Fatalf("sign-out: %d %q, want 303 to Keyhole's end_session_endpoint\n%s", out.Status, out.Location, out.Body)
			}
			q := end.Query()
			if q.Get("id_token_hint") != before.IDToken || q.Get("client_id") != h.client.ID || q.Get("post_logout_redirect_uri") != h.cfg.PostLogoutURL {
				t.Errorf("end-session request %v, want the session's ID token, client_id and post_logout_redirect_uri %q", q, h.cfg.PostLogoutURL)
			}
			if !c.postLogout && q.Has("post_logout_redirect_uri") {
				t.Errorf("post_logout_redirect_uri sent without PostLogoutURL: %q", q.Get("post_logout_redirect_uri"))
			}
			p = br.Get(out.Location)
			if c.postLogout {
				if p.Status != http.StatusSeeOther || p.Location != h.signedOut {
					t.Fatalf("Keyhole's end session: %d %q, want 303 to %s\n%s", p.Status, p.Location, h.signedOut, p.Body)
				}
				if p := br.Get(p.Location); p.Status != 200 || p.Body != "signed out" {
					t.Errorf("PostLogoutURL: %d %q", p.Status, p.Body)
				}
			} else if p.Status != http.StatusOK || !strings.Contains(p.Body, "You are signed out of Keyhole on this browser") {
				t.Fatalf("Keyhole's end session without a post-logout URI: %d %q\n%s", p.Status, p.Location, p.Body)
			}
			// Keyhole's browser session is over: the next authorization
			// request shows the login page.
			if p := br.Get(h.startSignIn(br)); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?") {
				t.Errorf("an authorization request after signing out: %d %q, want Keyhole's login page", p.Status, p.Location)
			}
		})
	}
}

// TestUnreachable: when Keyhole does not answer, the person is told so and
// offered to try again, and the session is kept for when it is back.
func TestUnreachable(t *testing.T) {
	h := newHarness(t, keyholetest.Backends(t)[0], nil)
	br := newBrowser(t)
	h.signIn(br, "ada@example.com")
	h.kh.Close()

	p := br.Get(h.app.URL + "/user")
	if p.Status != http.StatusBadGateway || !isPage(p, "Keyhole cannot be reached") || linkOf(p) != "/user" {
		t.Fatalf("GET /user with Keyhole down: %d %q\n%s", p.Status, linkOf(p), p.Body)
	}
	if s := h.session(br); s.Auth == nil {
		t.Error("the session was dropped because Keyhole was down")
	}
	req, _ := http.NewRequest("POST", h.app.URL+"/auth/signout", nil)
	if p := br.Do(req); p.Status != http.StatusBadGateway || !isPage(p, "Signed out here only") {
		t.Errorf("sign-out with Keyhole down: %d\n%s", p.Status, p.Body)
	}
	if s := h.session(br); s.Auth != nil {
		t.Error("still signed in after signing out with Keyhole down")
	}

	// A bouncer that has never reached Keyhole: the sign-in page says so.
	h2 := newHarness(t, keyholetest.Backends(t)[0], nil)
	h2.kh.Close()
	p = newBrowser(t).Get(h2.app.URL + "/auth/signin?next=/user")
	if p.Status != http.StatusBadGateway || !isPage(p, "Keyhole cannot be reached") || linkOf(p) != "/auth/signin?next=/user" {
		t.Errorf("sign-in with Keyhole down: %d %q\n%s", p.Status, linkOf(p), p.Body)
	}
}

// TestWithoutSession: what a request without a session gets.
func TestWithoutSession(t *testing.T) {
	h := newHarness(t, keyholetest.Backends(t)[0], nil)
	br := newBrowser(t)
	req, _ := http.NewRequest("POST", h.app.URL+"/user", strings.NewReader("a=1"))
	if p := br.Do(req); p.Status != http.StatusUnauthorized || !isPage(p, "Please sign in") || linkOf(p) != "/auth/signin?next=%2F" {
		t.Errorf("POST without a session: %d %q\n%s", p.Status, linkOf(p), p.Body)
	}
	if p := br.Get(h.app.URL + "/user?q=%20x"); p.Status != http.StatusSeeOther || p.Location != "/auth/signin?next=%2Fuser%3Fq%3D%2520x" {
		t.Errorf("GET with a query: %d %q", p.Status, p.Location)
	}
	// A forged cookie is no session.
	u, _ := url.Parse(h.app.URL)
	br.Jar.SetCookies(u, []*http.Cookie{{Name: "bouncer", Value: "forged", Path: "/"}})
	if p := br.Get(h.app.URL + "/user"); p.Status != http.StatusSeeOther {
		t.Errorf("forged cookie: %d", p.Status)
	}
	if p := br.Post(h.app.URL+"/auth/signin", nil); p.Status != http.StatusMethodNotAllowed || p.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /auth/signin: %d Allow %q", p.Status, p.Header.Get("Allow"))
	}
}

// TestNext: the sign-in only ever sends people back to this site.
func TestNext(t *testing.T) {
	for _, c := range []struct{ next, want string }{
		{"/user", "/user"},
		{"/user?x=1#top", "/user?x=1#top"},
		{"", "/"},
		{"user", "/"},
		{"//evil.example/", "/"},
		{"/\\evil.example/", "/"},
		{"https://evil.example/", "/"},
		{"/a\r\nSet-Cookie: x=1", "/"},
		{"/" + strings.Repeat("a", 1024), "/"},
	} {
		if got := localPath(c.next, "/"); got != c.want {
			t.Errorf("localPath(%q) = %q, want %q", c.next, got, c.want)
		}
	}
}
