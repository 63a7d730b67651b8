package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	cdppage "github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestBrowserPeoplesSide walks the people's side of Keyhole in headless
// Chromium with JavaScript off, mail going through a real SMTP server:
// sign up, confirm the address from the mail, turn on two-factor
// authentication (the code computed from the secret on the page), sign
// out, sign in with a code, register a client, authorize it on the
// consent page, find it under authorized applications, revoke it (its
// token then fails), reveal the API key with the password, reset the
// password through the mail, and read every step in the activity log.
// Each page is saved as a screenshot into KEYHOLE_SCREENSHOTS, or a
// temporary folder; the test prints where.
func TestBrowserPeoplesSide(t *testing.T) {
	bctx := keyholetest.Browser(t, 120*time.Second)
	smtp := keyholetest.StartSMTP(t, "", "")
	got := make(chan *url.URL, 1)
	callback := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.URL:
		default:
		}
		w.Write([]byte("<p id=done>back at the app</p>"))
	}))
	defer callback.Close()
	ts := keyholetest.NewServer(t, keyholetest.Options{Mail: smtp.Sender()})
	ctx := context.Background()

	shots := os.Getenv("KEYHOLE_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	} else if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshots of each page: %s", shots)

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
	value := func(sel string) string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Value(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("read the value of %s: %v", sel, err)
		}
		return v
	}
	count := func(sel string) int {
		t.Helper()
		nodes, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll(sel), chromedp.AtLeast(0)))
		if err != nil {
			t.Fatalf("find %s: %v", sel, err)
		}
		return len(nodes)
	}
	location := func() string {
		t.Helper()
		v, err := chromedp.Run(bctx, chromedp.Location())
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	n := 0
	shot := func(name string) {
		t.Helper()
		m, err := chromedp.Call(bctx, cdppage.GetLayoutMetrics, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		h := min(m.CSSContentSize.Height, 2000)
		full := true
		r, err := chromedp.Call(bctx, cdppage.CaptureScreenshot, cdppage.CaptureScreenshotParams{
			Format: cdppage.CaptureScreenshotFormatPng, CaptureBeyondViewport: &full,
			Clip: &cdppage.Viewport{Width: m.CSSContentSize.Width, Height: h, Scale: 0.75},
		})
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		n++
		if err := os.WriteFile(filepath.Join(shots, fmt.Sprintf("%02d-%s.png", n, name)), r.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	submit := func(form string) chromedp.Action[chromedp.Void] {
		return chromedp.Click(chromedp.CSS(form + ` button[type=submit]`))
	}
	const (
		email = "grace@example.com"
		newPW = "a fresher longer passphrase"
	)

	// Sign up: the same page for every address; the link comes by mail.
	step("sign up", chromedp.Navigate(ts.URL+"/signup"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#name"), "Grace Hopper"),
		chromedp.SendKeys(chromedp.CSS("#password"), password), submit(`form[action="/signup"]`),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="/signup"]`)))
	if h := text("main h1"); h != "Check your mail" {
		t.Fatalf("after sign-up: %q", h)
	}
	shot("signup-sent")
	link := smtp.Take(t, email, "confirm your email address").Link("/email/verify?token=")
	step("open the verification link", chromedp.Navigate(link), chromedp.WaitVisible(chromedp.CSS(`form[action="/email/verify"] button`)))
	shot("verify")
	step("confirm", submit(`form[action="/email/verify"]`), chromedp.WaitVisible(chromedp.CSS("main a")))
	if h := text("main h1"); h != "Email address confirmed" {
		t.Fatalf("after confirming: %q", h)
	}

	// Sign in (a wrong password first, for the log), then the dashboard.
	signIn := func(pw, then string) {
		t.Helper()
		step("sign in", chromedp.Navigate(ts.URL+"/login?next=%2Fdashboard"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), pw),
			submit(`form[action="/login"]`), chromedp.WaitVisible(chromedp.CSS(then)))
	}
	signIn("not the password at all", ".error")
	if !strings.Contains(text(".error"), "Incorrect email or password") {
		t.Fatalf("wrong password: %q", text("main"))
	}
	signIn(password, "nav.sections")
	if h := text("main h1"); h != "Your account" {
		t.Fatalf("after sign-in: %q at %s", h, location())
	}
	if !strings.Contains(text(".facts"), "verified") {
		t.Errorf("the overview does not say the email is verified: %s", text(".facts"))
	}
	shot("dashboard")

	// Two-factor authentication: the code is computed from the secret shown.
	step("open two-factor", chromedp.Navigate(ts.URL+"/dashboard/two-factor"), chromedp.WaitVisible(chromedp.CSS("img.qr")))
	seed := text("#totp-secret")
	shot("two-factor-enrol")
	step("enable two-factor", chromedp.SendKeys(chromedp.CSS("#password"), password),
		chromedp.SendKeys(chromedp.CSS("#code"), keyholetest.TOTPCode(t, seed, time.Now(), 0)),
		submit(`form[action="/dashboard/two-factor/enable"]`), chromedp.WaitVisible(chromedp.CSS("ul.codes")))
	if c := count("ul.codes li code"); c != 10 {
		t.Fatalf("%d recovery codes shown, want 10", c)
	}
	firstCode := text("ul.codes li:nth-child(1) code")
	secondCode := text("ul.codes li:nth-child(2) code")
	shot("recovery-codes")

	// Sign out, and in again with a code on the second page.
	step("sign out", submit(`header form[action="/logout"]`), chromedp.WaitVisible(chromedp.CSS("#email")))
	passwordStep := func() {
		t.Helper()
		step("sign in with MFA", chromedp.Navigate(ts.URL+"/login?next=%2Fdashboard"), chromedp.WaitVisible(chromedp.CSS("#email")),
			chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), password),
			submit(`form[action="/login"]`), chromedp.WaitVisible(chromedp.CSS(`form[action="/login/mfa"]`)))
	}
	passwordStep()
	shot("login-mfa")
	// The password alone grants nothing: the dashboard still asks to sign in.
	step("dashboard while half signed in", chromedp.Navigate(ts.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("#email")))
	if loc := location(); !strings.HasPrefix(loc, ts.URL+"/login?next=") {
		t.Errorf("half signed in, /dashboard went to %s", loc)
	}
	passwordStep()
	step("enter the code", chromedp.SendKeys(chromedp.CSS("#code"), keyholetest.TOTPCode(t, seed, time.Now(), 1)),
		submit(`form[action="/login/mfa"]`), chromedp.WaitVisible(chromedp.CSS("nav.sections")))
	if h := text("main h1"); h != "Your account" {
		t.Fatalf("after the code: %q", h)
	}

	// Register a client on the dashboard.
	redirect := callback.URL + "/callback"
	step("register a client", chromedp.Navigate(ts.URL+"/dashboard/applications"), chromedp.WaitVisible(chromedp.CSS("#redirect_uri")),
		chromedp.SendKeys(chromedp.CSS("#name"), "Grace's Notebook"), chromedp.SendKeys(chromedp.CSS("#redirect_uri"), redirect),
		submit(`form[action="/dashboard/applications/create"]`), chromedp.WaitVisible(chromedp.CSS("#client-secret")))
	clientID, clientSecret := text("#client-id"), value("#client-secret")
	shot("client-created")
	smtp.Take(t, email, "a new OAuth client was registered")

	// Authorize it through the consent page.
	conf := &oauth2.Config{ClientID: clientID, ClientSecret: clientSecret, RedirectURL: redirect, Scopes: []string{"identity", "read"},
		Endpoint: oauth2.Endpoint{AuthURL: ts.URL + "/oauth/authorize", TokenURL: ts.URL + "/oauth/token"}}
	verifier := oauth2.GenerateVerifier()
	step("consent page", chromedp.Navigate(conf.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier))), chromedp.WaitVisible(chromedp.CSS("button[value=Allow]")))
	shot("consent")
	step("allow", chromedp.Click(chromedp.CSS("button[value=Allow]")), chromedp.WaitVisible(chromedp.CSS("#done")))
	var cb *url.URL
	select {
	case cb = <-got:
	case <-time.After(5 * time.Second):
		t.Fatal("the browser never reached the client")
	}
	tok, err := conf.Exchange(ctx, cb.Query().Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("Exchange: %v", err)
	}
	app := conf.Client(ctx, tok)
	if s := apiGet(t, app, ts.URL+"/account"); s != 200 {
		t.Fatalf("the app's token: GET /account = %d", s)
	}

	// See it under authorized applications, and revoke it.
	step("authorized applications", chromedp.Navigate(ts.URL+"/dashboard/authorized-applications"), chromedp.WaitVisible(chromedp.CSS("ul.rows")))
	list := text("ul.rows")
	for _, want := range []string{"Grace's Notebook", "Read your account's email address and name", "Last used"} {
		if !strings.Contains(list, want) {
			t.Errorf("authorized applications lack %q:\n%s", want, list)
		}
	}
	shot("authorized-applications")
	auths, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll(`ul.rows > li.row`)))
	if err != nil {
		t.Fatal(err)
	}
	revoked := ""
	for _, nd := range auths {
		h2, err := chromedp.Run(bctx, chromedp.Text(chromedp.CSS(`#`+cssID(nd.AttributeValue("id"))+` h2`)))
		if err == nil && h2 == "Grace's Notebook" {
			revoked = nd.AttributeValue("id")
		}
	}
	if revoked == "" {
		t.Fatal("no row for the client")
	}
	step("revoke", submit(`#`+cssID(revoked)+` form[action="/dashboard/authorized-applications/revoke"]`), chromedp.WaitVisible(chromedp.CSS(".notice")))
	if strings.Contains(text("main"), "Grace's Notebook") {
		t.Error("the revoked application is still listed")
	}
	if s := apiGet(t, app, ts.URL+"/account"); s != 401 {
		t.Errorf("the revoked app's token: GET /account = %d, want 401", s)
	}

	// Reveal the API key after entering the password again.
	step("API key page", chromedp.Navigate(ts.URL+"/dashboard/api-key"), chromedp.WaitVisible(chromedp.CSS("#reveal-password")))
	step("reveal", chromedp.SendKeys(chromedp.CSS("#reveal-password"), password), submit(`form[action="/dashboard/api-key/reveal"]`),
		chromedp.WaitVisible(chromedp.CSS("#api-key")))
	apiKey := value("#api-key")
	if s := bearerGet(t, ts.URL+"/account", apiKey); s != 200 {
		t.Errorf("the revealed API key: GET /account = %d", s)
	}
	shot("api-key")

	// Sessions, for the record.
	step("sessions", chromedp.Navigate(ts.URL+"/dashboard/sessions"), chromedp.WaitVisible(chromedp.CSS("li.row.current")))
	shot("sessions")

	// Forgot the password: the link by mail, a recovery code for MFA.
	step("sign out again", submit(`header form[action="/logout"]`), chromedp.WaitVisible(chromedp.CSS("#email")))
	step("forgot password", chromedp.Navigate(ts.URL+"/login"), chromedp.Click(chromedp.CSS(`a[href="/password/forgot"]`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/password/forgot"]`)),
		chromedp.SendKeys(chromedp.CSS("#email"), email), submit(`form[action="/password/forgot"]`),
		chromedp.WaitNotPresent(chromedp.CSS(`form[action="/password/forgot"]`)))
	if h := text("main h1"); h != "Check your mail" {
		t.Fatalf("after asking for a reset: %q", h)
	}
	reset := smtp.Take(t, email, "reset your password").Link("/password/reset?token=")
	step("reset", chromedp.Navigate(reset), chromedp.WaitVisible(chromedp.CSS("#new_password")),
		chromedp.SendKeys(chromedp.CSS("#new_password"), newPW), chromedp.SendKeys(chromedp.CSS("#code"), firstCode))
	shot("reset-password")
	step("set the new password", submit(`form[action="/password/reset"]`), chromedp.WaitVisible(chromedp.CSS("main a")))
	if h := text("main h1"); h != "Password changed" {
		t.Fatalf("after the reset: %q: %s", h, text("main"))
	}
	smtp.Take(t, email, "your password was reset")
	if s := bearerGet(t, ts.URL+"/account", apiKey); s != 401 {
		t.Errorf("the API key after the reset: GET /account = %d, want 401 (a reset replaces it)", s)
	}
	step("sign in with the new password", chromedp.Navigate(ts.URL+"/login?next=%2Fdashboard%2Factivity"), chromedp.WaitVisible(chromedp.CSS("#email")),
		chromedp.SendKeys(chromedp.CSS("#email"), email), chromedp.SendKeys(chromedp.CSS("#password"), newPW),
		submit(`form[action="/login"]`), chromedp.WaitVisible(chromedp.CSS("#code")),
		chromedp.SendKeys(chromedp.CSS("#code"), secondCode), submit(`form[action="/login/mfa"]`),
		chromedp.WaitVisible(chromedp.CSS("ol.events")))

	// The activity log has every step, newest first.
	events, err := chromedp.Run(bctx, chromedp.Nodes(chromedp.CSSAll("ol.events li.event")))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	for _, e := range events {
		types = append(types, e.AttributeValue("data-type"))
	}
	for _, want := range []string{
		"email.verified", "login.failed", "login.succeeded", "mfa.enabled", "session.ended", "client.created",
		"authorization.granted", "authorization.revoked", "api_key.revealed", "mfa.recovery_code_used", "password.reset",
	} {
		if !slices.Contains(types, want) {
			t.Errorf("the activity page lacks %s: %v", want, types)
		}
	}
	if len(types) < 2 || types[0] != "login.succeeded" || types[len(types)-1] != "email.verified" {
		t.Errorf("activity not newest first: %v", types)
	}
	shot("activity")

	// The same page on a phone.
	step("phone", chromedp.EmulateViewport(390, 844, chromedp.EmulateScale(2)), chromedp.Navigate(ts.URL+"/dashboard"), chromedp.WaitVisible(chromedp.CSS("nav.sections")))
	shot("dashboard-phone")
}

// cssID escapes an element id (a UUID may start with a digit) for a CSS
// selector.
func cssID(id string) string {
	if id == "" {
		return id
	}
	if c := id[0]; c >= '0' && c <= '9' {
		return fmt.Sprintf(`\3%c %s`, c, id[1:])
	}
	return id
}

// bearerGet answers the status of a GET with the token.
func bearerGet(t *testing.T, u, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
