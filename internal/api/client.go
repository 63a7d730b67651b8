package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/service"
)

// clientJSON is the oauth-client resource. A public client has no secret.
type clientJSON struct {
	CreatedAt         string `json:"created_at"`
	ID                string `json:"id"`
	IgnoresDelinquent *bool  `json:"ignores_delinquent"`
	Name              string `json:"name"`
	RedirectURI       string `json:"redirect_uri"`
	// PostLogoutRedirectURIs is Keyhole's addition (OpenID Connect
	// RP-Initiated Logout), left out when empty so that such a client
	// reads exactly as Heroku's.
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	Secret                 string   `json:"secret,omitempty"`
	UpdatedAt              string   `json:"updated_at"`
}

func newClientJSON(c service.ClientInfo) clientJSON {
	return clientJSON{
		CreatedAt: timeJSON(c.CreatedAt), ID: c.ID, Name: c.Name, RedirectURI: c.RedirectURI,
		PostLogoutRedirectURIs: c.PostLogoutRedirectURIs, Secret: c.Secret.Reveal(), UpdatedAt: timeJSON(c.UpdatedAt),
	}
}

type clientRequest struct {
	Name        *string `json:"name"`
	RedirectURI *string `json:"redirect_uri"`
	// PostLogoutRedirectURIs replaces the list when present; [] clears it
	// (Keyhole's addition).
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris"`
	// Public registers a client without a secret (Keyhole's addition).
	Public bool `json:"public"`
}

func (req clientRequest) params() service.ClientParams {
	return service.ClientParams{Name: req.Name, RedirectURI: req.RedirectURI, PostLogoutRedirectURIs: req.PostLogoutRedirectURIs, Public: req.Public}
}

func (a *API) clientCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req clientRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		c, err := a.svc.CreateClient(r.Context(), actorFrom(r.Context()), req.params())
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newClientJSON(c))
	})
}

var clientRanges = []string{"id"}

func (a *API) clientList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg, err := parseRange(r.Header.Get("Range"), clientRanges)
		if err != nil {
			a.error(w, r, err)
			return
		}
		page := rg
		page.Max++
		cs, err := a.svc.Clients(r.Context(), actorFrom(r.Context()), page)
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]clientJSON, len(cs))
		for i, c := range cs {
			out[i] = newClientJSON(c)
		}
		list(a, w, r, rg, clientRanges, out, func(c clientJSON) string { return c.ID })
	})
}

func (a *API) clientInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.Client(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newClientJSON(c))
	})
}

func (a *API) clientUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req clientRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		c, err := a.svc.UpdateClient(r.Context(), actorFrom(r.Context()), r.PathValue("id"), req.params())
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newClientJSON(c))
	})
}

func (a *API) clientDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.DeleteClient(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newClientJSON(c))
	})
}

func (a *API) clientRotate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.RotateClientSecret(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newClientJSON(c))
	})
}
