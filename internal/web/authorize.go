package web

import (
	"net/http"
	"net/url"
	"slices"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// authorizeParams are the authorization request parameters (RFC 6749
// §4.1.1, RFC 7636 §4.3, OpenID Connect Core 1.0 §3.1.2.1) that the
// sign-in page carries along; the others are ignored.
var authorizeParams = []string{"response_type", "client_id", "redirect_uri", "scope", "state", "code_challenge", "code_challenge_method",
	"nonce", "prompt", "max_age", "login_hint", "id_token_hint"}

// authorize is GET and POST /oauth/authorize: check the request, sign the
// person in if needed, ask for consent (unless already given), and send
// the answer to the client's registered redirect URI. The consent form
// posts back only a handle of what it showed and the decision.
func (h *Web) authorize(w http.ResponseWriter, r *http.Request) {
	params, ok := h.requestParams(w, r)
	if !ok {
		return
	}
	if r.Method == http.MethodPost && !params.Has("consent") && h.sessionValue(r) == "" {
		// An authorization request sent as a form (Core 1.0 §3.1.2.1)
		// without the session cookie, as from the client's site
		// (SameSite=Lax keeps it off cross-site POSTs): it goes on as a
		// GET, which brings the cookie along.
		params.Del("csrf")
		http.Redirect(w, r, "/oauth/authorize?"+params.Encode(), http.StatusSeeOther)
		return
	}
	var repeated []string
	for k, v := range params {
		if len(v) > 1 {
			repeated = append(repeated, k)
		}
	}
	slices.Sort(repeated)
	actor, sess, signedIn := h.current(r)
	if r.Method == http.MethodPost && params.Has("consent") {
		if len(repeated) > 0 {
			h.message(w, r, http.StatusBadRequest, "Invalid request", "The parameter "+clip(repeated[0])+" was sent more than once.")
			return
		}
		h.consentAnswer(w, r, actor, signedIn, params)
		return
	}

	req, err := h.svc.CheckAuthorize(r.Context(), service.AuthorizeInput{
		ResponseType: params.Get("response_type"), ClientID: params.Get("client_id"), RedirectURI: params.Get("redirect_uri"),
		Scope: params.Get("scope"), CodeChallenge: params.Get("code_challenge"), CodeChallengeMethod: params.Get("code_challenge_method"),
		State: params.Get("state"), HasState: params.Has("state"), Repeated: repeated,
		Nonce: params.Get("nonce"), Prompt: params.Get("prompt"), MaxAge: params.Get("max_age"), HasMaxAge: params.Has("max_age"),
		LoginHint: params.Get("login_hint"), IDTokenHint: params.Get("id_token_hint"),
		HasRequest: params.Has("request"), HasRequestURI: params.Has("request_uri"),
	})
	switch {
	case err != nil && req.RedirectURI == "":
		// Until the client and its redirect URI are verified, every problem
		// is shown here and never redirected (RFC 6749 §4.1.2.1, RFC 9700
		// §4.11).
		h.fail(w, r, err)
		return
	case err != nil && !signedIn:
		// Nor is a visitor who has not signed in sent to the client
		// without a click of their own (RFC 9700 §4.11.2).
		h.backToClient(w, r, req, err)
		return
	case err != nil:
		h.refuse(w, r, req, err)
		return
	}
	var session *keyhole.Session
	if signedIn {
		session = &sess
	}
	step, err := h.svc.NextStep(r.Context(), req, actor, session)
	switch {
	case err != nil:
		// prompt=none: the answer goes to the client, as it asked.
		h.refuse(w, r, req, err)
		return
	case step == service.StepSignIn:
		carried := map[string]string{}
		for _, k := range authorizeParams {
			if params.Has(k) {
				carried[k] = params.Get(k)
			}
		}
		q := url.Values{}
		for k, v := range service.AfterSignIn(carried) {
			q.Set(k, v)
		}
		login := loginURL("/oauth/authorize?" + q.Encode())
		if req.LoginHint != "" {
			login += "&login_hint=" + url.QueryEscape(req.LoginHint)
		}
		http.Redirect(w, r, login, http.StatusSeeOther)
		return
	case step == service.StepGrant:
		info, err := h.svc.Grant(r.Context(), actor, req)
		if err != nil {
			h.refuse(w, r, req, err)
			return
		}
		h.answer(w, r, req, "code", info.Grant.Value.Reveal())
		return
	}
	acct, err := h.svc.Account(r.Context(), actor)
	if err != nil {
		h.fail(w, r, err)
		return
	}
	w.Header().Set("Content-Security-Policy", csp(origin(req.RedirectURI)))
	h.render(w, r, http.StatusOK, "consent", page{
		Title: "Authorize " + req.Client.Name, Client: req.Client.Name, Email: acct.Email, Action: "/oauth/authorize",
		RedirectHost: hostOf(req.RedirectURI), Scopes: consentLines(req.Scope, false), Shares: consentLines(req.Scope, true),
		Hidden: []hidden{{"consent", h.svc.ConsentHandle(actor, req)}},
	})
}

// consentAnswer applies the Allow or Deny of a consent form.
func (h *Web) consentAnswer(w http.ResponseWriter, r *http.Request, actor service.Actor, signedIn bool, params url.Values) {
	if h.cop.Check(r) != nil || !h.checkCSRF(r) || !signedIn {
		h.message(w, r, http.StatusForbidden, "Please try again", "This form expired or did not come from Keyhole. Go back to the application and start again.")
		return
	}
	decision := params.Get("authorize")
	if decision != "Allow" && decision != "Deny" {
		h.message(w, r, http.StatusBadRequest, "Invalid request", "Choose Allow or Deny.")
		return
	}
	req, info, err := h.svc.Consent(r.Context(), actor, params.Get("consent"), decision == "Allow")
	switch {
	case err != nil && req.RedirectURI == "":
		h.fail(w, r, err)
	case err != nil:
		h.refuse(w, r, req, err)
	case info == nil:
		h.refuse(w, r, req, keyhole.Errorf(keyhole.AccessDenied, "The account holder denied the request."))
	default:
		h.answer(w, r, req, "code", info.Grant.Value.Reveal())
	}
}

// answerURL is the client's redirect URI with the answer's parameters,
// state (when the request had one) and iss (RFC 9207).
func (h *Web) answerURL(req service.AuthorizeRequest, kv ...string) string {
	if req.HasState {
		kv = append(kv, "state", req.State)
	}
	kv = append(kv, "iss", h.issuer)
	return withParams(req.RedirectURI, kv...)
}

func (h *Web) answer(w http.ResponseWriter, r *http.Request, req service.AuthorizeRequest, kv ...string) {
	http.Redirect(w, r, h.answerURL(req, kv...), http.StatusSeeOther)
}

// refuse sends an error to the client (RFC 6749 §4.1.2.1), or shows it
// when it has no RFC code.
func (h *Web) refuse(w http.ResponseWriter, r *http.Request, req service.AuthorizeRequest, err error) {
	code, ok := redirectCode(err)
	if !ok {
		h.fail(w, r, err)
		return
	}
	h.answer(w, r, req, "error", code, "error_description", keyhole.ErrorMessage(err))
}

// backToClient shows an error of a verified request to a visitor who has
// not signed in: it names the application and offers the way back, which
// is the RFC's error answer, behind a link.
func (h *Web) backToClient(w http.ResponseWriter, r *http.Request, req service.AuthorizeRequest, err error) {
	code, ok := redirectCode(err)
	if !ok {
		h.fail(w, r, err)
		return
	}
	status, _, _ := h.status(w, r, err)
	h.render(w, r, status, "message", page{
		Title:    req.Client.Name + " sent an invalid request",
		Message:  req.Client.Name + " asked for access in a way Keyhole cannot accept: " + keyhole.ErrorMessage(err),
		Link:     h.answerURL(req, "error", code, "error_description", keyhole.ErrorMessage(err)),
		LinkText: "Return to " + req.Client.Name,
	})
}

func scopeLines(scope []string) []scopeLine {
	out := make([]scopeLine, len(scope))
	for i, s := range scope {
		out[i] = scopeLine{Name: s, Description: keyhole.ScopeDescriptions[s]}
	}
	return out
}

// consentLines are the lines of a consent page: what the application will
// learn about the person (shares: openid, profile, email) or be able to
// do (the others).
func consentLines(scope []string, shares bool) []scopeLine {
	var out []scopeLine
	for _, s := range scope {
		learns := s == keyhole.ScopeOpenID || s == keyhole.ScopeProfile || s == keyhole.ScopeEmail
		if learns == shares {
			out = append(out, scopeLine{Name: s, Description: keyhole.ScopeDescriptions[s]})
		}
	}
	return out
}

// withParams adds params to a redirect URI, keeping its own query.
func withParams(base string, params ...string) string {
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	q := u.Query()
	for i := 0; i+1 < len(params); i += 2 {
		q.Set(params[i], params[i+1])
	}
	u.RawQuery = q.Encode()
	return u.String()
}

func origin(raw string) string {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
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
