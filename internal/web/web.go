// Package web is Keyhole's HTML surface: sign-in, sign-up, sign-out, the
// OAuth consent page (/oauth/authorize) and the device page (/device).
// Pages are server-rendered html/template with no JavaScript. Handlers read
// the form, call one service method and render.
package web

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/token"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Cookie names.
const (
	sessionCookie = "keyhole_session"
	csrfCookie    = "keyhole_csrf"
)

// maxForm caps form bodies and authorization request query strings.
const maxForm = 8 << 10

// Deps are the surface's dependencies.
type Deps struct {
	Service *service.Service
	Log     *slog.Logger
	// Issuer is the public base URL; https makes cookies Secure.
	Issuer string
	// Signup allows new accounts at /signup.
	Signup bool
}

// Web serves the pages.
type Web struct {
	svc    *service.Service
	log    *slog.Logger
	issuer string
	signup bool
	secure bool
	pages  map[string]*template.Template
	static fs.FS
	cop    *http.CrossOriginProtection
}

// pageNames are the templates; each is parsed with layout.html at start-up.
var pageNames = []string{"login", "signup", "logout", "home", "consent", "device", "message"}

// New returns the HTML surface. It panics if an embedded template does not
// parse, which is a build defect.
func New(d Deps) *Web {
	h := &Web{
		svc: d.Service, log: d.Log, issuer: strings.TrimRight(d.Issuer, "/"), signup: d.Signup,
		secure: strings.HasPrefix(d.Issuer, "https://"), pages: map[string]*template.Template{},
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range pageNames {
		h.pages[p] = template.Must(template.ParseFS(templateFS, "templates/layout.html", "templates/"+p+".html"))
	}
	h.static, _ = fs.Sub(staticFS, "static")
	// Cross-site POSTs are refused by Sec-Fetch-Site / Origin before any
	// handler runs; the form token is the second line.
	h.cop = http.NewCrossOriginProtection()
	h.cop.SetDenyHandler(http.HandlerFunc(h.forbidden))
	return h
}

// Register mounts the pages on mux.
func (h *Web) Register(mux *http.ServeMux) {
	for _, p := range []struct {
		pattern string
		h       http.HandlerFunc
	}{
		{"/login", h.login},
		{"/logout", h.logout},
		{"/signup", h.signupPage},
		{"/oauth/authorize", h.authorize},
		{"/device", h.device},
		{"/static/", h.staticFile},
		{"/{$}", h.home},
	} {
		mux.Handle(p.pattern, h.surface(p.h))
	}
}

// NotFound is the page for an address nothing serves.
func (h *Web) NotFound() http.Handler { return h.surface(h.notFound) }

// surface wraps every page: the security headers, the cross-origin check,
// and a friendly page for a panic.
func (h *Web) surface(fn http.HandlerFunc) http.Handler {
	next := h.cop.Handler(fn)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", csp(""))
		hd.Set("Cache-Control", "no-store")
		hd.Set("X-Frame-Options", "DENY")
		hd.Set("Referrer-Policy", "no-referrer")
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				h.fail(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// csp is the pages' Content Security Policy. extraFormAction lets the
// consent form's answer redirect to the client (browsers apply form-action
// to the redirect after a POST).
func csp(extraFormAction string) string {
	fa := "'self'"
	if extraFormAction != "" {
		fa += " " + extraFormAction
	}
	return "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; frame-ancestors 'none'; form-action " + fa
}

// page is what every template gets; each page reads the fields it needs.
type page struct {
	Title, Error, CSRF, Next string
	Email, Name, UserCode    string
	Signup                   bool
	Client, RedirectHost     string
	Action                   string
	Scopes                   []scopeLine
	Hidden                   []hidden
	Message, Link, LinkText  string
}

type scopeLine struct{ Name, Description string }
type hidden struct{ Name, Value string }

// render executes a page into a buffer first, so that a template error
// becomes a clean 500 rather than half a page.
func (h *Web) render(w http.ResponseWriter, r *http.Request, status int, name string, p page) {
	p.Signup = h.signup
	if p.CSRF == "" {
		p.CSRF = h.csrfToken(w, r)
	}
	var buf bytes.Buffer
	if err := h.pages[name].ExecuteTemplate(&buf, name+".html", p); err != nil {
		h.log.ErrorContext(r.Context(), "render", "page", name, "request_id", requestid.From(r.Context()), "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte("Something went wrong. Please try again in a moment.\n"))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// message renders a page that only says something, such as an error.
func (h *Web) message(w http.ResponseWriter, r *http.Request, status int, title, msg string) {
	h.render(w, r, status, "message", page{Title: title, Message: msg, Link: "/", LinkText: "Keyhole home"})
}

func (h *Web) notFound(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusNotFound, "Not found", "There is no page at this address.")
}

// forbidden answers a cross-site form post, refused before any handler.
func (h *Web) forbidden(w http.ResponseWriter, r *http.Request) {
	h.message(w, r, http.StatusForbidden, "Please try again", "This form did not come from Keyhole, so it was not accepted. Go back, reload the page and submit it again.")
}

// staticFile serves the embedded CSS: files only, no directory listings.
func (h *Web) staticFile(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This address only serves files.")
		return
	}
	name := strings.TrimPrefix(path.Clean(r.URL.Path), "/static/")
	b, err := fs.ReadFile(h.static, name)
	if err != nil || !fs.ValidPath(name) {
		h.notFound(w, r)
		return
	}
	ct := mime.TypeByExtension(path.Ext(name))
	if ct == "" {
		ct = "application/octet-stream"
	}
	w.Header().Set("Content-Type", ct)
	if r.Method != http.MethodHead {
		_, _ = w.Write(b)
	}
}

func (h *Web) methodNotAllowed(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Allow", "GET, POST")
	h.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page takes GET and POST only.")
}

// fail renders an error from the service: its message when it is meant for
// people, a generic page (and a log line) when it is internal.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	switch keyhole.ErrorCode(err) {
	case keyhole.Internal, keyhole.Unavailable:
		h.log.ErrorContext(r.Context(), "internal error", "request_id", requestid.From(r.Context()), "err", err)
		h.message(w, r, http.StatusInternalServerError, "Something went wrong", "An internal error occurred. Please try again in a moment.")
	case keyhole.NotFound:
		h.message(w, r, http.StatusNotFound, "Not found", keyhole.ErrorMessage(err))
	default:
		h.message(w, r, http.StatusBadRequest, "That did not work", keyhole.ErrorMessage(err))
	}
}

// ---- CSRF: a random token in a cookie, repeated in every form.

func (h *Web) csrfToken(w http.ResponseWriter, r *http.Request) string {
	if c, err := r.Cookie(csrfCookie); err == nil && len(c.Value) == 43 {
		return c.Value
	}
	b := make([]byte, 32)
	rand.Read(b)
	v := base64.RawURLEncoding.EncodeToString(b)
	http.SetCookie(w, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
	// Later renders in this request see it too.
	r.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	return v
}

func checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(csrfCookie)
	form := r.PostFormValue("csrf")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(c.Value), []byte(form)) == 1
}

// parsePost reads a POSTed form (capped) and checks its CSRF token.
func (h *Web) parsePost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	if !checkCSRF(r) {
		h.message(w, r, http.StatusForbidden, "Please try again", "This form expired or did not come from Keyhole. Go back, reload the page and submit it again.")
		return false
	}
	return true
}

// ---- sessions

// current returns the signed-in account, if any.
func (h *Web) current(r *http.Request) (service.Actor, keyhole.Session, bool) {
	c, err := r.Cookie(sessionCookie)
	if err != nil {
		return service.Actor{}, keyhole.Session{}, false
	}
	actor, sess, err := h.svc.SessionActor(r.Context(), c.Value)
	if err != nil {
		if keyhole.ErrorCode(err) != keyhole.Unauthorized {
			h.log.ErrorContext(r.Context(), "session lookup", "request_id", requestid.From(r.Context()), "err", err)
		}
		return service.Actor{}, keyhole.Session{}, false
	}
	return actor, sess, true
}

func (h *Web) setSession(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(service.SessionTTL.Seconds()),
	})
}

func (h *Web) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// endOld ends the session of the cookie the browser brought, if any, so that
// a sign-in always starts a new session (no fixation).
func (h *Web) endOld(r *http.Request) {
	if c, err := r.Cookie(sessionCookie); err == nil {
		if err := h.svc.EndSession(r.Context(), c.Value); err != nil {
			h.log.WarnContext(r.Context(), "end previous session", "err", err)
		}
	}
}

// signedIn finishes a sign-in: the previous session of this browser ends,
// the new one's cookie is set, and the browser goes on to next.
func (h *Web) signedIn(w http.ResponseWriter, r *http.Request, session token.Secret, next string) {
	h.endOld(r)
	h.setSession(w, session.Reveal())
	http.Redirect(w, r, next, http.StatusSeeOther)
}

// localNext returns next when it is a path on this server, else "/".
// Browsers drop tabs and newlines from URLs, so "/\t/evil" would become
// "//evil": any control character makes next foreign.
func localNext(next string) string {
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.HasPrefix(next, "/\\") ||
		strings.ContainsFunc(next, func(r rune) bool { return r < 0x20 || r == 0x7f }) {
		return "/"
	}
	return next
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func loginURL(next string) string { return "/login?next=" + url.QueryEscape(next) }

// ---- pages

func (h *Web) home(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		h.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page takes GET only.")
		return
	}
	p := page{Title: "Keyhole"}
	if actor, _, ok := h.current(r); ok {
		acct, err := h.svc.Account(r.Context(), actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Email = acct.Email
	}
	h.render(w, r, http.StatusOK, "home", p)
}

func (h *Web) login(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Next: localNext(r.URL.Query().Get("next"))})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		email, next := r.PostFormValue("email"), localNext(r.PostFormValue("next"))
		_, value, err := h.svc.StartSession(r.Context(), service.BrowserLogin{
			Email: email, Password: r.PostFormValue("password"), IP: clientIP(r), UserAgent: r.UserAgent(),
		})
		switch code := keyhole.ErrorCode(err); {
		case err == nil:
		case code == keyhole.Unauthorized:
			h.render(w, r, http.StatusUnauthorized, "login", page{Title: "Sign in", Error: "Incorrect email or password.", Email: email, Next: next})
			return
		case code == keyhole.TwoFactor:
			h.secondFactor(w, r, email, next)
			return
		case code == keyhole.RateLimited:
			h.render(w, r, http.StatusTooManyRequests, "login", page{Title: "Sign in", Error: keyhole.ErrorMessage(err), Email: email, Next: next})
			return
		default:
			h.fail(w, r, err)
			return
		}
		h.signedIn(w, r, value, next)
	default:
		h.methodNotAllowed(w, r)
	}
}

// secondFactor handles a right password for an account with MFA
// (keyhole.TwoFactor): no session is started. This is the seam for the MFA
// step: it will redirect to /login/mfa carrying the pending sign-in and next,
// instead of explaining.
func (h *Web) secondFactor(w http.ResponseWriter, r *http.Request, email, next string) {
	h.render(w, r, http.StatusUnauthorized, "login", page{
		Title: "Sign in", Email: email, Next: next,
		Error: "This account is protected by a second factor. The two-factor step that asks for your code is not available on this server yet, so you cannot sign in here for now.",
	})
}

func (h *Web) signupPage(w http.ResponseWriter, r *http.Request) {
	if !h.signup {
		h.message(w, r, http.StatusNotFound, "Sign-up is closed", "This Keyhole does not take new accounts. Ask its administrator for one.")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "signup", page{Title: "Sign up", Next: localNext(r.URL.Query().Get("next"))})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		p := page{Title: "Sign up", Email: r.PostFormValue("email"), Name: r.PostFormValue("name"), Next: localNext(r.PostFormValue("next"))}
		_, value, err := h.svc.SignUp(r.Context(), service.NewAccount{Email: p.Email, Name: p.Name, Password: r.PostFormValue("password")}, clientIP(r), r.UserAgent())
		switch code := keyhole.ErrorCode(err); {
		case err == nil:
		case code == keyhole.Invalid:
			p.Error = keyhole.ErrorMessage(err)
			h.render(w, r, http.StatusUnprocessableEntity, "signup", p)
			return
		case code == keyhole.Conflict:
			p.Error = keyhole.ErrorMessage(err)
			h.render(w, r, http.StatusConflict, "signup", p)
			return
		default:
			h.fail(w, r, err)
			return
		}
		h.signedIn(w, r, value, p.Next)
	default:
		h.methodNotAllowed(w, r)
	}
}

func (h *Web) logout(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "logout", page{Title: "Sign out"})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		if c, err := r.Cookie(sessionCookie); err == nil {
			if err := h.svc.EndSession(r.Context(), c.Value); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		h.clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	default:
		h.methodNotAllowed(w, r)
	}
}

// errPage is an error shown to the person because it cannot be sent to the
// client: the client or redirect URI is not verified.
type errPage struct{ msg string }

func (e errPage) Error() string { return e.msg }

func scopeLines(scope []string) []scopeLine {
	out := make([]scopeLine, len(scope))
	for i, s := range scope {
		out[i] = scopeLine{Name: s, Description: keyhole.ScopeDescriptions[s]}
	}
	return out
}

// withParams adds params to a redirect URI, keeping its own query.
func withParams(base string, params ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}
