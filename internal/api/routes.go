package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// Route is one endpoint of the Platform API and the scope a token needs to
// call it. This table is the only place scopes are enforced.
type Route struct {
	Pattern string
	// Scope is what a token must grant; "" means no token is needed.
	Scope keyhole.Scope
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
		{Pattern: "GET /apps", Scope: read, handler: (*API).appList},
		{Pattern: "GET /apps/{app}", Scope: read, handler: (*API).appInfo},
		{Pattern: "PATCH /apps/{app}", Scope: write, handler: (*API).appUpdate},
		{Pattern: "DELETE /apps/{app}", Scope: write, handler: (*API).appDelete},
		{Pattern: "GET /apps/{app}/config-vars", Scope: readProtected, handler: (*API).configVarsInfo},
		{Pattern: "PATCH /apps/{app}/config-vars", Scope: writeProtected, handler: (*API).configVarsUpdate},
	}
}
