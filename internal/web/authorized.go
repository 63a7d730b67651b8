package web

import (
	"net/http"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// grantRow is one authorization as the authorized applications page
// lists it.
type grantRow struct {
	ID, Client, Description string
	Scopes                  []scopeLine
	Created, LastUsed       time.Time
	// APIKey marks the account's API key, managed on its own page;
	// Login, a CLI login, ended with its session.
	APIKey, Login bool
	// SignsIn marks an OpenID Connect client: it signs the person in.
	SignsIn bool
}

// authorizedPage is /dashboard/authorized-applications: every
// authorization of the account, with what it may do in plain words, and
// a Revoke per row.
func (h *Web) authorizedPage(w http.ResponseWriter, r *http.Request, m me) {
	list, err := h.svc.Authorizations(r.Context(), m.actor, store.Range{})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	rows := make([]grantRow, 0, len(list))
	for _, a := range list {
		row := grantRow{ID: a.ID, Description: a.Description, Scopes: scopeLines(a.Scope), Created: a.CreatedAt, LastUsed: a.LastUsedAt,
			APIKey: a.Default, Login: a.SessionID != "" && a.ClientID == "", SignsIn: a.ClientID != "" && keyhole.OpenID(a.Scope)}
		if a.Client != nil {
			row.Client = a.Client.Name
		}
		rows = append(rows, row)
	}
	h.show(w, r, m, http.StatusOK, "authorized", "authorized", page{Title: "Authorized applications", Data: rows})
}

// authorizedRevoke revokes one authorization: its tokens fail on their
// next use.
func (h *Web) authorizedRevoke(w http.ResponseWriter, r *http.Request, m me) {
	if _, err := h.svc.RevokeAuthorization(r.Context(), m.actor, r.PostFormValue("id")); err != nil {
		h.showError(w, r, m, "message", "authorized", page{Title: "Nothing was revoked", Link: "/dashboard/authorized-applications", LinkText: "Back to authorized applications"}, err)
		return
	}
	done(w, r, "/dashboard/authorized-applications", "revoked")
}
