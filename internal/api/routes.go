package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// Route is one endpoint of the Platform API and the scope a token needs to
// call it. This table is the only place scopes are enforced.
type Route struct {
	Pattern string
	// Scope is what a token must grant; "" means no token is needed.
	Scope keyhole.Scope
	// Permission, on the routes of one app, is what the caller must hold
	// on that app besides the scope (service.Access, which enforces it;
	// the matrix test holds the two together). A route whose body decides
	// says so in Also.
	Permission keyhole.Permission
	// Also says which parts of the body need another permission, and
	// who is let through without Permission.
	Also string
	// Login marks the one endpoint that also takes Basic email:password.
	Login bool
	// Free calls do not spend rate-limit tokens.
	Free bool
	// Secret marks answers that carry a token or a client secret: they
	// are sent with Cache-Control: no-store.
	Secret  bool
	handler func(*API) http.Handler
}

// Routes lists every Platform API endpoint with its required scope.
func Routes() []Route { return (*API)(nil).routes() }

func (*API) routes() []Route {
	const (
		global          = keyhole.ScopeGlobal
		identity        = keyhole.ScopeIdentity
		read            = keyhole.ScopeRead
		write           = keyhole.ScopeWrite
		readProtected   = keyhole.ScopeReadProtected
		writeProtected  = keyhole.ScopeWriteProtected
		clientSecretAPI = keyhole.Scope("")

		view    = keyhole.PermView
		deploy  = keyhole.PermDeploy
		operate = keyhole.PermOperate
		manage  = keyhole.PermManage
	)
	return []Route{
		{Pattern: "GET /account", Scope: identity, handler: (*API).accountInfo},
		{Pattern: "PATCH /account", Scope: global, handler: (*API).accountUpdate},
		{Pattern: "GET /account/rate-limits", Scope: global, Free: true, handler: (*API).rateLimits},
		{Pattern: "GET /account/activity", Scope: global, handler: (*API).activityList},

		{Pattern: "POST /oauth/authorizations", Scope: global, Login: true, Secret: true, handler: (*API).authorizationCreate},
		{Pattern: "GET /oauth/authorizations", Scope: global, handler: (*API).authorizationList},
		{Pattern: "GET /oauth/authorizations/{id}", Scope: global, handler: (*API).authorizationInfo},
		{Pattern: "PATCH /oauth/authorizations/{id}", Scope: global, handler: (*API).authorizationUpdate},
		{Pattern: "DELETE /oauth/authorizations/{id}", Scope: global, handler: (*API).authorizationDelete},
		{Pattern: "POST /oauth/authorizations/{id}/actions/regenerate-tokens", Scope: global, Secret: true, handler: (*API).authorizationRegenerate},

		{Pattern: "POST /oauth/clients", Scope: global, Secret: true, handler: (*API).clientCreate},
		{Pattern: "GET /oauth/clients", Scope: global, Secret: true, handler: (*API).clientList},
		{Pattern: "GET /oauth/clients/{id}", Scope: global, Secret: true, handler: (*API).clientInfo},
		{Pattern: "PATCH /oauth/clients/{id}", Scope: global, Secret: true, handler: (*API).clientUpdate},
		{Pattern: "DELETE /oauth/clients/{id}", Scope: global, Secret: true, handler: (*API).clientDelete},
		{Pattern: "POST /oauth/clients/{id}/actions/rotate-credentials", Scope: global, Secret: true, handler: (*API).clientRotate},

		// The client authenticates with its secret in the body, not a token.
		{Pattern: "POST /oauth/tokens", Scope: clientSecretAPI, Secret: true, handler: (*API).tokenCreate},

		{Pattern: "GET /oauth/sessions", Scope: global, handler: (*API).sessionList},
		{Pattern: "DELETE /oauth/sessions/{id}", Scope: global, handler: (*API).sessionDelete},

		{Pattern: "POST /apps", Scope: write, handler: (*API).appCreate},
		{Pattern: "GET /apps", Scope: read, handler: (*API).apps},
		{Pattern: "GET /users/{user}/apps", Scope: read, handler: (*API).userApps},
		{Pattern: "GET /apps/{app}", Scope: read, Permission: view, handler: (*API).appInfo},
		{Pattern: "PATCH /apps/{app}", Scope: write, Permission: operate, Also: "manage to rename or change the stack", handler: (*API).appUpdate},
		{Pattern: "DELETE /apps/{app}", Scope: write, Permission: manage, handler: (*API).appDelete},
		// Config vars are runtime secrets: no-store.
		{Pattern: "GET /apps/{app}/config-vars", Scope: readProtected, Permission: deploy, Secret: true, handler: (*API).configVarsInfo},
		{Pattern: "PATCH /apps/{app}/config-vars", Scope: writeProtected, Permission: deploy, Secret: true, handler: (*API).configVarsUpdate},

		// Who has access to an app. Changing it takes global: a token
		// that may write apps may not let somebody else in.
		{Pattern: "GET /apps/{app}/collaborators", Scope: read, Permission: view, handler: (*API).collaboratorList},
		{Pattern: "POST /apps/{app}/collaborators", Scope: global, Permission: manage, Also: "a team member joins an unlocked team app", handler: (*API).collaboratorCreate},
		{Pattern: "GET /apps/{app}/collaborators/{user}", Scope: read, Permission: view, handler: (*API).collaboratorInfo},
		{Pattern: "DELETE /apps/{app}/collaborators/{user}", Scope: global, Permission: manage, Also: "anybody removes themselves", handler: (*API).collaboratorDelete},

		{Pattern: "GET /teams", Scope: read, handler: (*API).teamList},
		{Pattern: "POST /teams", Scope: global, handler: (*API).teamCreate},
		{Pattern: "GET /teams/permissions", Scope: read, handler: (*API).permissionList},
		{Pattern: "POST /teams/apps", Scope: write, handler: (*API).teamAppCreate},
		{Pattern: "GET /teams/apps/{app}", Scope: read, Permission: view, handler: (*API).appInfo},
		{Pattern: "PATCH /teams/apps/{app}", Scope: global, Permission: manage, handler: (*API).teamAppUpdate},
		{Pattern: "GET /teams/apps/{app}/collaborators", Scope: read, Permission: view, handler: (*API).collaboratorList},
		{Pattern: "POST /teams/apps/{app}/collaborators", Scope: global, Permission: manage, Also: "a team member joins an unlocked team app", handler: (*API).collaboratorCreate},
		{Pattern: "GET /teams/apps/{app}/collaborators/{user}", Scope: read, Permission: view, handler: (*API).collaboratorInfo},
		{Pattern: "PATCH /teams/apps/{app}/collaborators/{user}", Scope: global, Permission: manage, handler: (*API).collaboratorUpdate},
		{Pattern: "DELETE /teams/apps/{app}/collaborators/{user}", Scope: global, Permission: manage, Also: "anybody removes themselves", handler: (*API).collaboratorDelete},
		{Pattern: "GET /teams/invitations/{token}", Scope: read, handler: (*API).invitationInfo},
		{Pattern: "POST /teams/invitations/{token}/accept", Scope: global, handler: (*API).invitationAccept},
		{Pattern: "GET /teams/{team}", Scope: read, handler: (*API).teamInfo},
		{Pattern: "PATCH /teams/{team}", Scope: global, handler: (*API).teamUpdate},
		{Pattern: "DELETE /teams/{team}", Scope: global, handler: (*API).teamDelete},
		{Pattern: "GET /teams/{team}/apps", Scope: read, handler: (*API).teamApps},
		{Pattern: "GET /teams/{team}/features", Scope: read, handler: (*API).teamFeatures},
		{Pattern: "GET /teams/{team}/preferences", Scope: read, handler: (*API).teamPreferences},
		{Pattern: "PATCH /teams/{team}/preferences", Scope: global, handler: (*API).teamPreferencesUpdate},
		{Pattern: "GET /teams/{team}/permissions", Scope: read, handler: (*API).teamPermissions},
		{Pattern: "GET /teams/{team}/members", Scope: read, handler: (*API).memberList},
		{Pattern: "PUT /teams/{team}/members", Scope: global, handler: memberPut(service.MemberUpsert)},
		{Pattern: "POST /teams/{team}/members", Scope: global, handler: memberPut(service.MemberCreate)},
		{Pattern: "PATCH /teams/{team}/members", Scope: global, handler: memberPut(service.MemberUpdate)},
		{Pattern: "DELETE /teams/{team}/members/{member}", Scope: global, handler: (*API).memberDelete},
		{Pattern: "GET /teams/{team}/members/{member}/apps", Scope: read, handler: (*API).memberApps},
		{Pattern: "GET /teams/{team}/invitations", Scope: read, handler: (*API).invitationList},
		{Pattern: "PUT /teams/{team}/invitations", Scope: global, handler: (*API).invitationPut},
		{Pattern: "DELETE /teams/{team}/invitations/{invitation}", Scope: global, handler: (*API).invitationDelete},
	}
}
