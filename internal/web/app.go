package web

import (
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// Apps on the dashboard: every app the person can see, and one app with
// its config vars and collaborators. What each form needs is the app
// permission the service checks (AppInfo.Access.Can): the page shows the
// forms the person may use, and the service refuses the others.

// appList is what the apps page shows.
type appList struct {
	Apps    []service.AppInfo
	Regions []keyhole.Named
}

// appView is what an app's page shows.
type appView struct {
	App service.AppInfo
	// Vars are the config vars, in the order of their names, for those
	// who may deploy the app.
	Vars          []configVar
	Collaborators []collaboratorRow
	// Permissions are the permissions a collaborator of a team app can
	// be given, for the checkboxes.
	Permissions []permissionBox
	// Key refills the config var form after an error.
	Key string
}

type configVar struct{ Key, Value string }

// collaboratorRow is one grant with a checkbox per permission.
type collaboratorRow struct {
	service.CollaboratorInfo
	Boxes []permissionBox
}

// Owner marks the owner of a personal app, listed first: there is no
// grant of theirs to change or remove.
func (c collaboratorRow) Owner() bool { return c.Role == service.RoleOwner }

// permissionBox is one permission's checkbox.
type permissionBox struct {
	Name        keyhole.Permission
	Description string
	Checked     bool
}

func permissionBoxes(held []keyhole.Permission) []permissionBox {
	out := make([]permissionBox, len(keyhole.Permissions))
	for i, p := range keyhole.Permissions {
		out[i] = permissionBox{Name: p.Name, Description: p.Description, Checked: p.Name == keyhole.PermView || slices.Contains(held, p.Name)}
	}
	return out
}

func appPath(name string) string { return "/dashboard/apps/" + url.PathEscape(name) }

// appParams reads the name and region of a create-app form; an empty
// name lets the service choose one.
func appParams(r *http.Request) service.AppParams {
	var p service.AppParams
	if name := strings.TrimSpace(r.PostFormValue("name")); name != "" {
		p.Name = &name
	}
	if region := r.PostFormValue("region"); region != "" {
		p.Region = &region
	}
	return p
}

// appsPage is /dashboard/apps: the apps the person owns, collaborates on
// or sees through a team, and the form that creates a personal app.
func (h *Web) appsPage(w http.ResponseWriter, r *http.Request, m me) {
	h.showApps(w, r, m, page{}, nil)
}

// showApps renders the apps page, with err (a failed create) above it.
func (h *Web) showApps(w http.ResponseWriter, r *http.Request, m me, p page, err error) {
	list, lerr := h.svc.Apps(r.Context(), m.actor, store.Range{Field: "name"})
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	p.Title, p.Data = "Apps", appList{Apps: list, Regions: keyhole.Regions}
	if err != nil {
		h.showError(w, r, m, "apps", "apps", p, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "apps", "apps", p)
}

// appCreate creates a personal app of the person's.
func (h *Web) appCreate(w http.ResponseWriter, r *http.Request, m me) {
	a, err := h.svc.CreateApp(r.Context(), m.actor, appParams(r))
	if err != nil {
		h.showApps(w, r, m, page{Name: r.PostFormValue("name")}, err)
		return
	}
	done(w, r, appPath(a.Name), "app-created")
}

// appPage is /dashboard/apps/{app}: the app, its config vars for those
// who may deploy it (runtime secrets: the page, like every page, is sent
// with Cache-Control: no-store), and who has access to it. An app the
// person may not view is not found, as one that does not exist.
func (h *Web) appPage(w http.ResponseWriter, r *http.Request, m me) {
	h.showApp(w, r, m, r.PathValue("app"), appView{}, nil)
}

// showApp renders the page of the app named, with err (a refused or
// failed form) above it.
func (h *Web) showApp(w http.ResponseWriter, r *http.Request, m me, name string, v appView, err error) {
	ctx := r.Context()
	a, lerr := h.svc.App(ctx, m.actor, name)
	var vars map[string]string
	if lerr == nil && a.Access.Can(keyhole.PermDeploy) {
		vars, lerr = h.svc.ConfigVars(ctx, m.actor, a.ID)
	}
	var grants []service.CollaboratorInfo
	if lerr == nil {
		grants, lerr = h.svc.Collaborators(ctx, m.actor, a.ID)
	}
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	v.App, v.Permissions = a, permissionBoxes(nil)
	for _, k := range slices.Sorted(maps.Keys(vars)) {
		v.Vars = append(v.Vars, configVar{Key: k, Value: vars[k]})
	}
	for _, c := range grants {
		v.Collaborators = append(v.Collaborators, collaboratorRow{CollaboratorInfo: c, Boxes: permissionBoxes(c.Permissions)})
	}
	p := page{Title: "App " + a.Name, Data: v}
	if err != nil {
		h.showError(w, r, m, "app", "apps", p, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "app", "apps", p)
}

// appConfigVar sets one config var, or unsets it: deploy.
func (h *Web) appConfigVar(w http.ResponseWriter, r *http.Request, m me) {
	app, key := r.PathValue("app"), strings.TrimSpace(r.PostFormValue("key"))
	var value *string
	if r.PostFormValue("unset") == "" {
		v := r.PostFormValue("value")
		value = &v
	}
	if _, err := h.svc.UpdateConfigVars(r.Context(), m.actor, app, map[string]*string{key: value}); err != nil {
		h.showApp(w, r, m, app, appView{Key: key}, err)
		return
	}
	done(w, r, appPath(app), "config-saved")
}

// appMaintenance switches maintenance mode on or off: operate.
func (h *Web) appMaintenance(w http.ResponseWriter, r *http.Request, m me) {
	app, on := r.PathValue("app"), r.PostFormValue("maintenance") == "on"
	if _, err := h.svc.UpdateApp(r.Context(), m.actor, app, service.AppParams{Maintenance: &on}); err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	done(w, r, appPath(app), "maintenance-"+map[bool]string{true: "on", false: "off"}[on])
}

// appLock locks or unlocks a team app: manage.
func (h *Web) appLock(w http.ResponseWriter, r *http.Request, m me) {
	app, locked := r.PathValue("app"), r.PostFormValue("locked") == "on"
	if _, err := h.svc.UpdateTeamApp(r.Context(), m.actor, app, service.TeamAppUpdate{Locked: &locked}); err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	done(w, r, appPath(app), map[bool]string{true: "locked", false: "unlocked"}[locked])
}

// appTransfer moves the app to a team or to a person; the page it lands
// on is the app's while the person may still view it, else their apps.
func (h *Web) appTransfer(w http.ResponseWriter, r *http.Request, m me) {
	app, owner := r.PathValue("app"), strings.TrimSpace(r.PostFormValue("owner"))
	a, err := h.svc.UpdateTeamApp(r.Context(), m.actor, app, service.TeamAppUpdate{Owner: &owner})
	if err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	if !a.Access.Can(keyhole.PermView) {
		done(w, r, "/dashboard/apps", "transferred")
		return
	}
	done(w, r, appPath(a.Name), "transferred")
}

// appDelete deletes the app with its config vars: manage.
func (h *Web) appDelete(w http.ResponseWriter, r *http.Request, m me) {
	app := r.PathValue("app")
	if _, err := h.svc.DeleteApp(r.Context(), m.actor, app); err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	done(w, r, "/dashboard/apps", "app-deleted")
}
