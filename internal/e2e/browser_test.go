package e2e

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// TestBrowserSignInAndConsent drives the sign-in and consent pages in
// headless Chromium with JavaScript switched off, as a person would, and
// checks that the browser really follows the answer to the client (the
// consent page's CSP must allow that redirect).
func TestBrowserSignInAndConsent(t *testing.T) {
	bctx := keyholetest.Browser(t, 60*time.Second)
	got := make(chan *url.URL, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL:
		default:
		}
		w.Write([]byte("<p id=done>back at the app</p>"))
	}))
	defer callback.Close()

	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)
	ctx := context.Background()
	actor, err := ts.Service.VerifyToken(ctx, ts.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name, redirect := "Browser App", callback.URL+"/callback"
	c, err := ts.Service.CreateClient(ctx, actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
	if err != nil {
		t.Fatal(err)
	}
	conf := &oauth2.Config{ClientID: c.ID, ClientSecret: c.Secret.Reveal(), RedirectURL: redirect, Scopes: []string{"identity"},
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/oauth/authorize", TokenURL: ts.URL + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	authURL := conf.AuthCodeURL("state-123", oauth2.S256ChallengeOption(verifier))

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read %s: %v", sel, err)
		}
		return v
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	step("open the authorization URL", chromedp.Navigate(authURL), chromedp.WaitVisible(chromedp.CSS("#email")))
	loginURL := location()
	step("sign in",
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=Allow]")),
	)
	consentText := text("main")
	step("allow", chromedp.Click(chromedp.CSS("button[value=Allow]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	if !strings.HasPrefix(loginURL, ts.URL+"/login?next=") {
		t.Errorf("not sent to sign in first: %s", loginURL)
	}
	for _, want := range []string{"Authorize Browser App?", "ada@example.com", "Read your account's email address and name"} {
		if !strings.Contains(consentText, want) {
			t.Errorf("consent page lacks %q:\n%s", want, consentText)
		}
	}
	var cb *url.URL
	select {
	case cb = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser never reached the client")
	}
	q := cb.Query()
	if q.Get("state") != "state-123" || q.Get("iss") != ts.Issuer || q.Get("code") == "" {
		t.Fatalf("callback = %s", cb)
	}
	tok, err := conf.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	if s := apiGet(t, conf.Client(ctx, tok), ts.URL+"/account"); s != 200 {
		t.Errorf("GET /account: %d", s)
	}
}
