package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestBrowser is the example app end to end in headless Chromium, with
// JavaScript off: Keyhole and the app on loopback ports, a person clicks
// "Sign in with Keyhole", signs in, allows, and is greeted by email; the
// app's access is revoked at Keyhole and the app asks to sign in again;
// signing in again and denying consent shows the app's "You declined"
// page, whose way back leads to the start.
func TestBrowser(t *testing.T) {
	bctx := keyholetest.Browser(t, 90*time.Second)
	kh := keyholetest.NewServer(t, keyholetest.Options{})
	kh.CreateAccount(t, "ada@example.com", password)
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	id, secret := registerClient(t, kh, appURL+"/auth/callback")
	env := goodEnv()
	env["KEYHOLE_OAUTH_ID"], env["KEYHOLE_OAUTH_SECRET"], env["KEYHOLE_URL"], env["APP_URL"] = id, secret, kh.URL, appURL
	cfg, err := loadConfig(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(cfg, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	if err != nil {
		t.Fatal(err)
	}
	app.Config.Handler = h
	app.Start()
	t.Cleanup(app.Close)

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
		return strings.TrimSpace(v)
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}

	step("open the app", chromedp.Navigate(appURL+"/"), chromedp.WaitVisible(chromedp.CSS("#signin")))
	if got := text("#signin"); got != "Sign in with Keyhole" {
		t.Errorf("the button says %q", got)
	}
	step("click Sign in with Keyhole", chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#email")))
	if loc := location(); !strings.HasPrefix(loc, kh.URL+"/login?next=") {
		t.Errorf("not at Keyhole's sign-in page: %s", loc)
	}
	step("sign in at Keyhole",
		chromedp.SendKeys(chromedp.CSS("#email"), "ada@example.com"),
		chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.Click(chromedp.CSS("button[type=submit]")),
		chromedp.WaitVisible(chromedp.CSS("button[value=Allow]")),
	)
	if consent := text("main"); !strings.Contains(consent, "Authorize Example?") || !strings.Contains(consent, "identity") {
		t.Errorf("consent page:\n%s", consent)
	}
	step("allow", chromedp.Click(chromedp.CSS("button[value=Allow]")), chromedp.WaitVisible(chromedp.CSS("#hello")))
	if got := text("#hello"); got != "Hello ada@example.com" {
		t.Errorf("greeting %q, want %q", got, "Hello ada@example.com")
	}
	if loc := location(); loc != appURL+"/user" {
		t.Errorf("greeted at %s, want %s/user", loc, appURL)
	}

	revokeOnKeyhole(t, bctx, kh, "ada@example.com", id)

	step("come back to the app", chromedp.Navigate(appURL+"/user"), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := text("#notice"); got != "Please sign in again" {
		t.Fatalf("after revocation the app shows %q:\n%s", got, text("main"))
	}
	if got := text("#way-back"); got != "Sign in again" {
		t.Errorf("the way back says %q", got)
	}

	// A second run: sign in again, and this time decline.
	step("sign in again", chromedp.Click(chromedp.CSS("#way-back")), chromedp.WaitVisible(chromedp.CSS("button[value=Deny]")))
	step("deny", chromedp.Click(chromedp.CSS("button[value=Deny]")), chromedp.WaitVisible(chromedp.CSS("#notice")))
	if got := text("#notice"); got != "You declined" {
		t.Fatalf("after denying the app shows %q:\n%s", got, text("main"))
	}
	if got := text("main"); !strings.Contains(got, "You chose not to let the example app use your Keyhole account") {
		t.Errorf("declined page:\n%s", got)
	}
	step("back to the start", chromedp.Click(chromedp.CSS("#way-back")), chromedp.WaitVisible(chromedp.CSS("#signin")))
}

// revokeOnKeyhole ends every authorization the account gave the client, as
// the person does on Keyhole's "Authorized applications" page. Until that
// page exists on this branch it goes through the Platform API (DELETE
// /oauth/authorizations/{id} with the account's API key); when it does,
// this becomes a visit to /dashboard/authorized-applications in the
// browser (bctx) and a click on the row's Revoke button.
func revokeOnKeyhole(t *testing.T, bctx context.Context, kh *keyholetest.Server, email, clientID string) {
	t.Helper()
	_ = bctx
	key := kh.APIKey(t, email, password)
	api := func(method, path string) []byte {
		req, _ := http.NewRequest(method, kh.URL+path, nil)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
		}
		return body
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
		if a.Client != nil && a.Client.ID == clientID {
			api("DELETE", "/oauth/authorizations/"+a.ID)
			revoked++
		}
	}
	if revoked != 1 {
		t.Fatalf("revoked %d authorizations of the app, want 1", revoked)
	}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
