package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

type permissionJSON struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

var permissionDescriptions = func() map[keyhole.Permission]string {
	m := map[keyhole.Permission]string{}
	for _, p := range keyhole.Permissions {
		m[p.Name] = p.Description
	}
	return m
}()

func permissionsJSON(ps []keyhole.Permission) []permissionJSON {
	out := make([]permissionJSON, len(ps))
	for i, p := range ps {
		out[i] = permissionJSON{Name: string(p), Description: permissionDescriptions[p]}
	}
	return out
}

type collaboratorUserJSON struct {
	Email     string `json:"email"`
	Federated bool   `json:"federated"`
	ID        string `json:"id"`
}

type appRefJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// collaboratorJSON is the collaborator and team-app-collaborator
// resource: role is the person's role in the app's team, null for
// somebody who is no member of it (Heroku's "collaborator").
type collaboratorJSON struct {
	App         appRefJSON           `json:"app"`
	CreatedAt   string               `json:"created_at"`
	ID          string               `json:"id"`
	Permissions []permissionJSON     `json:"permissions"`
	Role        *string              `json:"role"`
	UpdatedAt   string               `json:"updated_at"`
	User        collaboratorUserJSON `json:"user"`
}

func newCollaboratorJSON(c service.CollaboratorInfo) collaboratorJSON {
	return collaboratorJSON{App: appRefJSON{ID: c.App.ID, Name: c.App.Name}, CreatedAt: timeJSON(c.CreatedAt), ID: c.ID,
		Permissions: permissionsJSON(c.Permissions), Role: stringOrNull(string(c.Role)), UpdatedAt: timeJSON(c.UpdatedAt),
		User: collaboratorUserJSON{Email: c.Email, ID: c.AccountID}}
}

func (a *API) collaboratorList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.Collaborators(r.Context(), actorFrom(r.Context()), r.PathValue("app"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]collaboratorJSON, len(list))
		for i, c := range list {
			out[i] = newCollaboratorJSON(c)
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

func (a *API) collaboratorInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.Collaborator(r.Context(), actorFrom(r.Context()), r.PathValue("app"), r.PathValue("user"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newCollaboratorJSON(c))
	})
}

type collaboratorRequest struct {
	User string `json:"user"`
	// Permissions are names; nil when the body has none.
	Permissions []string `json:"permissions"`
	// Silent is accepted: Keyhole always mails the person a notice, as a
	// security measure.
	Silent *bool `json:"silent"`
}

func (a *API) collaboratorCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req collaboratorRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		c, err := a.svc.AddCollaborator(r.Context(), actorFrom(r.Context()), r.PathValue("app"), req.User, req.Permissions)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newCollaboratorJSON(c))
	})
}

func (a *API) collaboratorUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req collaboratorRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		if req.Permissions == nil {
			req.Permissions = []string{}
		}
		c, err := a.svc.UpdateCollaborator(r.Context(), actorFrom(r.Context()), r.PathValue("app"), r.PathValue("user"), req.Permissions)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newCollaboratorJSON(c))
	})
}

func (a *API) collaboratorDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := a.svc.RemoveCollaborator(r.Context(), actorFrom(r.Context()), r.PathValue("app"), r.PathValue("user"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newCollaboratorJSON(c))
	})
}

func (a *API) permissionList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ps, err := a.svc.Permissions(actorFrom(r.Context()))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, permissionsJSON(ps))
	})
}

type permissionEntityJSON struct {
	ID     string                     `json:"id"`
	Name   string                     `json:"name"`
	TeamID string                     `json:"team_id"`
	Type   string                     `json:"type"`
	Users  []permissionEntityUserJSON `json:"users"`
}

// permissionEntityUserJSON names the permissions, as the schema has
// them here (strings, not the objects of collaborators).
type permissionEntityUserJSON struct {
	Email       string               `json:"email"`
	ID          string               `json:"id"`
	Permissions []keyhole.Permission `json:"permissions"`
}

func (a *API) teamPermissions() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.TeamPermissions(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]permissionEntityJSON, len(list))
		for i, e := range list {
			users := make([]permissionEntityUserJSON, len(e.Users))
			for j, u := range e.Users {
				users[j] = permissionEntityUserJSON{Email: u.Account.Email, ID: u.Account.ID, Permissions: u.Permissions}
			}
			out[i] = permissionEntityJSON{ID: e.App.ID, Name: e.App.Name, TeamID: e.App.TeamID, Type: "app", Users: users}
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

type teamAppRequest struct {
	appRequest
	Team     *string `json:"team"`
	Personal *bool   `json:"personal"`
	Locked   *bool   `json:"locked"`
	// Owner transfers the app (PATCH): a team name or id, or an
	// account's email or id.
	Owner *string `json:"owner"`
	// Space, InternalRouting and Kernel are accepted and ignored, as the
	// official CLI sends them: Keyhole's apps have no private spaces.
	Space           *string `json:"space"`
	InternalRouting *bool   `json:"internal_routing"`
	Kernel          *string `json:"kernel"`
}

// teamAppCreate is POST /teams/apps: an app in the team named, or, with
// no team, a personal app (Keyhole has no default team).
func (a *API) teamAppCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req teamAppRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		if req.Personal != nil && *req.Personal {
			req.Team = nil
		}
		app, err := a.svc.CreateApp(r.Context(), actorFrom(r.Context()), service.AppParams{Name: req.Name, Region: req.Region, Stack: req.Stack, Team: req.Team, Locked: req.Locked})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newAppJSON(app))
	})
}

func (a *API) teamAppUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req teamAppRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		app, err := a.svc.UpdateTeamApp(r.Context(), actorFrom(r.Context()), r.PathValue("app"), service.TeamAppUpdate{Locked: req.Locked, Owner: req.Owner})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAppJSON(app))
	})
}
