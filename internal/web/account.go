package web

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/service"
)

// accountPage is /dashboard/account: name, email and password.
func (h *Web) accountPage(w http.ResponseWriter, r *http.Request, m me) {
	h.show(w, r, m, http.StatusOK, "account", "account", page{Title: "Account", Name: m.acct.Name})
}

func (h *Web) accountName(w http.ResponseWriter, r *http.Request, m me) {
	name := r.PostFormValue("name")
	if _, err := h.svc.UpdateAccount(r.Context(), m.actor, service.AccountUpdate{Name: &name}); err != nil {
		h.showError(w, r, m, "account", "account", page{Title: "Account", Name: name}, err)
		return
	}
	done(w, r, "/dashboard/account", "name")
}

// accountEmail asks for an email change: the current password, then a
// link mailed to the new address.
func (h *Web) accountEmail(w http.ResponseWriter, r *http.Request, m me) {
	email := r.PostFormValue("email")
	_, err := h.svc.UpdateAccount(r.Context(), m.actor, service.AccountUpdate{Email: &email, CurrentPassword: r.PostFormValue("password")})
	if err != nil {
		h.showError(w, r, m, "account", "account", page{Title: "Account", Name: m.acct.Name, Email: email}, err)
		return
	}
	done(w, r, "/dashboard/account", "email")
}

// accountPassword changes the password; this browser stays signed in.
func (h *Web) accountPassword(w http.ResponseWriter, r *http.Request, m me) {
	pw := r.PostFormValue("new_password")
	_, err := h.svc.UpdateAccount(r.Context(), m.actor, service.AccountUpdate{NewPassword: &pw, CurrentPassword: r.PostFormValue("password")})
	if err != nil {
		h.showError(w, r, m, "account", "account", page{Title: "Account", Name: m.acct.Name}, err)
		return
	}
	done(w, r, "/dashboard/account", "password")
}
