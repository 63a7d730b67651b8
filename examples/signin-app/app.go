package main

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"

	"github.com/keyhole/keyhole/bouncer"
)

//go:embed templates/*.html static
var files embed.FS

// app draws the pages.
type app struct {
	pages  map[string]*template.Template
	static http.Handler
	log    *slog.Logger
	// openID is set when people sign in with OpenID Connect: signing out
	// then signs the browser out of Keyhole too.
	openID bool
	// csp is the Content-Security-Policy of every answer.
	csp string
}

// newApp returns the app's handler: its pages behind the bouncer, which
// answers /auth/signin, /auth/callback and /auth/signout and guards /user.
func newApp(cfg config, log *slog.Logger) (http.Handler, error) {
	a := &app{pages: map[string]*template.Template{}, log: log}
	for _, name := range []string{"home", "user", "notice"} {
		t, err := template.ParseFS(files, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		a.pages[name] = t
	}
	static, _ := fs.Sub(files, "static")
	a.static = http.StripPrefix("/static/", http.FileServerFS(static))

	a.openID = cfg.openID()
	// The sign-out form's answer redirects to Keyhole's end_session_endpoint,
	// and form-action holds for the redirects after a form too.
	formAction := "'self'"
	if a.openID {
		u, _ := url.Parse(cfg.KeyholeURL)
		formAction += " " + u.Scheme + "://" + u.Host
	}
	a.csp = "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; form-action " + formAction + "; frame-ancestors 'none'"
	b, err := bouncer.New(bouncer.Config{
		Issuer: cfg.KeyholeURL, ClientID: cfg.ClientID, ClientSecret: cfg.ClientSecret,
		RedirectURL: cfg.AppURL + "/auth/callback", PostLogoutURL: cfg.PostLogoutURL,
		HashKey: cfg.CookieSecret, BlockKey: cfg.CookieEncrypt,
		Scopes:  cfg.Scopes,
		AppName: "the example app",
		// Only /user needs a signed-in person; the home page, the style
		// sheet and the not-found page do not.
		Public: func(r *http.Request) bool { return r.URL.Path != "/user" },
		Render: a.notice,
		Log:    log,
	})
	if err != nil {
		// Every problem bouncer.New reports is one of the configuration.
		return nil, &configError{err.Error()}
	}
	mux := http.NewServeMux()
	mux.Handle("/{$}", a.home())
	mux.Handle("/user", a.user())
	mux.Handle("/static/", a.static)
	mux.Handle("/", a.notFound())
	return a.headers(a.recoverer(b.Wrap(mux))), nil
}

// home is the page with the "Sign in with Keyhole" button.
func (a *app) home() http.Handler {
	return a.getOnly(func(w http.ResponseWriter, r *http.Request) {
		a.render(w, r, http.StatusOK, "home", map[string]string{"Title": "Example app"})
	})
}

// user greets the person signed in, by the email of the ID token the
// bouncer verified (OpenID Connect), or of Keyhole's GET /account answer
// on this very request (plain OAuth).
func (a *app) user() http.Handler {
	return a.getOnly(func(w http.ResponseWriter, r *http.Request) {
		acct, ok := bouncer.AccountFrom(r.Context())
		if !ok {
			// The bouncer guards /user: this would be a wiring mistake.
			panic("GET /user reached without a signed-in account")
		}
		a.render(w, r, http.StatusOK, "user", map[string]any{"Title": "Hello", "Email": acct.Email, "Name": acct.Name, "OpenID": a.openID})
	})
}

func (a *app) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.notice(w, r, bouncer.Page{Status: http.StatusNotFound, Problem: "not-found", Title: "Not found",
			Message: "There is no page at this address.", Link: "/", LinkText: "Back to the start"})
	})
}

// notice draws a page of the bouncer's (or the app's own) that says what
// happened and offers the way back.
func (a *app) notice(w http.ResponseWriter, r *http.Request, p bouncer.Page) {
	a.render(w, r, p.Status, "notice", p)
}

// getOnly answers methods other than GET and HEAD with a page.
func (a *app) getOnly(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			a.notice(w, r, bouncer.Page{Status: http.StatusMethodNotAllowed, Problem: "method", Title: "Not here",
				Message: "This address does not take that kind of request.", Link: "/", LinkText: "Back to the start"})
			return
		}
		h(w, r)
	})
}

// render executes a page into a buffer first, so that a template error
// becomes a clean error page rather than half a page.
func (a *app) render(w http.ResponseWriter, r *http.Request, status int, name string, data any) {
	var buf bytes.Buffer
	if err := a.pages[name].ExecuteTemplate(&buf, name+".html", data); err != nil {
		a.log.ErrorContext(r.Context(), "render", "page", name, "err", err)
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintln(w, "Something went wrong. Please try again in a moment.")
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = w.Write(buf.Bytes())
	}
}

// recoverer turns a panic into a page, logged with its stack, never shown.
func (a *app) recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.log.ErrorContext(r.Context(), "panic", "path", r.URL.Path, "err", v, "stack", string(debug.Stack()))
				a.notice(w, r, bouncer.Page{Status: http.StatusInternalServerError, Problem: "internal", Title: "Something went wrong",
					Message: "Please try again in a moment.", Link: "/", LinkText: "Back to the start"})
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// headers sets what every answer carries: no scripts, no framing, no
// referrer (the callback's URL holds a code).
func (a *app) headers(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", a.csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		next.ServeHTTP(w, r)
	})
}
