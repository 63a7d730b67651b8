package bouncer

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
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
	clock  *clock
	// adaID is the id of ada@example.com's account.
	adaID string
}

// clock is the bouncer's clock, moved by the test.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

func randomKey(n int) []byte {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return b
}

// newHarness starts Keyhole (on be) with the account ada@example.com, who
// registers the OAuth client "Test App", and the app: "/" is public, "/user"
// greets the account, "/api" calls GET /account with Client.
func newHarness(t testing.TB, be keyholetest.Backend, tweak func(*Config)) *harness {
	t.Helper()
	kh := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
	adaID := kh.CreateAccount(t, "ada@example.com", password)
	app := httptest.NewUnstartedServer(nil)
	redirect := "http://" + app.Listener.Addr().String() + "/auth/callback"
	actor, err := kh.Service.VerifyToken(context.Background(), kh.Login(t, "ada@example.com", password))
	if err != nil {
		t.Fatal(err)
	}
	name := "Test App"
	client, err := kh.Service.CreateClient(context.Background(), actor, service.ClientParams{Name: &name, RedirectURI: &redirect})
	if err != nil {
		t.Fatal(err)
	}
	clk := &clock{now: time.Now()}
	cfg := Config{
		Issuer: kh.URL, ClientID: client.ID, ClientSecret: client.Secret.Reveal(), RedirectURL: redirect,
		HashKey: randomKey(32), BlockKey: randomKey(32), AppName: "Test App",
		Public: func(r *http.Request) bool { return r.URL.Path == "/" },
		Log:    slog.New(slog.NewTextHandler(testWriter{t}, nil)), Now: clk.Now,
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
	return &harness{t: t, kh: kh, app: app, b: b, cfg: cfg, client: client, clock: clk, adaID: adaID}
}

// createAccount adds another Keyhole account.
func (h *harness) createAccount(email string) { h.kh.CreateAccount(h.t, email, password) }

// authorize takes the browser from an authorization request at Keyhole
// through its sign-in (as email, when not signed in yet) and consent page
// (answered with decision, when asked) to the redirect back to the app,
// and returns that callback URL without following it.
func (h *harness) authorize(br *browser, authURL, email, decision string) string {
	h.t.Helper()
	p := br.get(authURL)
	if p.status == http.StatusSeeOther && strings.HasPrefix(p.location, "/login?") {
		login := br.get(resolve(h.kh.URL, p.location))
		f := login.form()
		f.Set("email", email)
		f.Set("password", password)
		done := br.post(h.kh.URL+"/login", f)
		if done.status != http.StatusSeeOther {
			h.t.Fatalf("sign in at Keyhole: %d %s", done.status, done.body)
		}
		p = br.get(resolve(h.kh.URL, done.location))
	}
	if p.status == http.StatusOK {
		if !strings.Contains(p.body, "Authorize Test App?") {
			h.t.Fatalf("not the consent page:\n%s", p.body)
		}
		f := p.form()
		f.Set("authorize", decision)
		p = br.post(h.kh.URL+"/oauth/authorize", f)
	}
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, h.app.URL+"/auth/callback?") {
		h.t.Fatalf("Keyhole did not send the browser back to the app: %d %q\n%s", p.status, p.location, p.body)
	}
	return p.location
}

// startSignIn starts a sign-in coming back to /user and returns the URL of
// Keyhole's authorization endpoint it redirects to.
func (h *harness) startSignIn(br *browser) string {
	h.t.Helper()
	p := br.get(h.app.URL + "/auth/signin?next=%2Fuser")
	if p.status != http.StatusSeeOther || !strings.HasPrefix(p.location, h.kh.URL+"/oauth/authorize?") {
		h.t.Fatalf("sign-in: %d %q, want 303 to Keyhole", p.status, p.location)
	}
	return p.location
}

// signIn signs email in to the app, from /user to /user.
func (h *harness) signIn(br *browser, email string) {
	h.t.Helper()
	cb := h.authorize(br, h.startSignIn(br), email, "Allow")
	if p := br.get(cb); p.status != http.StatusSeeOther || p.location != "/user" {
		h.t.Fatalf("callback: %d %q\n%s", p.status, p.location, p.body)
	}
	if p := br.get(h.app.URL + "/user"); p.status != 200 || !strings.HasPrefix(p.body, "Hello "+email) {
		h.t.Fatalf("GET /user after sign-in: %d %s", p.status, p.body)
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
	for _, c := range br.jar.Cookies(u) {
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
	br.jar.SetCookies(u, []*http.Cookie{{Name: h.b.cookies.name, Value: v, Path: "/"}})
}

// browser is a person's browser: it keeps cookies and does not follow
// redirects, so that each step can be checked.
type browser struct {
	t   testing.TB
	c   *http.Client
	jar *cookiejar.Jar
}

func newBrowser(t testing.TB) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, jar: jar, c: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

type page struct {
	status   int
	header   http.Header
	body     string
	location string
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, header: resp.Header, body: string(body), location: resp.Header.Get("Location")}
}

func (b *browser) get(u string) page {
	b.t.Helper()
	req, _ := http.NewRequest("GET", u, nil)
	return b.do(req)
}

func (b *browser) post(u string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)

// form returns the hidden fields of the page's form.
func (p page) form() url.Values {
	v := url.Values{}
	for _, m := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		v.Set(html.UnescapeString(m[1]), html.UnescapeString(m[2]))
	}
	return v
}

// link returns the href of the page's first link.
func (p page) link() string {
	m := regexp.MustCompile(`<a href="([^"]*)">`).FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// isPage reports whether p is an HTML page with the bouncer's problem
// title on it.
func (p page) isPage(title string) bool {
	return strings.HasPrefix(p.header.Get("Content-Type"), "text/html") &&
		strings.Contains(p.body, "<h1>"+html.EscapeString(title)+"</h1>")
}

// resolve makes a Location absolute against base.
func resolve(base, loc string) string {
	u, _ := url.Parse(base)
	l, _ := u.Parse(loc)
	return l.String()
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
