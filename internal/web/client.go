package web

import (
	"net/http"
	"strings"

	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// clientRow is one OAuth client as the applications page lists it: never
// its secret, which takes the password again.
type clientRow struct {
	ID, Name, RedirectURI string
	// PostLogout lists the post-logout redirect URIs, one per line.
	PostLogout string
	Public     bool
}

func newClientRow(c service.ClientInfo) clientRow {
	return clientRow{ID: c.ID, Name: c.Name, RedirectURI: c.RedirectURI, PostLogout: strings.Join(c.PostLogoutRedirectURIs, "\n"), Public: c.Public()}
}

// postLogoutURIs reads the form's post-logout redirect URIs: any number,
// separated by line breaks or spaces (no URI has one).
func postLogoutURIs(r *http.Request) *[]string {
	list := strings.Fields(r.PostFormValue("post_logout_redirect_uris"))
	return &list
}

// clientSecret is one client shown with its secret.
type clientSecret struct {
	clientRow
	Secret string
	// Why the secret is shown: "new", "rotated" or "revealed".
	Why string
}

// applications is what the applications page shows: the list, or one
// client with its secret.
type applications struct {
	Clients []clientRow
	Shown   *clientSecret
	// Fresh: the password was entered again in this session lately, so
	// Show secret asks for nothing more.
	Fresh bool
	// PostLogout refills the register form after an error.
	PostLogout string
}

// applicationsPage is /dashboard/applications: the OAuth clients this
// account registered, each with its forms (edit, show secret, rotate,
// delete), and the form that registers one.
func (h *Web) applicationsPage(w http.ResponseWriter, r *http.Request, m me) {
	list, err := h.svc.Clients(r.Context(), m.actor, store.Range{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]clientRow, len(list))
	for i, c := range list {
		rows[i] = newClientRow(c)
	}
	h.show(w, r, m, http.StatusOK, "applications", "applications", page{Title: "OAuth applications",
		Data: applications{Clients: rows, Fresh: h.svc.Reauthenticated(m.sess)}})
}

// showSecret renders a client with its secret in clear.
func (h *Web) showSecret(w http.ResponseWriter, r *http.Request, m me, c service.ClientInfo, why string) {
	h.show(w, r, m, http.StatusOK, "applications", "applications", page{Title: "OAuth applications", Data: applications{Shown: &clientSecret{
		clientRow: newClientRow(c), Secret: c.Secret.Reveal(), Why: why,
	}}})
}

// applicationCreate registers a client and shows its secret, this once
// without the password: the person just made it.
func (h *Web) applicationCreate(w http.ResponseWriter, r *http.Request, m me) {
	name, redirect := r.PostFormValue("name"), r.PostFormValue("redirect_uri")
	c, err := h.svc.CreateClient(r.Context(), m.actor, service.ClientParams{
		Name: &name, RedirectURI: &redirect, PostLogoutRedirectURIs: postLogoutURIs(r), Public: r.PostFormValue("public") == "on",
	})
	if err != nil {
		h.showError(w, r, m, "applications", "applications", page{Title: "OAuth applications", Name: name, RedirectURI: redirect,
			Data: applications{PostLogout: r.PostFormValue("post_logout_redirect_uris")}}, err)
		return
	}
	h.showSecret(w, r, m, c, "new")
}

func (h *Web) applicationUpdate(w http.ResponseWriter, r *http.Request, m me) {
	name, redirect := r.PostFormValue("name"), r.PostFormValue("redirect_uri")
	if _, err := h.svc.UpdateClient(r.Context(), m.actor, r.PostFormValue("id"), service.ClientParams{Name: &name, RedirectURI: &redirect, PostLogoutRedirectURIs: postLogoutURIs(r)}); err != nil {
		h.showError(w, r, m, "message", "applications", page{Title: "The client was not saved", Link: "/dashboard/applications", LinkText: "Back to your applications"}, err)
		return
	}
	done(w, r, "/dashboard/applications", "client-saved")
}

// applicationSecret shows a client's secret after the password (or a
// re-authentication within five minutes).
func (h *Web) applicationSecret(w http.ResponseWriter, r *http.Request, m me) {
	c, err := h.svc.RevealClientSecret(r.Context(), m.actor, r.PostFormValue("id"), r.PostFormValue("password"))
	if err != nil {
		h.showError(w, r, m, "message", "applications", page{Title: "The secret was not shown", Link: "/dashboard/applications", LinkText: "Back to your applications"}, err)
		return
	}
	h.showSecret(w, r, m, c, "revealed")
}

// applicationRotate gives the client a new secret, shown this once; the
// old one stops working at once.
func (h *Web) applicationRotate(w http.ResponseWriter, r *http.Request, m me) {
	c, err := h.svc.RotateClientSecret(r.Context(), m.actor, r.PostFormValue("id"))
	if err != nil {
		h.showError(w, r, m, "message", "applications", page{Title: "The secret was not rotated", Link: "/dashboard/applications", LinkText: "Back to your applications"}, err)
		return
	}
	h.showSecret(w, r, m, c, "rotated")
}

// applicationDelete deletes the client and revokes what it was given.
func (h *Web) applicationDelete(w http.ResponseWriter, r *http.Request, m me) {
	if _, err := h.svc.DeleteClient(r.Context(), m.actor, r.PostFormValue("id")); err != nil {
		h.showError(w, r, m, "message", "applications", page{Title: "The client was not deleted", Link: "/dashboard/applications", LinkText: "Back to your applications"}, err)
		return
	}
	done(w, r, "/dashboard/applications", "client-gone")
}
