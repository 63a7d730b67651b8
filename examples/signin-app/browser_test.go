package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestBrowser is the example app end to end in headless Chromium, with
// JavaScript off, signing in with OpenID Connect: Keyhole and the app on
// loopback ports, a person clicks "Sign in with Keyhole", signs in, allows,
// and is greeted by email; the person revokes the app's access on
// Keyhole's "Authorized applications" page and the app asks to sign in
// again; signing in again and denying consent shows the app's "You
// declined" page, whose way back leads to the start; signing in once more
// and clicking "Sign out" goes through Keyhole, which signs the browser
// out and sends it back to the app's home page, and the next sign-in asks
// for the password again.
func TestBrowser(t *testing.T) {
	bctx := keyholetest.Browser(t, 90*time.Second)
	kh, appURL := startApp(t, "") // OpenID Connect, the default

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
	if consent := text("main"); !strings.Contains(consent, "Authorize Example?") || !strings.Contains(consent, "Your email address") || !strings.Contains(consent, "Your name.") {
		t.Errorf("consent page:\n%s", consent)
	}
	step("allow", chromedp.Click(chromedp.CSS("button[value=Allow]")), chromedp.WaitVisible(chromedp.CSS("#hello")))
	if got := text("#hello"); got != "Hello ada@example.com" {
		t.Errorf("greeting %q, want %q", got, "Hello ada@example.com")
	}
	if loc := location(); loc != appURL+"/user" {
		t.Errorf("greeted at %s, want %s/user", loc, appURL)
	}

	revokeOnKeyhole(t, bctx, kh.URL, "ada@example.com", "Example")

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

	// A third run: sign in, then sign out of the app and of Keyhole.
	step("sign in once more", chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("button[value=Allow]")))
	step("allow again", chromedp.Click(chromedp.CSS("button[value=Allow]")), chromedp.WaitVisible(chromedp.CSS("#hello")))
	step("sign out", chromedp.Click(chromedp.CSS("#signout")), chromedp.WaitVisible(chromedp.CSS("#signin")))
	if loc := location(); loc != appURL+"/" {
		t.Errorf("signed out at %s, want the app's home page %s/", loc, appURL)
	}
	step("sign in after signing out", chromedp.Click(chromedp.CSS("#signin")), chromedp.WaitVisible(chromedp.CSS("#email")))
	if loc := location(); !strings.HasPrefix(loc, kh.URL+"/login?next=") {
		t.Errorf("after signing out, signing in shows %s, want Keyhole's sign-in page", loc)
	}
}

// revokeOnKeyhole revokes the app's access as the person does, in the
// browser (bctx): on Keyhole's "Authorized applications" page, the Revoke
// button of the app's row. The browser is still signed in to Keyhole from
// the app's sign-in; if it is not, it signs in as email on the way.
func revokeOnKeyhole(t *testing.T, bctx context.Context, khURL, email, appName string) {
	t.Helper()
	page := khURL + "/dashboard/authorized-applications"
	if err := chromedp.Do(bctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	loc, err := chromedp.Run(bctx, chromedp.Location())
	if err != nil {
		t.Fatal(err)
	}
	if strings.HasPrefix(loc, khURL+"/login?") {
		t.Logf("not signed in to Keyhole's dashboard (%s): signing in", loc)
		err := chromedp.Do(bctx,
			chromedp.SendKeys(chromedp.CSS("#email"), email),
			chromedp.SendKeys(chromedp.CSS("#password"), password),
			chromedp.Click(chromedp.CSS("button[type=submit]")),
			chromedp.WaitVisible(chromedp.CSS(`form[action="/dashboard/authorized-applications/revoke"]`)),
		)
		if err != nil {
			t.Fatalf("sign in to Keyhole's dashboard: %v", err)
		}
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); loc != page {
		t.Fatalf("at %s, want %s", loc, page)
	}
	// The rows have the authorization's id; the app is known by the name
	// in the row's heading.
	rows, err := chromedp.Run(bctx, chromedp.AttributesAll(chromedp.Search(`//li[@class="row"][h2[normalize-space()="`+appName+`"]]`)))
	if err != nil {
		t.Fatalf("rows of %s: %v", appName, err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows of %s on the authorized applications page, want 1", len(rows), appName)
	}
	row := rows[0]["id"]
	if err := chromedp.Do(bctx,
		chromedp.Click(chromedp.CSS(`[id="`+row+`"] button[type=submit]`)),
		chromedp.WaitVisible(chromedp.CSS("p.notice")),
	); err != nil {
		t.Fatalf("click Revoke on the %s row: %v", appName, err)
	}
	if loc, _ := chromedp.Run(bctx, chromedp.Location()); loc != page+"?done=revoked" {
		t.Errorf("after Revoke at %s, want %s?done=revoked", loc, page)
	}
	notice, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS("p.notice")))
	if want := "The authorization was revoked: its tokens stopped working."; err != nil || strings.TrimSpace(notice) != want {
		t.Errorf("notice %q (%v), want %q", notice, err, want)
	}
	listed, err := chromedp.Run(bctx, chromedp.OuterHTML(chromedp.CSS("main")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(listed, `id="`+row+`"`) || strings.Contains(listed, "<h2>"+appName+"</h2>") {
		t.Errorf("the %s row is still listed after Revoke:\n%s", appName, listed)
	}
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
