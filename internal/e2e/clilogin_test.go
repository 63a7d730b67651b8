package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/keyholeapi"
)

// herokuStart is POST /auth as the Heroku CLI sends it.
func herokuStart(t *testing.T, base string) (browserURL, cliURL, token string) {
	t.Helper()
	resp, err := http.Post(base+"/auth", "application/json", strings.NewReader(`{"description":"Heroku CLI login from laptop"}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		BrowserURL string `json:"browser_url"`
		CLIURL     string `json:"cli_url"`
		Token      string `json:"token"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&body) != nil || body.Token == "" ||
		!strings.HasPrefix(body.BrowserURL, "/") || !strings.HasPrefix(body.CLIURL, "/") {
		t.Fatalf("POST /auth: %d %+v", resp.StatusCode, body)
	}
	if resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("POST /auth carries a secret without Cache-Control: no-store")
	}
	return body.BrowserURL, body.CLIURL, body.Token
}

type pollAnswer struct {
	Status      int `json:"-"`
	raw         string
	AccessToken string `json:"access_token"`
	Error       string `json:"error"`
}

// herokuPoll is the CLI's wait: GET cli_url with the token as Bearer.
func herokuPoll(t *testing.T, base, cliURL, token string) pollAnswer {
	t.Helper()
	req, _ := http.NewRequest("GET", base+cliURL, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Error(err)
		return pollAnswer{}
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	a := pollAnswer{Status: resp.StatusCode, raw: string(b)}
	if err := json.Unmarshal(b, &a); err != nil {
		t.Errorf("poll answer %d is not JSON: %q", resp.StatusCode, b)
	}
	return a
}

// approve signs the browser in at the browser URL and allows the login.
func approve(t *testing.T, br *browser, base, browserURL string) {
	t.Helper()
	entry := signInPage(br, base, br.Get(base+browserURL), "ada@example.com")
	if entry.Status != 200 {
		t.Fatalf("device page: %d %s", entry.Status, entry.Body)
	}
	f := entry.Form()
	code := strings.TrimPrefix(browserURL[strings.Index(browserURL, "user_code="):], "user_code=")
	f.Set("user_code", code)
	consent := br.Post(base+"/device", f)
	if consent.Status != 200 || !strings.Contains(consent.Body, "Authorize Keyhole CLI?") || !strings.Contains(consent.Body, "Heroku CLI login from laptop") {
		t.Fatalf("consent page: %d %s", consent.Status, consent.Body)
	}
	f = consent.Form()
	f.Set("authorize", "Allow")
	if done := br.Post(base+"/device", f); done.Status != 200 {
		t.Fatalf("Allow: %d %s", done.Status, done.Body)
	}
}

func accountStatus(t *testing.T, base, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", base+"/account", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestHerokuBrowserLogin drives the Heroku CLI's browser login over HTTP
// on each backend: POST /auth, sign in and allow on the page the browser
// URL names, the wait answers the token, GET /account works with it, the
// token was single use, and signing out of the browser ends the login.
func TestHerokuBrowserLogin(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)})
			ts.CreateAccount(t, "ada@example.com", password)
			browserURL, cliURL, token := herokuStart(t, ts.URL)

			// The CLI waits while the person signs in and allows.
			answer := make(chan pollAnswer, 1)
			go func() { answer <- herokuPoll(t, ts.URL, cliURL, token) }()
			br := newBrowser(t)
			approve(t, br, ts.URL, browserURL)
			a := <-answer
			if a.Status != 200 || !strings.HasPrefix(a.AccessToken, "kha_") || a.Error != "" {
				t.Fatalf("wait answered %d %s", a.Status, a.raw)
			}
			if s := accountStatus(t, ts.URL, a.AccessToken); s != 200 {
				t.Fatalf("GET /account with the login's token: %d", s)
			}

			// Single use: the token is spent.
			if again := herokuPoll(t, ts.URL, cliURL, token); again.Status != 401 || again.Error != "invalid_token" {
				t.Errorf("second wait: %d %s", again.Status, again.raw)
			}

			// The login is a CLI login session of its own, as login -i's.
			api, _ := keyholeapi.New(ts.URL, keyholeapi.WithToken(a.AccessToken))
			sessions, err := api.Sessions(context.Background(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var cli, browsers int
			for _, s := range sessions {
				switch {
				case s.Description == "Heroku CLI login from laptop":
					cli++
				case strings.HasPrefix(s.Description, "Browser session"):
					browsers++
				}
			}
			if cli != 1 || browsers != 1 {
				t.Errorf("sessions = %+v, want the browser's and one CLI login", sessions)
			}

			// Signing out of the browser ends the CLI login made through it.
			out := br.Get(ts.URL + "/logout")
			if done := br.Post(ts.URL+"/logout", out.Form()); done.Status != http.StatusSeeOther {
				t.Fatalf("sign out: %d", done.Status)
			}
			if s := accountStatus(t, ts.URL, a.AccessToken); s != 401 {
				t.Errorf("after the browser signed out, the CLI login's token: %d, want 401", s)
			}
		})
	}
}

// TestHerokuBrowserLoginWaits: a wait that outlasts the quiet time is
// committed to 200 and still answers the token (after whitespace, which
// JSON allows) once the person allows; unknown tokens, denials and bad
// requests are answered with the error the CLI prints.
func TestHerokuBrowserLoginWaits(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "ada@example.com", password)

	if a := herokuPoll(t, ts.URL, "/auth/cli", "khd_unknown"); a.Status != 401 || a.Error != "invalid_token" {
		t.Errorf("unknown token: %d %s", a.Status, a.raw)
	}
	req, _ := http.NewRequest("GET", ts.URL+"/auth/cli", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Errorf("no token: %v %v", resp, err)
	}
	if resp, err := http.Post(ts.URL+"/auth", "application/json", strings.NewReader(`{"description":"a\u0000b"}`)); err != nil || resp.StatusCode != 400 {
		t.Errorf("control character in the description: %v %v", resp, err)
	}

	browserURL, cliURL, token := herokuStart(t, ts.URL)
	answer := make(chan pollAnswer, 1)
	go func() { answer <- herokuPoll(t, ts.URL, cliURL, token) }()
	time.Sleep(6 * time.Second) // past the 5 s the wait keeps its status open
	approve(t, newBrowser(t), ts.URL, browserURL)
	a := <-answer
	if a.Status != 200 || !strings.HasPrefix(a.AccessToken, "kha_") {
		t.Fatalf("committed wait answered %d %q", a.Status, a.raw)
	}

	// Denied in the browser: the wait answers the error.
	browserURL, cliURL, token = herokuStart(t, ts.URL)
	br := newBrowser(t)
	entry := signInPage(br, ts.URL, br.Get(ts.URL+browserURL), "ada@example.com")
	f := entry.Form()
	f.Set("user_code", browserURL[strings.Index(browserURL, "=")+1:])
	consent := br.Post(ts.URL+"/device", f)
	f = consent.Form()
	f.Set("authorize", "Deny")
	br.Post(ts.URL+"/device", f)
	if a := herokuPoll(t, ts.URL, cliURL, token); a.Status != 400 || a.Error != "access_denied" {
		t.Errorf("denied: %d %s", a.Status, a.raw)
	}
}

// TestHerokuBrowserLoginRace: 20 waits on one approved login; exactly one
// gets the token, the others are told it is used.
func TestHerokuBrowserLoginRace(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)})
			ts.CreateAccount(t, "ada@example.com", password)
			browserURL, cliURL, token := herokuStart(t, ts.URL)
			approve(t, newBrowser(t), ts.URL, browserURL)
			var wg sync.WaitGroup
			answers := make([]pollAnswer, 20)
			for i := range answers {
				wg.Add(1)
				go func() {
					defer wg.Done()
					answers[i] = herokuPoll(t, ts.URL, cliURL, token)
				}()
			}
			wg.Wait()
			won := 0
			for _, a := range answers {
				switch {
				case a.Status == 200 && a.AccessToken != "":
					won++
				case a.Status == 401 && a.Error == "invalid_token":
				default:
					t.Errorf("wait answered %d %s", a.Status, a.raw)
				}
			}
			if won != 1 {
				t.Errorf("%d of 20 concurrent waits got a token, want 1", won)
			}
		})
	}
}

// TestCLIDeviceLogin: Keyhole's own CLI's device login through
// golang.org/x/oauth2 and the built-in client is a CLI login session made
// through the browser session: it ends when the browser signs out, while
// a third-party device client's grant outlives it.
func TestCLIDeviceLogin(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			f := setup(t, b, false)
			ctx := context.Background()
			api, _ := keyholeapi.New(f.ts.URL)
			conf := api.OAuth2Config(keyholeapi.CLIClientID, "", "global")

			br := newBrowser(t)
			login := func(c *oauth2.Config, opts ...oauth2.AuthCodeOption) *oauth2.Token {
				t.Helper()
				da, err := c.DeviceAuth(ctx, opts...)
				if err != nil {
					t.Fatalf("DeviceAuth: %v", err)
				}
				p := br.Get(da.VerificationURIComplete)
				if p.Status == http.StatusSeeOther {
					p = signInPage(br, f.ts.URL, p, "ada@example.com")
				}
				form := p.Form()
				form.Set("user_code", da.UserCode)
				consent := br.Post(f.ts.URL+"/device", form)
				form = consent.Form()
				form.Set("authorize", "Allow")
				if done := br.Post(f.ts.URL+"/device", form); done.Status != 200 {
					t.Fatalf("Allow: %d %s", done.Status, done.Body)
				}
				da.Interval = 1
				tok, err := c.DeviceAccessToken(ctx, da)
				if err != nil {
					t.Fatalf("DeviceAccessToken: %v", err)
				}
				return tok
			}
			cli := login(conf, oauth2.SetAuthURLParam("description", "Keyhole CLI login from laptop"))
			if cli.RefreshToken != "" || cli.Expiry.IsZero() {
				t.Errorf("CLI login token = %+v, want no refresh token and the session's expiry", cli)
			}
			app := login(f.conf)
			if s := accountStatus(t, f.ts.URL, cli.AccessToken); s != 200 {
				t.Fatalf("CLI login token: %d", s)
			}

			// A description is only for the built-in client.
			if _, err := f.conf.DeviceAuth(ctx, oauth2.SetAuthURLParam("description", "Official security check")); err == nil {
				t.Error("a third-party client described itself")
			}

			out := br.Get(f.ts.URL + "/logout")
			br.Post(f.ts.URL+"/logout", out.Form())
			if s := accountStatus(t, f.ts.URL, cli.AccessToken); s != 401 {
				t.Errorf("after sign-out, the CLI login: %d, want 401", s)
			}
			if s := apiGet(t, f.conf.Client(ctx, app), f.ts.URL+"/apps"); s != 200 {
				t.Errorf("after sign-out, the third-party device grant: %d, want 200", s)
			}
			// The built-in client may not act as itself.
			body := bytes.NewBufferString("grant_type=client_credentials&client_id=" + keyholeapi.CLIClientID)
			resp, err := http.Post(f.ts.URL+"/oauth/token", "application/x-www-form-urlencoded", body)
			if err != nil || resp.StatusCode == 200 {
				t.Errorf("client credentials for the built-in client: %v %v", resp, err)
			}
		})
	}
}
