package web

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/service"
)

// forgotPassword is /password/forgot: an address in, the same answer out
// whether or not an account uses it.
func (h *Web) forgotPassword(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		h.render(w, r, http.StatusOK, "forgot", page{Title: "Forgot your password?"})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		email := r.PostFormValue("email")
		if err := h.svc.RequestPasswordReset(r.Context(), email, from(r)); err != nil {
			h.formError(w, r, "forgot", page{Title: "Forgot your password?", Email: email}, err)
			return
		}
		h.render(w, r, http.StatusOK, "message", page{Title: "Check your mail",
			Message: "If an account uses " + email + ", we mailed it a link to choose a new password. The link works for an hour.",
			Link:    "/login", LinkText: "Back to sign in"})
	default:
		h.methodNotAllowed(w, r)
	}
}

// resetPassword is /password/reset, the page a reset link opens: a new
// password (and, for an account with MFA, a code).
func (h *Web) resetPassword(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		tok := r.URL.Query().Get("token")
		needsCode, err := h.svc.ResetLink(r.Context(), tok)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "reset", page{Title: "Choose a new password", Token: tok, NeedsCode: needsCode})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		tok := r.PostFormValue("token")
		err := h.svc.ResetPassword(r.Context(), service.PasswordReset{
			Token: tok, NewPassword: r.PostFormValue("new_password"), Code: r.PostFormValue("code"), Origin: from(r),
		})
		if err != nil {
			h.formError(w, r, "reset", page{Title: "Choose a new password", Token: tok, NeedsCode: r.PostForm.Has("code")}, err)
			return
		}
		// Every session of the account ended with the reset, this
		// browser's too, if it had one.
		h.clearSession(w)
		h.render(w, r, http.StatusOK, "message", page{Title: "Password changed",
			Message: "Your password was changed, and every session and application was signed out. Sign in with the new password.",
			Link:    "/login?next=%2Fdashboard", LinkText: "Sign in"})
	default:
		h.methodNotAllowed(w, r)
	}
}
