package web

import (
	"net/http"
	"net/url"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// me is the signed-in person a dashboard page is for.
type me struct {
	actor service.Actor
	sess  keyhole.Session
	acct  keyhole.Account
}

// dashboard wraps a dashboard page: a visitor who is not signed in is sent
// to sign in (and back, for a GET); a POST must carry the session's form
// token.
func (h *Web) dashboard(fn func(http.ResponseWriter, *http.Request, me)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		actor, sess, ok := h.current(r)
		if !ok {
			next := "/dashboard"
			if r.Method == http.MethodGet || r.Method == http.MethodHead {
				next = r.URL.RequestURI()
			}
			http.Redirect(w, r, loginURL(next), http.StatusSeeOther)
			return
		}
		if r.Method == http.MethodPost && !h.parsePost(w, r) {
			return
		}
		acct, err := h.svc.Account(r.Context(), actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		fn(w, r, me{actor: actor, sess: sess, acct: acct})
	}
}

// show renders a dashboard page of section nav for m.
func (h *Web) show(w http.ResponseWriter, r *http.Request, m me, status int, name, nav string, p page) {
	p.Me, p.Nav = &m.acct, nav
	if p.Notice == "" {
		p.Notice = notices[r.URL.Query().Get("done")]
	}
	h.render(w, r, status, name, p)
}

// showError renders a dashboard form page again with err above it.
func (h *Web) showError(w http.ResponseWriter, r *http.Request, m me, name, nav string, p page, err error) {
	p.Me, p.Nav = &m.acct, nav
	h.formError(w, r, name, p, err)
}

// notices are the messages a dashboard page shows after a change
// (?done=<key>, set by the redirect that follows the change's POST).
var notices = map[string]string{
	"name":          "Your name was saved.",
	"email":         "We mailed a link to the new address: the change takes effect when you open it.",
	"password":      "Your password was changed. Every other session and application was signed out, and your API key was replaced.",
	"mfa-off":       "Two-factor authentication is off.",
	"client-saved":  "The client was saved.",
	"client-gone":   "The client was deleted, and every authorization it had was revoked.",
	"revoked":       "The authorization was revoked: its tokens stopped working.",
	"session-ended": "The session was ended.",
	"others-ended":  "Every other session was ended.",

	"team-created":         "The team was created: you are its admin.",
	"team-renamed":         "The team was renamed.",
	"team-deleted":         "The team was deleted.",
	"member-added":         "The member was added to the team.",
	"invited":              "That address has no Keyhole account yet: we mailed it an invitation to sign up and join. It is listed under pending invitations.",
	"member-changed":       "The member's role was changed.",
	"member-removed":       "The member was removed from the team, with their access to its apps.",
	"invitation-revoked":   "The invitation was revoked: its link no longer works.",
	"joined":               "Welcome: you joined the team.",
	"app-created":          "The app was created.",
	"app-deleted":          "The app was deleted, with its config vars.",
	"config-saved":         "The config vars were saved.",
	"maintenance-on":       "Maintenance mode is on.",
	"maintenance-off":      "Maintenance mode is off.",
	"locked":               "The app is locked: only people who may manage it add people to it.",
	"unlocked":             "The app is unlocked: the team's members can join it.",
	"collaborator-added":   "The collaborator was added.",
	"collaborator-changed": "The collaborator's permissions were saved.",
	"collaborator-removed": "The collaborator's access was revoked.",
	"left-team":            "You left the team, with your access to its apps.",
	"transferred":          "The app was transferred.",
	"default-role-saved":   "The default role was saved: people added without one get it.",
	"left-app":             "You left the app: your access to it was removed.",
}

// done answers a dashboard form with the page to go back to, and a
// notice there.
func done(w http.ResponseWriter, r *http.Request, path, notice string) {
	http.Redirect(w, r, path+"?done="+url.QueryEscape(notice), http.StatusSeeOther)
}

// overview is /dashboard: the account at a glance and every section.
func (h *Web) overview(w http.ResponseWriter, r *http.Request, m me) {
	h.show(w, r, m, http.StatusOK, "dashboard", "overview", page{Title: "Dashboard"})
}
