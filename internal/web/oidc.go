package web

import (
	"net/http"
	"net/url"

	"github.com/keyhole/keyhole/internal/service"
)

// logoutParams are RP-Initiated Logout 1.0's parameters (§2) that the
// confirmation page carries along; the others (logout_hint, ui_locales)
// are ignored.
var logoutParams = []string{"id_token_hint", "client_id", "post_logout_redirect_uri", "state"}

// endSession is OpenID Connect's end_session_endpoint, GET and POST
// /oauth/logout. A request whose id_token_hint names the person signed
// in here signs them out at once; any other asks first (a page with a
// form, so that no link can sign anyone out). Signed out, the browser
// goes to the post_logout_redirect_uri with state when the client
// registered it, and to Keyhole's signed-out page otherwise; a
// post_logout_redirect_uri that is not registered is an error page,
// never a redirect.
func (h *Web) endSession(w http.ResponseWriter, r *http.Request) {
	params, ok := h.requestParams(w, r)
	if !ok {
		return
	}
	confirmed := r.Method == http.MethodPost && params.Has("confirm")
	if r.Method == http.MethodPost && !confirmed {
		// A relying party's POST: go on as a GET, which brings this
		// browser's session cookie along (SameSite=Lax keeps it off
		// cross-site POSTs).
		http.Redirect(w, r, "/oauth/logout?"+pick(params, logoutParams).Encode(), http.StatusSeeOther)
		return
	}
	for _, k := range logoutParams {
		if len(params[k]) > 1 {
			h.message(w, r, http.StatusBadRequest, "Invalid request", "The parameter "+k+" was sent more than once.")
			return
		}
	}
	if confirmed && (h.cop.Check(r) != nil || !h.checkCSRF(r)) {
		h.message(w, r, http.StatusForbidden, "Please try again", "This form expired or did not come from Keyhole. Go back to the application and sign out again.")
		return
	}
	req, err := h.svc.CheckLogout(r.Context(), service.LogoutInput{
		IDTokenHint: params.Get("id_token_hint"), ClientID: params.Get("client_id"),
		PostLogoutRedirectURI: params.Get("post_logout_redirect_uri"), State: params.Get("state"), HasState: params.Has("state"),
	})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	_, sess, signedIn := h.current(r)
	if signedIn && !confirmed && !req.Identifies(sess) {
		p := page{Title: "Sign out", Action: "/oauth/logout"}
		if req.Client != nil {
			p.Client = req.Client.Name
		}
		for k, v := range pick(params, logoutParams) {
			p.Hidden = append(p.Hidden, hidden{k, v[0]})
		}
		p.Hidden = append(p.Hidden, hidden{"confirm", "yes"})
		h.render(w, r, http.StatusOK, "end_session", p)
		return
	}
	if signedIn {
		if err := h.svc.EndSession(r.Context(), h.sessionValue(r), from(r)); err != nil {
			h.fail(w, r, err)
			return
		}
		h.clearSession(w)
	}
	if req.RedirectURI != "" {
		var kv []string
		if req.HasState {
			kv = []string{"state", req.State}
		}
		http.Redirect(w, r, withParams(req.RedirectURI, kv...), http.StatusSeeOther)
		return
	}
	p := page{Title: "Signed out", Message: "You are signed out of Keyhole on this browser.", Link: "/login", LinkText: "Sign in again"}
	if req.Client != nil {
		p.Message = "You are signed out of Keyhole on this browser, and " + req.Client.Name + " asked to sign you out of it."
	}
	h.render(w, r, http.StatusOK, "message", p)
}

// requestParams reads a protocol request's parameters: the query of a GET,
// the form of a POST.
func (h *Web) requestParams(w http.ResponseWriter, r *http.Request) (url.Values, bool) {
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if len(r.URL.RawQuery) > maxForm {
			h.message(w, r, http.StatusBadRequest, "Request too large", "The request is too large.")
			return nil, false
		}
		return r.URL.Query(), true
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			h.message(w, r, http.StatusBadRequest, "Bad request", "The request could not be read or is too large.")
			return nil, false
		}
		return r.PostForm, true
	default:
		h.methodNotAllowed(w, r)
		return nil, false
	}
}

// pick returns the parameters of params named in names.
func pick(params url.Values, names []string) url.Values {
	q := url.Values{}
	for _, k := range names {
		if v, ok := params[k]; ok {
			q[k] = v
		}
	}
	return q
}
