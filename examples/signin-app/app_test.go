package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

const password = "correct horse battery"

// envMap is a getenv over a map.
func envMap(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

// goodEnv is a complete configuration.
func goodEnv() map[string]string {
	return map[string]string{
		"KEYHOLE_OAUTH_ID": "3f1c2a9e-5d7b-4c8a-9e2f-1a2b3c4d5e6f", "KEYHOLE_OAUTH_SECRET": "khs_secret",
		"COOKIE_SECRET":  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
		"COOKIE_ENCRYPT": "fedcba9876543210fedcba9876543210",
	}
}

// TestConfig: one message names every missing variable and every other
// problem; the rest have defaults.
func TestConfig(t *testing.T) {
	_, err := loadConfig(envMap(nil))
	var ce *configError
	if !errors.As(err, &ce) {
		t.Fatalf("empty environment: %v, want a configuration error", err)
	}
	if got, want := strings.SplitN(err.Error(), "\n", 2)[0], "missing KEYHOLE_OAUTH_ID, KEYHOLE_OAUTH_SECRET, COOKIE_SECRET and COOKIE_ENCRYPT. Set them in the environment or in .env:"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	for _, want := range []string{`keyhole clients:create "Example" http://127.0.0.1:8080/auth/callback --post-logout-redirect-uri http://127.0.0.1:8080/ --shell`, "openssl rand -hex 32", "openssl rand -hex 16"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("the message does not say how to make them (%q):\n%v", want, err)
		}
	}

	cfg, err := loadConfig(envMap(goodEnv()))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.KeyholeURL != "http://127.0.0.1:5000" || cfg.Port != "8080" || cfg.AppURL != "http://127.0.0.1:8080" || cfg.listenAddr() != "127.0.0.1:8080" ||
		strings.Join(cfg.Scopes, " ") != "openid email profile" || cfg.PostLogoutURL != "http://127.0.0.1:8080/" {
		t.Errorf("defaults: %+v, listening on %s", cfg, cfg.listenAddr())
	}

	for _, c := range []struct {
		name string
		set  map[string]string
		want []string
	}{
		{"one missing", map[string]string{"COOKIE_ENCRYPT": ""}, []string{"missing COOKIE_ENCRYPT. Set it"}},
		{"short cookie secret", map[string]string{"COOKIE_SECRET": "short"}, []string{"COOKIE_SECRET has 5 characters, needs 32 or more"}},
		{"cookie key of 20", map[string]string{"COOKIE_ENCRYPT": strings.Repeat("k", 20)}, []string{"COOKIE_ENCRYPT has 20 characters, needs exactly 16, 24 or 32"}},
		{"same keys", map[string]string{"COOKIE_ENCRYPT": strings.Repeat("k", 32), "COOKIE_SECRET": strings.Repeat("k", 32)}, []string{"must differ"}},
		{"everything wrong at once", map[string]string{"KEYHOLE_OAUTH_ID": "", "KEYHOLE_URL": "keyhole", "PORT": "http", "APP_URL": "https://app.example/path"},
			[]string{"missing KEYHOLE_OAUTH_ID.", `KEYHOLE_URL "keyhole" is not`, `PORT "http" is not`, `APP_URL "https://app.example/path" is not`}},
		{"post-logout URL not a URL", map[string]string{"POST_LOGOUT_URL": "/signed-out"}, []string{`POST_LOGOUT_URL "/signed-out" is not an http(s) URL`}},
		{"post-logout URL on plain OAuth", map[string]string{"KEYHOLE_SCOPES": "identity", "POST_LOGOUT_URL": "http://127.0.0.1:8080/"}, []string{"POST_LOGOUT_URL needs openid in KEYHOLE_SCOPES"}},
		{"plain OAuth, client missing", map[string]string{"KEYHOLE_SCOPES": "identity", "KEYHOLE_OAUTH_SECRET": ""},
			[]string{"missing KEYHOLE_OAUTH_SECRET.", `keyhole clients:create "Example" http://127.0.0.1:8080/auth/callback --shell`}},
	} {
		t.Run(c.name, func(t *testing.T) {
			env := goodEnv()
			for k, v := range c.set {
				env[k] = v
			}
			_, err := loadConfig(envMap(env))
			if err == nil {
				t.Fatal("accepted")
			}
			for _, want := range c.want {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error lacks %q:\n%v", want, err)
				}
			}
		})
	}

	env := goodEnv()
	env["APP_URL"], env["PORT"], env["KEYHOLE_URL"] = "https://app.example.com/", "9000", "https://id.example.com/"
	cfg, err = loadConfig(envMap(env))
	if err != nil || cfg.AppURL != "https://app.example.com" || cfg.KeyholeURL != "https://id.example.com" || cfg.listenAddr() != ":9000" ||
		cfg.PostLogoutURL != "https://app.example.com/" {
		t.Errorf("a public app: %+v listening on %s, %v", cfg, cfg.listenAddr(), err)
	}
	env["KEYHOLE_SCOPES"], env["POST_LOGOUT_URL"] = "  identity  ", ""
	if cfg, err := loadConfig(envMap(env)); err != nil || strings.Join(cfg.Scopes, " ") != "identity" || cfg.openID() || cfg.PostLogoutURL != "" {
		t.Errorf("plain OAuth: %+v, %v", cfg, err)
	}
	env["KEYHOLE_SCOPES"], env["POST_LOGOUT_URL"] = "openid email", "https://app.example.com/bye"
	if cfg, err := loadConfig(envMap(env)); err != nil || !cfg.openID() || cfg.PostLogoutURL != "https://app.example.com/bye" {
		t.Errorf("POST_LOGOUT_URL: %+v, %v", cfg, err)
	}
	// What bouncer.New refuses is a configuration error too (exit 2).
	env["KEYHOLE_SCOPES"] = "openid root"
	cfg, err = loadConfig(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newApp(cfg, slog.New(slog.DiscardHandler)); !errors.As(err, &ce) || !strings.Contains(err.Error(), `unknown scope "root"`) {
		t.Errorf("an unknown scope: %v, want a configuration error", err)
	}
}

// TestDotEnv: a .env as `keyhole clients:create … --shell` writes it,
// with the cookie keys appended, configures the app; the environment wins.
func TestDotEnv(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, ".env")
	shell := "KEYHOLE_OAUTH_ID=3f1c2a9e-5d7b-4c8a-9e2f-1a2b3c4d5e6f\nKEYHOLE_OAUTH_SECRET='khs_4m2Xq9'\n" +
		"COOKIE_SECRET=0123456789abcdef0123456789abcdef\nexport COOKIE_ENCRYPT=\"fedcba9876543210\"\n# a comment\n\n"
	if err := os.WriteFile(file, []byte(shell), 0o600); err != nil {
		t.Fatal(err)
	}
	getenv, err := withDotEnv(envMap(map[string]string{"PORT": "9001"}), file, false)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientID != "3f1c2a9e-5d7b-4c8a-9e2f-1a2b3c4d5e6f" || cfg.ClientSecret != "khs_4m2Xq9" || string(cfg.CookieEncrypt) != "fedcba9876543210" || cfg.Port != "9001" {
		t.Errorf("from .env: %+v", cfg)
	}
	getenv, _ = withDotEnv(envMap(map[string]string{"KEYHOLE_OAUTH_SECRET": "khs_from_env"}), file, false)
	if got := getenv("KEYHOLE_OAUTH_SECRET"); got != "khs_from_env" {
		t.Errorf("the environment did not win: %q", got)
	}

	if _, err := withDotEnv(envMap(nil), filepath.Join(dir, "none"), false); err != nil {
		t.Errorf("no .env where none was asked for: %v", err)
	}
	if _, err := withDotEnv(envMap(nil), filepath.Join(dir, "none"), true); err == nil {
		t.Error("-env naming a missing file was accepted")
	}
}

// TestRun starts the app as main does, with its settings from .env, on a
// loopback port, and stops it.
func TestRun(t *testing.T) {
	kh := keyholetest.NewServer(t, keyholetest.Options{})
	kh.CreateAccount(t, "ada@example.com", password)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	appURL := "http://127.0.0.1:" + strconv.Itoa(port)
	id, secret := registerClient(t, kh, appURL+"/auth/callback")
	env := filepath.Join(t.TempDir(), "app.env")
	os.WriteFile(env, []byte("KEYHOLE_OAUTH_ID="+id+"\nKEYHOLE_OAUTH_SECRET="+secret+"\n"), 0o600)
	getenv := envMap(map[string]string{
		"KEYHOLE_URL": kh.URL, "PORT": strconv.Itoa(port),
		"COOKIE_SECRET": goodEnv()["COOKIE_SECRET"], "COOKIE_ENCRYPT": goodEnv()["COOKIE_ENCRYPT"],
	})

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr bytes.Buffer
	done := make(chan error, 1)
	go func() { done <- run(ctx, []string{"-env", env}, getenv, &stdout, &stderr) }()
	var resp *http.Response
	for range 100 {
		if resp, err = http.Get(appURL + "/"); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("the app never answered: %v\n%s", err, stderr.String())
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), "Sign in with Keyhole") {
		t.Errorf("GET /: %d\n%s", resp.StatusCode, body)
	}
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err = noFollow.Get(appURL + "/auth/signin?next=%2Fuser")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusSeeOther || !strings.HasPrefix(loc, kh.URL+"/oauth/authorize?") ||
		!strings.Contains(loc, "client_id="+id) || !strings.Contains(loc, "scope=email+openid+profile") || !strings.Contains(loc, "nonce=") {
		t.Errorf("sign-in: %d %q, want an OpenID Connect request", resp.StatusCode, loc)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
	if want := "Example app at " + appURL + ", signing people in with Keyhole at " + kh.URL + "\n"; stdout.String() != want {
		t.Errorf("stdout = %q, want %q", stdout.String(), want)
	}
}

// TestPages: what the app answers besides the sign-in flow.
func TestPages(t *testing.T) {
	env := goodEnv()
	env["KEYHOLE_URL"] = "http://127.0.0.1:1" // never reached here
	cfg, err := loadConfig(envMap(env))
	if err != nil {
		t.Fatal(err)
	}
	h, err := newApp(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		method, path string
		status       int
		want         string
	}{
		{"GET", "/", 200, `<a id="signin" class="button" href="/auth/signin?next=%2Fuser">Sign in with Keyhole</a>`},
		{"GET", "/static/app.css", 200, "--accent"},
		{"GET", "/nowhere", 404, "There is no page at this address."},
		{"POST", "/", 405, "This address does not take that kind of request."},
		{"GET", "/user", 303, ""},
		{"GET", "/auth/signin", 502, `<h1 id="notice" data-problem="unreachable">Keyhole cannot be reached</h1>`},
		{"GET", "/auth/signout", 200, `<form method="post" action="/auth/signout">`},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(c.method, c.path, nil))
		if rec.Code != c.status || !strings.Contains(rec.Body.String(), c.want) {
			t.Errorf("%s %s: %d, want %d with %q\n%s", c.method, c.path, rec.Code, c.status, c.want, rec.Body)
		}
		// The sign-out form's redirect goes to Keyhole: form-action allows
		// its origin.
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") || !strings.Contains(csp, "frame-ancestors 'none'") ||
			!strings.Contains(csp, "form-action 'self' http://127.0.0.1:1;") {
			t.Errorf("%s %s: CSP %q", c.method, c.path, csp)
		}
		if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: no nosniff", c.method, c.path)
		}
	}
}

// registerClient registers the example's OAuth client through Keyhole's
// Platform API, as the README's curl steps do, with its post-logout
// redirect URIs, and returns its id and secret.
func registerClient(t testing.TB, kh *keyholetest.Server, redirect string, postLogout ...string) (id, secret string) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": "Example", "redirect_uri": redirect, "post_logout_redirect_uris": postLogout})
	req, _ := http.NewRequest("POST", kh.URL+"/oauth/clients", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+kh.APIKey(t, "ada@example.com", password))
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var c struct{ ID, Secret string }
	if err := json.NewDecoder(resp.Body).Decode(&c); err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("POST /oauth/clients: %d %v", resp.StatusCode, err)
	}
	return c.ID, c.Secret
}

// TestSignInFlows signs Ada in to the app and out again through Keyhole's
// real pages, without a browser: with OpenID Connect (the default), where
// signing out goes through Keyhole's end_session_endpoint, ends the
// Keyhole session and comes back to the app's home page
// (POST_LOGOUT_URL's default); and with plain OAuth (KEYHOLE_SCOPES=identity),
// where the app reads GET /account and signing out leaves Keyhole's
// session alone.
func TestSignInFlows(t *testing.T) {
	for _, c := range []struct {
		name, scopes string
		openID       bool
	}{
		{"openid", "", true},
		{"oauth", "identity", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			kh, appURL := startApp(t, c.scopes)

			br := keyholetest.NewAgent(t)
			p := br.Get(appURL + "/auth/signin?next=%2Fuser")
			p = br.Get(p.Location)
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?") {
				t.Fatalf("authorization request: %d %q, want Keyhole's login page", p.Status, p.Location)
			}
			p = signInAtKeyhole(t, br, kh.URL, p.Location)
			if !strings.Contains(p.Body, "Authorize Example?") {
				t.Fatalf("not the consent page: %d\n%s", p.Status, p.Body)
			}
			if got := strings.Contains(p.Body, "Your email address"); got != c.openID {
				t.Errorf("the consent page names the email scope: %v, want %v", got, c.openID)
			}
			f := p.Form()
			f.Set("authorize", "Allow")
			p = br.Post(kh.URL+"/oauth/authorize", f)
			if p = br.Get(p.Location); p.Status != http.StatusSeeOther || p.Location != "/user" {
				t.Fatalf("callback: %d %q\n%s", p.Status, p.Location, p.Body)
			}
			if p = br.Get(appURL + "/user"); p.Status != 200 || !strings.Contains(p.Body, `<h1 id="hello">Hello ada@example.com</h1>`) {
				t.Fatalf("GET /user: %d\n%s", p.Status, p.Body)
			}
			if got := strings.Contains(p.Body, "signs this browser out of Keyhole"); got != c.openID {
				t.Errorf("the page says signing out signs out of Keyhole: %v, want %v", got, c.openID)
			}

			p = br.Post(appURL+"/auth/signout", nil)
			if !c.openID {
				if p.Status != http.StatusSeeOther || p.Location != "/" {
					t.Fatalf("sign-out: %d %q", p.Status, p.Location)
				}
				if p := br.Get(br.Get(appURL + "/auth/signin").Location); p.Status != http.StatusOK || !strings.Contains(p.Body, "Authorize Example?") {
					t.Errorf("signing in again: %d %q, want the consent page (still signed in to Keyhole)", p.Status, p.Location)
				}
				return
			}
			if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, kh.URL+"/oauth/logout?") || !strings.Contains(p.Location, "id_token_hint=") {
				t.Fatalf("sign-out: %d %q, want Keyhole's end_session_endpoint with the ID token", p.Status, p.Location)
			}
			if p = br.Get(p.Location); p.Status != http.StatusSeeOther || p.Location != appURL+"/" {
				t.Fatalf("Keyhole's end session: %d %q, want 303 to %s/\n%s", p.Status, p.Location, appURL, p.Body)
			}
			if p = br.Get(p.Location); p.Status != 200 || !strings.Contains(p.Body, "Sign in with Keyhole") {
				t.Errorf("back home: %d\n%s", p.Status, p.Body)
			}
			if p := br.Get(br.Get(appURL + "/auth/signin").Location); p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, "/login?") {
				t.Errorf("signing in again: %d %q, want Keyhole's login page", p.Status, p.Location)
			}
		})
	}
}

// signInAtKeyhole signs Ada in on Keyhole's login page at loc and returns
// the page it leads to.
func signInAtKeyhole(t *testing.T, br *keyholetest.Agent, khURL, loc string) keyholetest.Page {
	t.Helper()
	f := br.Get(keyholetest.Resolve(khURL, loc)).Form()
	f.Set("email", "ada@example.com")
	f.Set("password", password)
	p := br.Post(khURL+"/login", f)
	if p.Status != http.StatusSeeOther {
		t.Fatalf("sign in at Keyhole: %d\n%s", p.Status, p.Body)
	}
	return br.Get(keyholetest.Resolve(khURL, p.Location))
}

// startApp starts a Keyhole with ada's account and the example app,
// registered as its client (with its home page as the post-logout
// address), asking for scopes ("" for OpenID Connect's), and returns
// both.
func startApp(t *testing.T, scopes string) (*keyholetest.Server, string) {
	t.Helper()
	kh := keyholetest.NewServer(t, keyholetest.Options{})
	kh.CreateAccount(t, "ada@example.com", password)
	app := httptest.NewUnstartedServer(nil)
	appURL := "http://" + app.Listener.Addr().String()
	id, secret := registerClient(t, kh, appURL+"/auth/callback", appURL+"/")
	env := goodEnv()
	env["KEYHOLE_OAUTH_ID"], env["KEYHOLE_OAUTH_SECRET"], env["KEYHOLE_URL"], env["APP_URL"] = id, secret, kh.URL, appURL
	env["KEYHOLE_SCOPES"] = scopes
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
	return kh, appURL
}
