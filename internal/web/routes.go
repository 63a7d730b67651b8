package web

import (
	"net/http"
	"strings"
)

// route is one page of the surface. A pattern with a method answers
// that method only (GET includes HEAD); the surface answers others at
// the same path with its 405 page.
type route struct {
	pattern string
	handler http.HandlerFunc
}

// crossSite are the routes that take POSTs from other sites: protocol
// requests a client may send as a form (OpenID Connect Core 1.0
// §3.1.2.1, RP-Initiated Logout 1.0 §2). Their handlers check the origin
// of Keyhole's own forms that post to them.
var crossSite = map[string]bool{"/oauth/authorize": true, "/oauth/logout": true}

// routes lists every page: the one place they are mounted. The
// dashboard's pages need a signed-in browser (h.dashboard); their forms
// are all POSTs carrying the session-bound form token.
func (h *Web) routes() []route {
	d := h.dashboard
	return []route{
		{"/{$}", h.home},
		{"/login", h.login},
		{"/login/mfa", h.loginMFA},
		{"/logout", h.logout},
		{"/signup", h.signupPage},
		{"/email/verify", h.verifyEmail},
		{"/password/forgot", h.forgotPassword},
		{"/password/reset", h.resetPassword},
		{"/oauth/authorize", h.authorize},
		{"/oauth/logout", h.endSession},
		{"/device", h.device},
		{"/static/", h.staticFile},

		{"GET /dashboard", d(h.overview)},
		{"GET /dashboard/account", d(h.accountPage)},
		{"POST /dashboard/account/name", d(h.accountName)},
		{"POST /dashboard/account/email", d(h.accountEmail)},
		{"POST /dashboard/account/password", d(h.accountPassword)},
		{"GET /dashboard/api-key", d(h.apiKeyPage)},
		{"POST /dashboard/api-key/reveal", d(h.apiKeyReveal)},
		{"POST /dashboard/api-key/regenerate", d(h.apiKeyRegenerate)},
		{"GET /dashboard/two-factor", d(h.twoFactorPage)},
		{"POST /dashboard/two-factor/enable", d(h.twoFactorEnable)},
		{"POST /dashboard/two-factor/disable", d(h.twoFactorDisable)},
		{"POST /dashboard/two-factor/recovery-codes", d(h.recoveryCodes)},
		{"GET /dashboard/applications", d(h.applicationsPage)},
		{"POST /dashboard/applications/create", d(h.applicationCreate)},
		{"POST /dashboard/applications/update", d(h.applicationUpdate)},
		{"POST /dashboard/applications/secret", d(h.applicationSecret)},
		{"POST /dashboard/applications/rotate", d(h.applicationRotate)},
		{"POST /dashboard/applications/delete", d(h.applicationDelete)},
		{"GET /dashboard/authorized-applications", d(h.authorizedPage)},
		{"POST /dashboard/authorized-applications/revoke", d(h.authorizedRevoke)},
		{"GET /dashboard/sessions", d(h.sessionsPage)},
		{"POST /dashboard/sessions/end", d(h.sessionEnd)},
		{"POST /dashboard/sessions/end-others", d(h.sessionsEndOthers)},
		{"GET /dashboard/activity", d(h.activityPage)},
	}
}

// Register mounts every route on mux, behind the surface's headers,
// cross-origin check and recoverer; each path given with a method is
// mounted once more without one, so that another method gets the 405 page.
func (h *Web) Register(mux *http.ServeMux) {
	paths := map[string]bool{}
	for _, rt := range h.routes() {
		if crossSite[rt.pattern] {
			mux.Handle(rt.pattern, h.protocolSurface(rt.handler))
		} else {
			mux.Handle(rt.pattern, h.surface(rt.handler))
		}
		if method, path, ok := strings.Cut(rt.pattern, " "); ok && method != "" && !paths[path] {
			paths[path] = true
			allow := "GET, HEAD"
			if method == http.MethodPost {
				allow = "POST"
			}
			mux.Handle(path, h.surface(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Allow", allow)
				h.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take "+r.Method+" requests.")
			}))
		}
	}
}
