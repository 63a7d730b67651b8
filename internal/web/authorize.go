package web

import (
	"net/http"
	"net/url"
	"regexp"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// authorizeParams are the authorization request parameters (RFC 6749
// §4.1.1, RFC 7636 §4.3) that the consent form carries along.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method"}

const maxState = 2048

var challengePattern = regexp.MustCompile(`^[A-Za-z0-9\-._~]{43,128}$`)

// authorize is GET and POST /oauth/authorize: check the request, sign the
// person in if needed, ask for consent (unless already given), and send
// the answer to the client's registered redirect URI.
func (h *handler) authorize(w http.ResponseWriter, r *http.Request) {
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
	if params.Get("client_id") == "" {
		h.message(w, r, http.StatusBadRequest, "Invalid request", "The request names no client (client_id is missing).")
		return
	}
	client, redirect, err := h.svc.CheckClientRedirect(r.Context(), params.Get("client_id"), params.Get("redirect_uri"))
	if err != nil {
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
		http.Redirect(w, r, withParams(redirect, kv...), http.StatusSeeOther)
	}
	refuse := func(code, desc string) { answer("error", code, "error_description", desc) }

	switch rt := params.Get("response_type"); {
	case rt == "":
		refuse("invalid_request", "response_type is required.")
		return
	case rt != "code":
		refuse("unsupported_response_type", "Only response_type=code is supported.")
		return
	}
	scope, err := service.ParseScope(params.Get("scope"))
	if err != nil {
		refuse("invalid_scope", keyhole.ErrorMessage(err))
		return
	}
	challenge, method := params.Get("code_challenge"), params.Get("code_challenge_method")
	switch {
	case challenge != "" && method != "S256":
		refuse("invalid_request", "code_challenge_method must be S256.")
		return
	case challenge != "" && !challengePattern.MatchString(challenge):
		refuse("invalid_request", "code_challenge is malformed.")
		return
	case challenge == "" && method != "":
		refuse("invalid_request", "code_challenge_method was sent without a code_challenge.")
		return
	case challenge == "" && client.Public():
		refuse("invalid_request", "This client must use PKCE: send code_challenge with code_challenge_method=S256.")
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
			ClientID: client.ID, Scope: scope, RedirectURI: params.Get("redirect_uri"), CodeChallenge: challenge, SessionID: sess.ID,
		})
		if err != nil {
			if keyhole.ErrorCode(err) == keyhole.Invalid {
				refuse("invalid_request", keyhole.ErrorMessage(err))
				return
			}
			h.fail(w, r, err)
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
			refuse("access_denied", "The account holder denied the request.")
			return
		}
	} else {
		need, err := h.svc.NeedsConsent(r.Context(), actor, client, scope)
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
		Title: "Authorize " + client.Name, Client: client.Name, Email: acct.Email, Action: "/oauth/authorize",
		RedirectHost: hostOf(redirect), Scopes: scopeLines(scope),
	}
	for _, k := range authorizeParams {
		if params.Has(k) {
			p.Hidden = append(p.Hidden, hidden{k, params.Get(k)})
		}
	}
	w.Header().Set("Content-Security-Policy", csp(origin(redirect)))
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
