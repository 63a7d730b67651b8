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
	"github.com/keyhole/keyhole/internal/store"
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
	actor.IP, actor.UserAgent = clientIP(r), r.UserAgent()
	return actor, sess, true
}

// from is where the request comes from, for the activity log.
func from(r *http.Request) service.Origin {
	return service.Origin{IP: clientIP(r), UserAgent: r.UserAgent()}
}

// preSession is the browser's pre-session cookie: what a pending sign-in
// is bound to.
func (h *Web) preSession(r *http.Request) string {
	if c, err := r.Cookie(h.csrfCookie); err == nil {
		return c.Value
	}
	return ""
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
		if err := h.svc.EndSession(r.Context(), old, from(r)); err != nil {
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
		// login_hint: the address an OpenID Connect client suggests.
		h.render(w, r, http.StatusOK, "login", page{Title: "Sign in", Next: localNext(r.URL.Query().Get("next")), Email: r.URL.Query().Get("login_hint")})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		p := page{Title: "Sign in", Email: r.PostFormValue("email"), Next: localNext(r.PostFormValue("next"))}
		in, err := h.svc.StartSession(r.Context(), service.BrowserLogin{
			Email: p.Email, Password: r.PostFormValue("password"), IP: clientIP(r), UserAgent: r.UserAgent(), Binding: h.preSession(r),
		})
		if keyhole.ErrorCode(err) == keyhole.Unauthorized {
			err = keyhole.Errorf(keyhole.Unauthorized, "Incorrect email or password.")
		}
		switch {
		case err != nil:
			h.formError(w, r, "login", p, err)
		case in.Pending != "":
			// The password was right; the second step asks for the code.
			// Its handle grants nothing: no session exists yet.
			h.render(w, r, http.StatusOK, "login_mfa", page{Title: "Two-factor authentication", Handle: in.Pending, Next: p.Next})
		default:
			h.signedIn(w, r, in.Secret, p.Next)
		}
	default:
		h.methodNotAllowed(w, r)
	}
}

// loginMFA is the second step of a sign-in for an account with MFA: the
// code from the authenticator app, or a recovery code.
func (h *Web) loginMFA(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		http.Redirect(w, r, "/login", http.StatusSeeOther)
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		p := page{Title: "Two-factor authentication", Handle: r.PostFormValue("handle"), Next: localNext(r.PostFormValue("next"))}
		_, value, err := h.svc.FinishSignIn(r.Context(), service.SecondStep{
			Pending: p.Handle, Binding: h.preSession(r), Code: r.PostFormValue("code"), IP: clientIP(r), UserAgent: r.UserAgent(),
		})
		switch {
		case err == nil:
			h.signedIn(w, r, value, p.Next)
		case keyhole.ErrorCode(err) == keyhole.Unauthorized:
			h.formError(w, r, "login", page{Title: "Sign in", Next: p.Next}, err)
		default:
			h.formError(w, r, "login_mfa", p, err)
		}
	default:
		h.methodNotAllowed(w, r)
	}
}

// signupPage takes new accounts. Whether or not the address has an
// account already, the answer is the same page: check your mail.
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
		err := h.svc.SignUp(r.Context(), service.NewAccount{
			Email: p.Email, Name: p.Name, Password: r.PostFormValue("password"), IP: clientIP(r),
		})
		if err != nil {
			h.formError(w, r, "signup", p, err)
			return
		}
		h.render(w, r, http.StatusOK, "signup_sent", page{Title: "Check your mail", Email: strings.TrimSpace(p.Email), Next: p.Next})
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
			if err := h.svc.EndSession(r.Context(), v, from(r)); err != nil {
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

// session is one login session as the sessions page lists it.
type sessionRow struct {
	keyhole.Session
	Current, CLI bool
}

// sessionsPage is /dashboard/sessions: browser and CLI sessions, this one
// marked, each with its End button, and End all others.
func (h *Web) sessionsPage(w http.ResponseWriter, r *http.Request, m me) {
	list, err := h.svc.Sessions(r.Context(), m.actor, store.Range{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]sessionRow, len(list))
	for i, s := range list {
		rows[i] = sessionRow{Session: s, Current: s.ID == m.sess.ID, CLI: s.Hash == ""}
	}
	h.show(w, r, m, http.StatusOK, "sessions", "sessions", page{Title: "Sessions", Data: rows})
}

// sessionEnd ends one session; ending this browser's own is signing out.
func (h *Web) sessionEnd(w http.ResponseWriter, r *http.Request, m me) {
	id := r.PostFormValue("id")
	if _, err := h.svc.DeleteSession(r.Context(), m.actor, id); err != nil {
		h.showError(w, r, m, "message", "sessions", page{Title: "No session was ended", Link: "/dashboard/sessions", LinkText: "Back to sessions"}, err)
		return
	}
	if id == m.sess.ID {
		h.clearSession(w)
		http.Redirect(w, r, "/login", http.StatusSeeOther)
		return
	}
	done(w, r, "/dashboard/sessions", "session-ended")
}

// sessionsEndOthers ends every session but this browser's.
func (h *Web) sessionsEndOthers(w http.ResponseWriter, r *http.Request, m me) {
	if _, err := h.svc.EndOtherSessions(r.Context(), m.actor); err != nil {
		h.showError(w, r, m, "message", "sessions", page{Title: "No session was ended", Link: "/dashboard/sessions", LinkText: "Back to sessions"}, err)
		return
	}
	done(w, r, "/dashboard/sessions", "others-ended")
}
