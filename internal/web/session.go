package web

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/token"
)

// ---- Form tokens. A browser gets a random pre-session cookie on its first
// page; every form carries an HMAC, under the server key, of that cookie
// and of the session cookie. A token is thus good only in the session it
// was made for (a sign-in or sign-out makes earlier forms stale), and only
// someone who can read both cookies can make one.

func (h *Web) csrfToken(w http.ResponseWriter, r *http.Request) string {
	pre := ""
	if c, err := r.Cookie(h.csrfCookie); err == nil && len(c.Value) == 43 {
		pre = c.Value
	} else {
		b := make([]byte, 32)
		rand.Read(b)
		pre = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(w, &http.Cookie{Name: h.csrfCookie, Value: pre, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
		// Later renders in this request see it too.
		r.AddCookie(&http.Cookie{Name: h.csrfCookie, Value: pre})
	}
	return h.csrfFor(pre, h.sessionValue(r))
}

func (h *Web) csrfFor(pre, session string) string {
	return base64.RawURLEncoding.EncodeToString(h.keys.MAC("csrf", pre, session))
}

func (h *Web) checkCSRF(r *http.Request) bool {
	c, err := r.Cookie(h.csrfCookie)
	form := r.PostFormValue("csrf")
	return err == nil && form != "" && subtle.ConstantTimeCompare([]byte(form), []byte(h.csrfFor(c.Value, h.sessionValue(r)))) == 1
}

// parsePost reads a POSTed form (capped) and checks its form token.
func (h *Web) parsePost(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		h.message(w, r, http.StatusBadRequest, "Bad request", "The form could not be read.")
		return false
	}
	if !h.checkCSRF(r) {
		h.message(w, r, http.StatusForbidden, "Please try again", "This form expired or did not come from Keyhole. Go back, reload the page and submit it again.")
		return false
	}
	return true
}

// ---- sessions

func (h *Web) sessionValue(r *http.Request) string {
	if c, err := r.Cookie(h.sessionCookie); err == nil {
		return c.Value
	}
	return ""
}

// current returns the signed-in account, if any.
func (h *Web) current(r *http.Request) (service.Actor, keyhole.Session, bool) {
	v := h.sessionValue(r)
	if v == "" {
		return service.Actor{}, keyhole.Session{}, false
	}
	actor, sess, err := h.svc.SessionActor(r.Context(), v)
	if err != nil {
		if keyhole.ErrorCode(err) != keyhole.Unauthorized {
			h.log.ErrorContext(r.Context(), "session lookup", "request_id", requestid.From(r.Context()), "err", err)
		}
		return service.Actor{}, keyhole.Session{}, false
	}
	actor.IP = clientIP(r)
	return actor, sess, true
}

func (h *Web) setSession(w http.ResponseWriter, value string) {
	http.SetCookie(w, &http.Cookie{
		Name: h.sessionCookie, Value: value, Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode,
		MaxAge: int(service.SessionTTL.Seconds()),
	})
}

func (h *Web) clearSession(w http.ResponseWriter) {
	http.SetCookie(w, &http.Cookie{Name: h.sessionCookie, Value: "", Path: "/", HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode, MaxAge: -1})
}

// signedIn finishes a sign-in: the previous session of this browser ends
// (so that a sign-in always starts a new session: no fixation), the new
// one's cookie is set, and the browser goes on to next.
func (h *Web) signedIn(w http.ResponseWriter, r *http.Request, session token.Secret, next string) {
	if old := h.sessionValue(r); old != "" {
		if err := h.svc.EndSession(r.Context(), old); err != nil {
			h.log.WarnContext(r.Context(), "end previous session", "err", err)
		}
	}
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
		p := page{Title: "Sign in", Email: r.PostFormValue("email"), Next: localNext(r.PostFormValue("next"))}
		_, value, err := h.svc.StartSession(r.Context(), service.BrowserLogin{
			Email: p.Email, Password: r.PostFormValue("password"), IP: clientIP(r), UserAgent: r.UserAgent(),
		})
		switch keyhole.ErrorCode(err) {
		case keyhole.Unauthorized:
			err = keyhole.Errorf(keyhole.Unauthorized, "Incorrect email or password.")
		case keyhole.TwoFactor:
			// The seam for the MFA step: it will go on to /login/mfa with
			// the pending sign-in, instead of explaining.
			err = keyhole.Errorf(keyhole.TwoFactor, "This account is protected by a second factor. The two-factor step that asks for your code is not available on this server yet, so you cannot sign in here for now.")
		}
		if err != nil {
			h.formError(w, r, "login", p, err)
			return
		}
		h.signedIn(w, r, value, p.Next)
	default:
		h.methodNotAllowed(w, r)
	}
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
		_, value, err := h.svc.SignUp(r.Context(), service.NewAccount{
			Email: p.Email, Name: p.Name, Password: r.PostFormValue("password"), IP: clientIP(r),
		}, r.UserAgent())
		if err != nil {
			h.formError(w, r, "signup", p, err)
			return
		}
		h.signedIn(w, r, value, p.Next)
	default:
		h.methodNotAllowed(w, r)
	}
}

// logout ends this browser's session and the CLI logins made through it.
// Applications the person authorized keep their access.
func (h *Web) logout(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "logout", page{Title: "Sign out"})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		if v := h.sessionValue(r); v != "" {
			if err := h.svc.EndSession(r.Context(), v); err != nil {
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
