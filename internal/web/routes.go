package web

import (
	"net/http"
	"strings"

	"github.com/keyhole/keyhole/internal/service"
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

// sharedWithAPI are the paths the Platform API's patterns reach too (its
// GET /teams/invitations/{token}): they get no 405 page for other
// methods, as a pattern without a method would conflict with the API's
// on the mux. Other methods get the API's answer.
var sharedWithAPI = map[string]bool{service.InvitationPath: true}

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
		{"GET /dashboard/teams", d(h.teamsPage)},
		{"POST /dashboard/teams", d(h.teamCreate)},
		{"GET /dashboard/teams/{team}", d(h.teamPage)},
		{"POST /dashboard/teams/{team}/rename", d(h.teamRename)},
		{"POST /dashboard/teams/{team}/delete", d(h.teamDelete)},
		{"POST /dashboard/teams/{team}/default-role", d(h.teamDefaultRole)},
		{"POST /dashboard/teams/{team}/members/add", d(h.memberAdd)},
		{"POST /dashboard/teams/{team}/members/role", d(h.memberRole)},
		{"POST /dashboard/teams/{team}/members/remove", d(h.memberRemove)},
		{"POST /dashboard/teams/{team}/invitations/revoke", d(h.invitationRevoke)},
		{"POST /dashboard/teams/{team}/apps", d(h.teamAppCreate)},
		{"GET /dashboard/apps", d(h.appsPage)},
		{"POST /dashboard/apps", d(h.appCreate)},
		{"GET /dashboard/apps/{app}", d(h.appPage)},
		{"POST /dashboard/apps/{app}/config-vars", d(h.appConfigVar)},
		{"POST /dashboard/apps/{app}/maintenance", d(h.appMaintenance)},
		{"POST /dashboard/apps/{app}/lock", d(h.appLock)},
		{"POST /dashboard/apps/{app}/transfer", d(h.appTransfer)},
		{"POST /dashboard/apps/{app}/delete", d(h.appDelete)},
		{"POST /dashboard/apps/{app}/collaborators/add", d(h.collaboratorAdd)},
		{"POST /dashboard/apps/{app}/collaborators/update", d(h.collaboratorUpdate)},
		{"POST /dashboard/apps/{app}/collaborators/remove", d(h.collaboratorRemove)},

		// A mailed team invitation's link (service.InvitationPath).
		{"GET " + service.InvitationPath, h.invitation},
		{"POST " + service.InvitationPath, h.invitation},
	}
}

// Register mounts every route on mux, behind the surface's headers,
// cross-origin check and recoverer; each path given with a method is
// mounted once more without one, so that another method gets the 405 page.
func (h *Web) Register(mux *http.ServeMux) {
	var paths []string
	allow := map[string][]string{}
	for _, rt := range h.routes() {
		if crossSite[rt.pattern] {
			mux.Handle(rt.pattern, h.protocolSurface(rt.handler))
		} else {
			mux.Handle(rt.pattern, h.surface(rt.handler))
		}
		if method, path, ok := strings.Cut(rt.pattern, " "); ok && method != "" && !sharedWithAPI[path] {
			if allow[path] == nil {
				paths = append(paths, path)
			}
			if method == http.MethodGet {
				allow[path] = append(allow[path], "GET", "HEAD")
			} else {
				allow[path] = append(allow[path], method)
			}
		}
	}
	for _, path := range paths {
		methods := strings.Join(allow[path], ", ")
		mux.Handle(path, h.surface(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", methods)
			h.message(w, r, http.StatusMethodNotAllowed, "Method not allowed", "This page does not take "+r.Method+" requests.")
		}))
	}
}
