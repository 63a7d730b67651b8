// Package web is Keyhole's HTML surface: sign-in (with its two-factor
// step), sign-up, sign-out, mailed links (email verification, password
// reset), the OAuth consent page (/oauth/authorize), the device page
// (/device) and the dashboard (/dashboard/…), where people manage their
// account, API key, two-factor authentication, OAuth clients, authorized
// applications and sessions, and read their activity. Pages are
// server-rendered html/template with no JavaScript. Handlers read the
// form, call one service method and render. routes.go lists them all.
package web

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"path"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/service"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// maxForm caps form bodies and authorization request query strings.
const maxForm = 8 << 10

// Deps are the surface's dependencies.
type Deps struct {
	Service *service.Service
	// Keys makes the form tokens (an HMAC under the server key).
	Keys *secret.Sealer
	Log  *slog.Logger
	// Issuer is the public base URL; https makes cookies Secure and
	// __Host- prefixed.
	Issuer string
	// Signup allows new accounts at /signup.
	Signup bool
}

// Web serves the pages.
type Web struct {
	svc    *service.Service
	keys   *secret.Sealer
	log    *slog.Logger
	issuer string
	signup bool
	secure bool
	// The cookies' names: __Host- prefixed over https (RFC 6265bis
	// §4.1.3.2), so that no other host can set or shadow them.
	sessionCookie, csrfCookie string
	pages                     map[string]*template.Template
	static                    fs.FS
	cop                       *http.CrossOriginProtection
}

// pageNames are the templates; each is parsed with layout.html and
// dashboard.html (the dashboard's navigation) at start-up.
var pageNames = []string{
	"login", "login_mfa", "signup", "signup_sent", "logout", "end_session", "home", "consent", "device", "message",
	"verify", "forgot", "reset",
	"dashboard", "account", "api_key", "applications", "authorized", "sessions", "activity", "two_factor", "recovery_codes",
	"teams", "team", "apps", "app", "invitation",
}

// funcs are the templates' helpers.
var funcs = template.FuncMap{
	// when writes a time for people, in UTC; "never" for the zero time.
	"when": func(t time.Time) string {
		if t.IsZero() {
			return "never"
		}
		return t.UTC().Format("2 Jan 2006, 15:04 UTC")
	},
	"iso": func(t time.Time) string { return t.UTC().Format(time.RFC3339) },
}

// New returns the HTML surface. It panics if an embedded template does not
// parse, which is a build defect.
func New(d Deps) *Web {
	h := &Web{
		svc: d.Service, keys: d.Keys, log: d.Log, issuer: strings.TrimRight(d.Issuer, "/"), signup: d.Signup,
		secure: strings.HasPrefix(d.Issuer, "https://"), pages: map[string]*template.Template{},
		sessionCookie: "keyhole_session", csrfCookie: "keyhole_csrf",
	}
	if h.secure {
		h.sessionCookie, h.csrfCookie = "__Host-keyhole_session", "__Host-keyhole_csrf"
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range pageNames {
		h.pages[p] = template.Must(template.New(p).Funcs(funcs).ParseFS(templateFS,
			"templates/layout.html", "templates/dashboard_nav.html", "templates/"+p+".html"))
	}
	h.static, _ = fs.Sub(staticFS, "static")
	// Cross-site POSTs are refused by Sec-Fetch-Site / Origin before any
	// handler runs; the form token is the second line.
	h.cop = http.NewCrossOriginProtection()
	h.cop.SetDenyHandler(http.HandlerFunc(h.forbidden))
	return h
}

// NotFound is the page for an address nothing serves.
func (h *Web) NotFound() http.Handler { return h.surface(h.notFound) }

// surface wraps every page: the security headers, the cross-origin check,
// and a friendly page for a panic.
func (h *Web) surface(fn http.HandlerFunc) http.Handler {
	return h.wrap(h.cop.Handler(fn))
}

// protocolSurface is surface without the cross-origin check, for the
// routes that take protocol requests from other sites.
func (h *Web) protocolSurface(fn http.HandlerFunc) http.Handler { return h.wrap(fn) }

func (h *Web) wrap(next http.Handler) http.Handler {
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
func csp(extraFormAction string) string { return policy(extraFormAction, "") }

// policy is the Content Security Policy with extra form-action and
// img-src sources: the two-factor page's QR code is a data: image.
func policy(extraFormAction, extraImg string) string {
	fa, img := "'self'", "'self'"
	if extraFormAction != "" {
		fa += " " + extraFormAction
	}
	if extraImg != "" {
		img += " " + extraImg
	}
	return "default-src 'none'; style-src 'self'; img-src " + img + "; base-uri 'none'; frame-ancestors 'none'; form-action " + fa
}

// page is what every template gets; each page reads the fields it needs.
type page struct {
	Title, Error, CSRF, Next string
	Email, Name, UserCode    string
	Signup                   bool
	Client, RedirectHost     string
	RedirectURI              string
	Action                   string
	Scopes                   []scopeLine
	// Shares are the consent page's lines of what the application learns.
	Shares                  []scopeLine
	Hidden                  []hidden
	Message, Link, LinkText string
	// Detail is what a device said about itself, on its consent page.
	Detail string
	// Notice is a success message above a dashboard page.
	Notice string
	// Nav is the dashboard section shown ("" outside the dashboard), and
	// Me the signed-in account it belongs to.
	Nav string
	Me  *keyhole.Account
	// Handle is what a two-step form carries between its steps (a pending
	// sign-in, a two-factor enrolment), Token a mailed link's secret.
	Handle, Token string
	// NeedsCode asks for a two-factor code on the reset page.
	NeedsCode bool
	// Data is the page's own content.
	Data any
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

// errorPages maps each domain error code to the status and title of its
// page and, for the errors an authorization request can meet once its
// client and redirect URI are verified, the RFC 6749 §4.1.2.1 code it is
// answered to the client with: the one mapping of this surface. Internal
// errors (and any code not listed) get a generic page and a log line.
var errorPages = map[string]struct {
	status int
	title  string
	rfc    string
}{
	keyhole.Invalid:             {http.StatusBadRequest, "That did not work", "invalid_request"},
	keyhole.BadRequest:          {http.StatusBadRequest, "That did not work", ""},
	keyhole.InvalidScope:        {http.StatusBadRequest, "That did not work", "invalid_scope"},
	keyhole.UnsupportedResponse: {http.StatusBadRequest, "That did not work", "unsupported_response_type"},
	keyhole.InvalidGrant:        {http.StatusBadRequest, "That did not work", ""},
	keyhole.Unauthorized:        {http.StatusUnauthorized, "Please sign in", ""},
	keyhole.TwoFactor:           {http.StatusUnauthorized, "Two-factor code needed", ""},
	keyhole.Forbidden:           {http.StatusForbidden, "Not allowed", ""},
	keyhole.AccessDenied:        {http.StatusForbidden, "Not allowed", "access_denied"},
	// OpenID Connect's (Core 1.0 §3.1.2.6).
	keyhole.LoginRequired:          {http.StatusUnauthorized, "Please sign in", "login_required"},
	keyhole.ConsentRequired:        {http.StatusForbidden, "Not allowed", "consent_required"},
	keyhole.RequestNotSupported:    {http.StatusBadRequest, "That did not work", "request_not_supported"},
	keyhole.RequestURINotSupported: {http.StatusBadRequest, "That did not work", "request_uri_not_supported"},
	keyhole.NotFound:               {http.StatusNotFound, "Not found", ""},
	keyhole.Conflict:               {http.StatusConflict, "That did not work", ""},
	keyhole.RateLimited:            {http.StatusTooManyRequests, "Too many attempts", ""},
	keyhole.Unavailable:            {http.StatusServiceUnavailable, "Busy", ""},
}

// redirectCode returns the RFC 6749 code err is answered to a client with,
// or false when it must be shown on a page instead.
func redirectCode(err error) (string, bool) {
	p := errorPages[keyhole.ErrorCode(err)]
	return p.rfc, p.rfc != ""
}

// status returns the status err is shown with, and says how long to wait
// (Retry-After) for a throttle or an overload.
func (h *Web) status(w http.ResponseWriter, r *http.Request, err error) (int, string, bool) {
	code := keyhole.ErrorCode(err)
	p, ok := errorPages[code]
	if !ok {
		h.log.ErrorContext(r.Context(), "internal error", "request_id", requestid.From(r.Context()), "err", err)
		return http.StatusInternalServerError, "Something went wrong", false
	}
	if wait := keyhole.ErrorRetryAfter(err); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
	}
	return p.status, p.title, true
}

// fail renders an error from the service on a page of its own: its
// message when it is meant for people, a generic one when it is internal.
func (h *Web) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, title, ok := h.status(w, r, err)
	msg := keyhole.ErrorMessage(err)
	if !ok {
		msg = "An internal error occurred. Please try again in a moment."
	}
	h.message(w, r, status, title, msg)
}

// formError renders a form page again with err above it: the same status
// as fail, the message inline.
func (h *Web) formError(w http.ResponseWriter, r *http.Request, name string, p page, err error) {
	status, _, ok := h.status(w, r, err)
	p.Error = keyhole.ErrorMessage(err)
	if !ok {
		p.Error = "An internal error occurred. Please try again in a moment."
	}
	h.render(w, r, status, name, p)
}
