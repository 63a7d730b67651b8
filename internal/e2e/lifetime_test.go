package e2e

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// setupAt is setup with the server on the clock clk.
func setupAt(t *testing.T, b keyholetest.Backend, public bool, clk *keyholetest.Clock) *fixture {
	t.Helper()
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t), Now: clk.Now})
	ts.CreateAccount(t, "ada@example.com", password)
	actor, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect := "Example App", "https://app.example/callback"
	c, err := ts.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect, Public: public})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{ts: ts, client: c, conf: &oauth2.Config{
		ClientID: c.ID, ClientSecret: c.Secret.Reveal(), RedirectURL: redirect, Scopes: []string{"read"},
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/oauth/authorize", TokenURL: ts.URL + "/oauth/token"},
	}}
}

// authorize walks the person through the authorization request in br
// (signing in first when needed) and exchanges the code with x/oauth2.
func (f *fixture) authorize(t *testing.T, br *browser) *oauth2.Token {
	t.Helper()
	verifier, state := oauth2.GenerateVerifier(), randomState()
	p := br.Get(f.conf.AuthCodeURL(state, oauth2.S256ChallengeOption(verifier)))
	if p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, "/login?") {
		p = signInPage(br, f.ts.URL, p, "ada@example.com")
	}
	if p.Status != 200 {
		t.Fatalf("consent page: %d %s", p.Status, p.Location)
	}
	form := p.Form()
	form.Set("authorize", "Allow")
	back := br.Post(f.ts.URL+"/oauth/authorize", form)
	cb, err := url.Parse(back.Location)
	if back.Status != http.StatusSeeOther || err != nil || cb.Query().Get("code") == "" {
		t.Fatalf("Allow: %d %s", back.Status, back.Location)
	}
	tok, err := f.conf.Exchange(context.Background(), cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	return tok
}

// refreshNow makes x/oauth2 refresh tok at once, as it does when the
// access token has expired.
func (f *fixture) refreshNow(tok *oauth2.Token) (*oauth2.Token, error) {
	stale := *tok
	stale.Expiry = time.Now().Add(-time.Minute)
	return f.conf.TokenSource(context.Background(), &stale).Token()
}

func wantInvalidGrant(t *testing.T, what string, err error) {
	t.Helper()
	var re *oauth2.RetrieveError
	if !errors.As(err, &re) || re.ErrorCode != "invalid_grant" {
		t.Errorf("%s: %v, want invalid_grant", what, err)
	}
}

// TestPublicClientRefreshAfterIdleLifetime: an application without a
// secret (PKCE, x/oauth2) that comes back after PublicRefreshIdle without
// refreshing is refused (invalid_grant) and must send the person through
// the authorization again; one tick sooner, its refresh works.
func TestPublicClientRefreshAfterIdleLifetime(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			start := time.Now().UTC().Truncate(time.Second)
			clk := keyholetest.NewClock(start)
			f := setupAt(t, be, true, clk)
			// One grant per app and scope: the one token pair is refreshed
			// one tick before its idle lifetime, which starts the lifetime
			// again, and then left idle until exactly that lifetime.
			tok := f.authorize(t, newBrowser(t))
			rotated := start.Add(service.PublicRefreshIdle - time.Microsecond)
			clk.Set(rotated)
			fresh, err := f.refreshNow(tok)
			if err != nil {
				t.Fatalf("refresh one tick before the idle lifetime: %v", err)
			}
			if s := apiGet(t, f.conf.Client(context.Background(), fresh), f.ts.URL+"/apps"); s != 200 {
				t.Errorf("GET /apps with the refreshed token: %d", s)
			}
			clk.Set(rotated.Add(service.PublicRefreshIdle))
			_, err = f.refreshNow(fresh)
			wantInvalidGrant(t, "refresh at the idle lifetime", err)
		})
	}
}

// TestRevokingTheAccessTokenEndsTheRefreshToken (RFC 7009 §2.1): an
// application that revokes its access token at /oauth/revoke (signing
// the person out, say) can no longer refresh either.
func TestRevokingTheAccessTokenEndsTheRefreshToken(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			clk := keyholetest.NewClock(time.Now())
			f := setupAt(t, be, false, clk)
			tok := f.authorize(t, newBrowser(t))
			req, _ := http.NewRequest("POST", f.ts.URL+"/oauth/revoke", strings.NewReader(url.Values{"token": {tok.AccessToken}, "token_type_hint": {"access_token"}}.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(url.QueryEscape(f.client.ID), url.QueryEscape(f.client.Secret.Reveal()))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("revoke: %d", resp.StatusCode)
			}
			if s := apiGet(t, f.conf.Client(context.Background(), tok), f.ts.URL+"/apps"); s != 401 {
				t.Errorf("GET /apps with the revoked access token: %d, want 401", s)
			}
			_, err = f.refreshNow(tok)
			wantInvalidGrant(t, "refresh after revoking the access token", err)
		})
	}
}
