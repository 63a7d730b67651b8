package web

import "net/http"

// Collaborators of an app on its page: adding, changing and removing
// them needs manage on the app, which the service checks.

// permissionsOf reads the permission checkboxes of a collaborator form.
// Only a team app's form has them (and says so with a "permissions"
// field): a personal app's collaborators hold fixed permissions, and nil
// asks for those.
func permissionsOf(r *http.Request) []string {
	if r.PostFormValue("permissions") == "" {
		return nil
	}
	return append([]string{}, r.PostForm["permission"]...)
}

// collaboratorAdd gives an account access to the app.
func (h *Web) collaboratorAdd(w http.ResponseWriter, r *http.Request, m me) {
	app := r.PathValue("app")
	if _, err := h.svc.AddCollaborator(r.Context(), m.actor, app, r.PostFormValue("email"), permissionsOf(r)); err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	done(w, r, appPath(app), "collaborator-added")
}

// collaboratorUpdate sets the permissions of a collaborator on a team app.
func (h *Web) collaboratorUpdate(w http.ResponseWriter, r *http.Request, m me) {
	app := r.PathValue("app")
	if _, err := h.svc.UpdateCollaborator(r.Context(), m.actor, app, r.PostFormValue("email"), permissionsOf(r)); err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	done(w, r, appPath(app), "collaborator-changed")
}

// collaboratorRemove ends a collaborator's access to the app.
func (h *Web) collaboratorRemove(w http.ResponseWriter, r *http.Request, m me) {
	app := r.PathValue("app")
	gone, err := h.svc.RemoveCollaborator(r.Context(), m.actor, app, r.PostFormValue("email"))
	if err != nil {
		h.showApp(w, r, m, app, appView{}, err)
		return
	}
	if gone.AccountID == m.acct.ID {
		done(w, r, "/dashboard/apps", "left-app")
		return
	}
	done(w, r, appPath(app), "collaborator-removed")
}
