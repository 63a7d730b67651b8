package bouncer

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

const password = "correct horse battery"

// harness is an app guarded by a Bouncer, signing people in with a real
// in-process Keyhole.
type harness struct {
	t      testing.TB
	kh     *keyholetest.Server
	app    *httptest.Server
	b      *Bouncer
	cfg    Config
	client service.ClientInfo
	clock  *keyholetest.Clock
	// adaID is the id of ada@example.com's account.
	adaID string
	// logs is what the bouncer logged.
	logs *keyholetest.LogBuffer
	// signedOut is the client's registered post-logout redirect URI, a
	// public page of the app.
	signedOut string
}

// mode is a kind of sign-in, with the scopes that choose it.
type mode struct {
	name   string
	scopes []string
}

// modes are OpenID Connect (the default, no Scopes) and plain OAuth (a
// Heroku scope, identity).
var modes = []mode{{"openid", nil}, {"oauth", []string{"identity"}}}

// tweak is newHarness's tweak for the mode.
func (m mode) tweak(cfg *Config) { cfg.Scopes = m.scopes }

func randomKey(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newHarness starts Keyhole (on be) with the account ada@example.com, who
// registers the OAuth client "Test App" (with the app's /signed-out as a
// post-logout redirect URI), and the app: "/" and "/signed-out" are
// public, "/user" greets the account, "/api" calls GET /account with
// Client. The bouncer's scopes are the default (OpenID Connect) unless
// tweak changes them.
func newHarness(t testing.TB, be keyholetest.Backend, tweak func(*Config)) *harness {
	t.Helper()
	kh := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
	adaID := kh.CreateAccount(t, "ada@example.com", password)
	app := httptest.NewUnstartedServer(nil)
	redirect := "http://" + app.Listener.Addr().String() + "/auth/callback"
	signedOut := "http://" + app.Listener.Addr().String() + "/signed-out"
	actor, err := kh.Service.VerifyToken(context.Background(), kh.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name := "Test App"
	logout := []string{signedOut}
	client, err := kh.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect, PostLogoutRedirectURIs: &logout})
	if err != nil {
		t.Fatal(err)
	}
	clk := keyholetest.NewClock(time.Now())
	logs := &keyholetest.LogBuffer{}
	cfg := Config{
		Issuer: kh.URL, ClientID: client.ID, ClientSecret: client.Secret.Reveal(), RedirectURL: redirect,
		HashKey: randomKey(32), BlockKey: randomKey(32), AppName: "Test App",
		Public: func(r *http.Request) bool { return r.URL.Path == "/" || r.URL.Path == "/signed-out" },
		Log:    slog.New(slog.NewTextHandler(io.MultiWriter(testWriter{t}, logs), nil)), Now: clk.Now,
	}
	if tweak != nil {
		tweak(&cfg)
	}
	b, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		_, signedIn := AccountFrom(r.Context())
		fmt.Fprintf(w, "home signed-in=%v", signedIn)
	})
	mux.HandleFunc("/signed-out", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "signed out")
	})
	mux.HandleFunc("/user", func(w http.ResponseWriter, r *http.Request) {
		a, ok := AccountFrom(r.Context())
		if !ok {
			t.Error("/user without an account on the context")
		}
		fmt.Fprintf(w, "Hello %s (%s)", a.Email, a.ID)
	})
	mux.HandleFunc("/api", func(w http.ResponseWriter, r *http.Request) {
		resp, err := Client(r.Context()).Get(kh.URL + "/account")
		if err != nil {
			t.Error(err)
			return
		}
		defer resp.Body.Close()
		fmt.Fprintf(w, "GET /account as the person: %d", resp.StatusCode)
	})
	app.Config.Handler = b.Wrap(mux)
	app.Start()
	t.Cleanup(app.Close)
	return &harness{t: t, kh: kh, app: app, b: b, cfg: cfg, client: client, clock: clk, adaID: adaID, logs: logs, signedOut: signedOut}
}

// logged reports whether the bouncer logged a page for the problem code
// with a cause that says want.
func (h *harness) logged(code, want string) bool {
	for _, line := range strings.Split(h.logs.String(), "\n") {
		if strings.Contains(line, "problem="+code+" ") && strings.Contains(line, want) {
			return true
		}
	}
	return false
}

// tokenAnswers is the bouncer's HTTP client's transport with a seam: edit,
// when set, rewrites the body of each answer of Keyhole's token endpoint
// before the bouncer reads it, as a Keyhole gone wrong, or an attacker
// in the middle, would.
type tokenAnswers struct {
	mu   sync.Mutex
	edit func(body map[string]any)
}

func (ta *tokenAnswers) set(edit func(map[string]any)) {
	ta.mu.Lock()
	defer ta.mu.Unlock()
	ta.edit = edit
}

func (ta *tokenAnswers) RoundTrip(r *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(r)
	ta.mu.Lock()
	edit := ta.edit
	ta.mu.Unlock()
	if err != nil || edit == nil || r.URL.Path != "/oauth/token" || resp.StatusCode != http.StatusOK {
		return resp, err
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		return nil, err
	}
	edit(body)
	b, _ := json.Marshal(body)
	resp.Body = io.NopCloser(bytes.NewReader(b))
	resp.ContentLength = int64(len(b))
	resp.Header.Del("Content-Length")
	return resp, nil
}

// createAccount adds another Keyhole account.
func (h *harness) createAccount(email string) { h.kh.CreateAccount(h.t, email, password) }

// authorize takes the browser from an authorization request at Keyhole
// through its sign-in (as email, when not signed in yet) and consent page
// (answered with decision, when asked) to the redirect back to the app,
// and returns that callback URL without following it.
func (h *harness) authorize(br *browser, authURL, email, decision string) string {
	h.t.Helper()
	p := br.Get(authURL)
	if p.Status == http.StatusSeeOther && strings.HasPrefix(p.Location, "/login?") {
		login := br.Get(keyholetest.Resolve(h.kh.URL, p.Location))
		f := login.Form()
		f.Set("email", email)
		f.Set("password", password)
		done := br.Post(h.kh.URL+"/login", f)
		if done.Status != http.StatusSeeOther {
			h.t.Fatalf("sign in at Keyhole: %d %s", done.Status, done.Body)
		}
		p = br.Get(keyholetest.Resolve(h.kh.URL, done.Location))
	}
	if p.Status == http.StatusOK {
		if !strings.Contains(p.Body, "Authorize Test App?") {
			h.t.Fatalf("not the consent page:\n%s", p.Body)
		}
		f := p.Form()
		f.Set("authorize", decision)
		p = br.Post(h.kh.URL+"/oauth/authorize", f)
	}
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, h.app.URL+"/auth/callback?") {
		h.t.Fatalf("Keyhole did not send the browser back to the app: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	return p.Location
}

// startSignIn starts a sign-in coming back to /user and returns the URL of
// Keyhole's authorization endpoint it redirects to.
func (h *harness) startSignIn(br *browser) string {
	h.t.Helper()
	p := br.Get(h.app.URL + "/auth/signin?next=%2Fuser")
	if p.Status != http.StatusSeeOther || !strings.HasPrefix(p.Location, h.kh.URL+"/oauth/authorize?") {
		h.t.Fatalf("sign-in: %d %q, want 303 to Keyhole", p.Status, p.Location)
	}
	return p.Location
}

// signIn signs email in to the app, from /user to /user.
func (h *harness) signIn(br *browser, email string) {
	h.t.Helper()
	cb := h.authorize(br, h.startSignIn(br), email, "Allow")
	if p := br.Get(cb); p.Status != http.StatusSeeOther || p.Location != "/user" {
		h.t.Fatalf("callback: %d %q\n%s", p.Status, p.Location, p.Body)
	}
	if p := br.Get(h.app.URL + "/user"); p.Status != 200 || !strings.HasPrefix(p.Body, "Hello "+email) {
		h.t.Fatalf("GET /user after sign-in: %d %s", p.Status, p.Body)
	}
}

// grants lists the ids of the authorizations the account gave Test App,
// through Keyhole's Platform API with the account's API key.
func (h *harness) grants(email string) []string {
	h.t.Helper()
	var list []struct {
		ID     string `json:"id"`
		Client *struct {
			ID string `json:"id"`
		} `json:"client"`
	}
	h.keyholeAPI(email, "GET", "/oauth/authorizations", &list)
	var ids []string
	for _, a := range list {
		if a.Client != nil && a.Client.ID == h.client.ID {
			ids = append(ids, a.ID)
		}
	}
	return ids
}

// revokeGrants revokes every authorization the account gave Test App, as
// the person would on Keyhole, and returns how many there were.
func (h *harness) revokeGrants(email string) int {
	h.t.Helper()
	ids := h.grants(email)
	for _, id := range ids {
		h.keyholeAPI(email, "DELETE", "/oauth/authorizations/"+id, nil)
	}
	return len(ids)
}

func (h *harness) keyholeAPI(email, method, path string, out any) {
	h.t.Helper()
	req, _ := http.NewRequest(method, h.kh.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+h.kh.APIKey(h.t, email, password))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		h.t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, body)
	}
	if out != nil {
		if err := json.Unmarshal(body, out); err != nil {
			h.t.Fatal(err)
		}
	}
}

// session decodes the browser's session cookie for the app.
func (h *harness) session(br *browser) *session {
	h.t.Helper()
	u, _ := url.Parse(h.app.URL)
	req := &http.Request{Header: http.Header{}}
	for _, c := range br.Jar.Cookies(u) {
		req.AddCookie(c)
	}
	return h.b.cookies.load(req)
}

// setSession replaces the browser's session cookie with s.
func (h *harness) setSession(br *browser, s *session) {
	h.t.Helper()
	v, err := h.b.cookies.codec.Encode(h.b.cookies.name, s)
	if err != nil {
		h.t.Fatal(err)
	}
	u, _ := url.Parse(h.app.URL)
	br.Jar.SetCookies(u, []*http.Cookie{{Name: h.b.cookies.name, Value: v, Path: "/"}})
}

// browser is a person's browser (keyholetest.Agent): it keeps cookies
// and does not follow redirects, so that each step can be checked.
type browser = keyholetest.Agent

type page = keyholetest.Page

func newBrowser(t testing.TB) *browser { return keyholetest.NewAgent(t) }

// link returns the href of the page's first link.
func linkOf(p page) string {
	m := regexp.MustCompile(`<a href="([^"]*)">`).FindStringSubmatch(p.Body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// isPage reports whether p is an HTML page with the bouncer's problem
// title on it.
func isPage(p page, title string) bool {
	return strings.HasPrefix(p.Header.Get("Content-Type"), "text/html") &&
		strings.Contains(p.Body, "<h1>"+html.EscapeString(title)+"</h1>")
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
