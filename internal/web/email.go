package web

import "net/http"

// verifyEmail is /email/verify, the page a verification link opens: a GET
// only shows what the link confirms (mail scanners that fetch links
// change nothing); the person's POST confirms it.
func (h *Web) verifyEmail(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		tok := r.URL.Query().Get("token")
		email, err := h.svc.CheckEmailLink(r.Context(), tok)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.render(w, r, http.StatusOK, "verify", page{Title: "Confirm your email address", Email: email, Token: tok})
	case http.MethodPost:
		if !h.parsePost(w, r) {
			return
		}
		a, err := h.svc.VerifyEmail(r.Context(), r.PostFormValue("token"), from(r))
		if err != nil {
			h.fail(w, r, err)
			return
		}
		next, text := "/login?next=%2Fdashboard", "Sign in"
		if _, _, ok := h.current(r); ok {
			next, text = "/dashboard", "Go to your dashboard"
		}
		h.render(w, r, http.StatusOK, "message", page{Title: "Email address confirmed",
			Message: "Thank you: " + a.Email + " is confirmed as the address of your Keyhole account.", Link: next, LinkText: text})
	default:
		h.methodNotAllowed(w, r)
	}
}
