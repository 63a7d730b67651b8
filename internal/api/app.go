package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

type namedJSON struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

type ownerJSON struct {
	Email string `json:"email"`
	ID    string `json:"id"`
}

// appJSON is the app resource, with what Keyhole's apps do not have as null.
// git_url is left out: Keyhole's apps have no git remote, and the schema
// allows only Heroku's.
type appJSON struct {
	ACM                          bool       `json:"acm"`
	ArchivedAt                   *string    `json:"archived_at"`
	BuildpackProvidedDescription *string    `json:"buildpack_provided_description"`
	BuildStack                   namedJSON  `json:"build_stack"`
	CreatedAt                    string     `json:"created_at"`
	ID                           string     `json:"id"`
	InternalRouting              *bool      `json:"internal_routing"`
	Maintenance                  bool       `json:"maintenance"`
	Name                         string     `json:"name"`
	Owner                        ownerJSON  `json:"owner"`
	Organization                 *namedJSON `json:"organization"`
	Team                         *namedJSON `json:"team"`
	Region                       namedJSON  `json:"region"`
	ReleasedAt                   *string    `json:"released_at"`
	RepoSize                     *int       `json:"repo_size"`
	SlugSize                     *int       `json:"slug_size"`
	Space                        *struct{}  `json:"space"`
	Stack                        namedJSON  `json:"stack"`
	UpdatedAt                    string     `json:"updated_at"`
	WebURL                       *string    `json:"web_url"`
	// Joined and Locked are the team-app resource's: whether the caller
	// collaborates on the app, and whether the team's members may join.
	Joined bool `json:"joined"`
	Locked bool `json:"locked"`
}

// teamOwnerDomain makes a team app's owner email: the official Heroku
// CLI recognises a team app by an owner at this domain, and reads the
// team's name from the address (docs/heroku-compatibility.md).
const teamOwnerDomain = "@herokumanager.com"

func named(list []keyhole.Named, name string) namedJSON {
	n, _ := keyhole.Lookup(list, name)
	return namedJSON{ID: n.ID, Name: n.Name}
}

func newAppJSON(in service.AppInfo) appJSON {
	app := in.App
	out := appJSON{
		BuildStack: named(keyhole.Stacks, app.Stack), CreatedAt: timeJSON(app.CreatedAt),
		ID: app.ID, Maintenance: app.Maintenance,
		Name: app.Name, Owner: ownerJSON{Email: in.Owner.Email, ID: app.AccountID},
		Region: named(keyhole.Regions, app.Region), Stack: named(keyhole.Stacks, app.Stack),
		UpdatedAt: timeJSON(app.UpdatedAt), Joined: in.Access.Grant != nil, Locked: app.Locked,
	}
	if app.TeamID != "" {
		team := &namedJSON{ID: in.Team.ID, Name: in.Team.Name}
		out.Team, out.Organization = team, team
		out.Owner = ownerJSON{Email: in.Team.Name + teamOwnerDomain, ID: in.Team.ID}
	}
	return out
}

type appRequest struct {
	Name        *string `json:"name"`
	Region      *string `json:"region"`
	Stack       *string `json:"stack"`
	BuildStack  *string `json:"build_stack"`
	Maintenance *bool   `json:"maintenance"`
	// FeatureFlags are accepted and ignored: Keyhole's apps have none.
	FeatureFlags []string `json:"feature_flags"`
}

func (a *API) appCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req appRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		app, err := a.svc.CreateApp(r.Context(), actorFrom(r.Context()), service.AppParams{Name: req.Name, Region: req.Region, Stack: req.Stack})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newAppJSON(app))
	})
}

var appRanges = []string{"id", "name"}

// appList answers one page of apps, whatever the service lists: every
// list of apps pages alike, by id or name.
func (a *API) appList(fetch func(*http.Request, store.Range) ([]service.AppInfo, error)) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg, err := parseRange(r.Header.Get("Range"), appRanges)
		if err != nil {
			a.error(w, r, err)
			return
		}
		page := rg
		page.Max++
		apps, err := fetch(r, page)
		if err != nil {
			a.error(w, r, err)
			return
		}
		list(a, w, r, rg, appRanges, appsJSON(apps), func(v appJSON) string {
			if rg.Field == "name" {
				return v.Name
			}
			return v.ID
		})
	})
}

// apps is GET /apps: every app the caller can see.
func (a *API) apps() http.Handler {
	return a.appList(func(r *http.Request, page store.Range) ([]service.AppInfo, error) {
		return a.svc.Apps(r.Context(), actorFrom(r.Context()), page)
	})
}

// userApps is GET /users/{user}/apps: the caller's personal apps, owned
// or collaborated on, without team apps (what `heroku apps` lists).
func (a *API) userApps() http.Handler {
	return a.appList(func(r *http.Request, page store.Range) ([]service.AppInfo, error) {
		return a.svc.UserApps(r.Context(), actorFrom(r.Context()), r.PathValue("user"), page)
	})
}

// teamApps is GET /teams/{team}/apps: a team's apps.
func (a *API) teamApps() http.Handler {
	return a.appList(func(r *http.Request, page store.Range) ([]service.AppInfo, error) {
		return a.svc.TeamApps(r.Context(), actorFrom(r.Context()), r.PathValue("team"), page)
	})
}

func (a *API) appInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, err := a.svc.App(r.Context(), actorFrom(r.Context()), r.PathValue("app"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAppJSON(app))
	})
}

func (a *API) appUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req appRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		app, err := a.svc.UpdateApp(r.Context(), actorFrom(r.Context()), r.PathValue("app"), service.AppParams{Name: req.Name, Stack: req.BuildStack, Maintenance: req.Maintenance})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAppJSON(app))
	})
}

func (a *API) appDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		app, err := a.svc.DeleteApp(r.Context(), actorFrom(r.Context()), r.PathValue("app"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAppJSON(app))
	})
}

func (a *API) configVarsInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		vars, err := a.svc.ConfigVars(r.Context(), actorFrom(r.Context()), r.PathValue("app"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, vars)
	})
}

func (a *API) configVarsUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var changes map[string]*string
		if err := decode(w, r, &changes); err != nil {
			a.error(w, r, err)
			return
		}
		vars, err := a.svc.UpdateConfigVars(r.Context(), actorFrom(r.Context()), r.PathValue("app"), changes)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, vars)
	})
}
