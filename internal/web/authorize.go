package web

import (
	"net/http"
	"net/url"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// redirectErrors maps the errors an authorization request can meet, once
// its client and redirect URI are verified, to RFC 6749 §4.1.2.1 codes.
var redirectErrors = map[string]string{
	keyhole.Invalid:             "invalid_request",
	keyhole.InvalidScope:        "invalid_scope",
	keyhole.UnsupportedResponse: "unsupported_response_type",
	keyhole.AccessDenied:        "access_denied",
}

// authorizeParams are the authorization request parameters (RFC 6749
// §4.1.1, RFC 7636 §4.3) that the consent form carries along.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

const maxState = 2048

// authorize is GET and POST /oauth/authorize: check the request, sign the
// person in if needed, ask for consent (unless already given), and send
// the answer to the client's registered redirect URI.
func (h *Web) authorize(w http.ResponseWriter, r *http.Request) {
	var params url.Values
	switch r.Method {
	case http.MethodGet, http.MethodHead:
		if len(r.URL.RawQuery) > maxForm {
			h.message(w, r, http.StatusBadRequest, "Request too large", "The authorization request is too large.")
			return
		}
		params = r.URL.Query()
	case http.MethodPost:
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			h.message(w, r, http.StatusBadRequest, "Bad request", "The authorization request could not be read or is too large.")
			return
		}
		params = r.PostForm
	default:
		h.methodNotAllowed(w, r)
		return
	}
	// Until the client and its redirect URI are verified, every problem is
	// shown here and never redirected (RFC 6749 §4.1.2.1, RFC 9700 §4.11).
	for k, v := range params {
		if len(v) > 1 {
			h.message(w, r, http.StatusBadRequest, "Invalid request", "The parameter "+clip(k)+" was sent more than once.")
			return
		}
	}
	if len(params.Get("state")) > maxState {
		h.message(w, r, http.StatusBadRequest, "Invalid request", "The state parameter is too long.")
		return
	}
	req, err := h.svc.CheckAuthorize(r.Context(), service.AuthorizeInput{
		ResponseType: params.Get("response_type"), ClientID: params.Get("client_id"), RedirectURI: params.Get("redirect_uri"),
		Scope: params.Get("scope"), CodeChallenge: params.Get("code_challenge"), CodeChallengeMethod: params.Get("code_challenge_method"),
	})
	if err != nil && req.RedirectURI == "" {
		if keyhole.ErrorCode(err) == keyhole.Invalid {
			h.message(w, r, http.StatusBadRequest, "Invalid request", keyhole.ErrorMessage(err))
			return
		}
		h.fail(w, r, err)
		return
	}

	// From here on, errors go back to the client.
	state, hasState := params.Get("state"), params.Has("state")
	answer := func(kv ...string) {
		if hasState {
			kv = append(kv, "state", state)
		}
		kv = append(kv, "iss", h.issuer)
		http.Redirect(w, r, withParams(req.RedirectURI, kv...), http.StatusSeeOther)
	}
	refuse := func(err error) {
		code, ok := redirectErrors[keyhole.ErrorCode(err)]
		if !ok {
			h.fail(w, r, err)
			return
		}
		answer("error", code, "error_description", keyhole.ErrorMessage(err))
	}
	if err != nil {
		refuse(err)
		return
	}

	actor, sess, ok := h.current(r)
	if !ok {
		q := url.Values{}
		for _, k := range authorizeParams {
			if params.Has(k) {
				q.Set(k, params.Get(k))
			}
		}
		http.Redirect(w, r, loginURL("/oauth/authorize?"+q.Encode()), http.StatusSeeOther)
		return
	}
	grant := func() {
		info, err := h.svc.CreateGrant(r.Context(), actor, service.GrantParams{
			ClientID: req.Client.ID, Scope: req.Scope, RedirectURI: req.RequestedRedirect, CodeChallenge: req.CodeChallenge, SessionID: sess.ID,
		})
		if err != nil {
			refuse(err)
			return
		}
		answer("code", info.Grant.Value.Reveal())
	}

	if r.Method == http.MethodPost {
		if !checkCSRF(r) {
			h.message(w, r, http.StatusForbidden, "Please try again", "This form expired or did not come from Keyhole. Go back, reload the page and answer again.")
			return
		}
		switch params.Get("authorize") {
		case "Allow":
			grant()
			return
		case "Deny":
			refuse(keyhole.Errorf(keyhole.AccessDenied, "The account holder denied the request."))
			return
		}
	} else {
		need, err := h.svc.NeedsConsent(r.Context(), actor, req.Client, req.Scope)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		if !need {
			grant()
			return
		}
	}
	acct, err := h.svc.Account(r.Context(), actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	p := page{
		Title: "Authorize " + req.Client.Name, Client: req.Client.Name, Email: acct.Email, Action: "/oauth/authorize",
		RedirectHost: hostOf(req.RedirectURI), Scopes: scopeLines(req.Scope),
	}
	for _, k := range authorizeParams {
		if params.Has(k) {
			p.Hidden = append(p.Hidden, hidden{k, params.Get(k)})
		}
	}
	w.Header().Set("Content-Security-Policy", csp(origin(req.RedirectURI)))
	h.render(w, r, http.StatusOK, "consent", p)
}

func hostOf(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return u.Host
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}
