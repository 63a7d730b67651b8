// Package oauth is Keyhole's OAuth 2.0 protocol surface: the token endpoint
// (RFC 6749, RFC 7636, RFC 8628), revocation (RFC 7009), introspection
// (RFC 7662), server metadata (RFC 8414), and the Heroku CLI's browser
// login handshake, a device flow in JSON (POST /auth, GET /auth/cli). The browser side of the flow,
// /oauth/authorize and /device, is in package web. Handlers decode the form,
// call one service method and encode the RFC's JSON.
package oauth

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/service"
)

// Deps are the surface's dependencies.
type Deps struct {
	Service *service.Service
	Log     *slog.Logger
	// Issuer is the public base URL, such as https://id.example.com.
	Issuer string
}

// OAuth serves the protocol endpoints.
type OAuth struct {
	svc    *service.Service
	log    *slog.Logger
	issuer string
}

// New returns the OAuth protocol surface.
func New(d Deps) *OAuth {
	o := &OAuth{svc: d.Service, log: d.Log, issuer: strings.TrimRight(d.Issuer, "/")}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	return o
}

// Register mounts the endpoints on mux. Another method on one of their
// paths gets 405 with Allow, in the RFC's error shape.
func (o *OAuth) Register(mux *http.ServeMux) {
	for _, e := range []struct {
		method, path string
		h            http.HandlerFunc
	}{
		{http.MethodPost, "/oauth/token", o.token},
		{http.MethodPost, "/oauth/device/code", o.deviceCode},
		{http.MethodPost, "/oauth/revoke", o.revoke},
		{http.MethodPost, "/oauth/introspect", o.introspect},
		{http.MethodGet, "/.well-known/oauth-authorization-server", o.metadata},
		// OpenID Connect (see oidc.go).
		{http.MethodGet, "/.well-known/openid-configuration", o.metadata},
		{http.MethodGet, "/.well-known/jwks.json", o.jwks},
		{"GET POST", "/oauth/userinfo", o.userinfo},
		// The Heroku CLI's browser login (see clilogin.go).
		{http.MethodPost, "/auth", o.cliLoginStart},
		{http.MethodGet, "/auth/cli", o.cliLoginWait},
	} {
		allow := e.method
		for _, m := range strings.Fields(e.method) {
			mux.Handle(m+" "+e.path, o.surface(e.h))
		}
		switch allow {
		case http.MethodGet:
			allow = "GET, HEAD"
		case "GET POST":
			allow = "GET, HEAD, POST"
		}
		mux.Handle(e.path, o.surface(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Allow", allow)
			o.error(w, r, &oauthError{http.StatusMethodNotAllowed, "invalid_request", "This endpoint takes " + allow + " only."})
		}))
	}
}

// surface turns a panic into the RFC's server_error.
func (o *OAuth) surface(h http.HandlerFunc) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				o.error(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		h(w, r)
	})
}

// maxForm caps a request body; every OAuth request is a few parameters.
const maxForm = 16 << 10

// oauthError is an error of this surface in RFC 6749 §5.2 form.
type oauthError struct {
	status      int
	code        string
	description string
}

func (e *oauthError) Error() string { return e.code + ": " + e.description }

func invalidRequest(msg string) error {
	return &oauthError{http.StatusBadRequest, "invalid_request", msg}
}

// errorWire maps domain error codes to RFC error codes and statuses: the
// one mapping of this surface.
var errorWire = map[string]struct {
	status int
	code   string
}{
	keyhole.Invalid:              {http.StatusBadRequest, "invalid_request"},
	keyhole.BadRequest:           {http.StatusBadRequest, "invalid_request"},
	keyhole.InvalidGrant:         {http.StatusBadRequest, "invalid_grant"},
	keyhole.InvalidClient:        {http.StatusUnauthorized, "invalid_client"},
	keyhole.UnauthorizedClient:   {http.StatusBadRequest, "unauthorized_client"},
	keyhole.InvalidScope:         {http.StatusBadRequest, "invalid_scope"},
	keyhole.AuthorizationPending: {http.StatusBadRequest, "authorization_pending"},
	keyhole.SlowDown:             {http.StatusBadRequest, "slow_down"},
	keyhole.ExpiredToken:         {http.StatusBadRequest, "expired_token"},
	keyhole.AccessDenied:         {http.StatusBadRequest, "access_denied"},
	// A bearer token this surface does not know (the browser login's wait).
	keyhole.Unauthorized: {http.StatusUnauthorized, "invalid_token"},
	keyhole.Unavailable:  {http.StatusServiceUnavailable, "temporarily_unavailable"},
	// RFC 6749 has no code for a throttled client; temporarily_unavailable
	// says what it is, 429 and Retry-After say for how long.
	keyhole.RateLimited: {http.StatusTooManyRequests, "temporarily_unavailable"},
}

// errorBody carries the RFC's keys and, beside them, Heroku's id and message
// (Heroku's clients read `message`).
type errorBody struct {
	Error            string `json:"error"`
	ErrorDescription string `json:"error_description"`
	ID               string `json:"id"`
	Message          string `json:"message"`
}

func (o *OAuth) error(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		code := keyhole.ErrorCode(err)
		wire, ok := errorWire[code]
		if !ok {
			o.log.ErrorContext(r.Context(), "internal error", "request_id", requestid.From(r.Context()), "err", err)
			oe = &oauthError{http.StatusInternalServerError, "server_error", "An internal error occurred."}
		} else {
			oe = &oauthError{wire.status, wire.code, keyhole.ErrorMessage(err)}
		}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="keyhole", charset="UTF-8"`)
	}
	id := oe.code
	if wait := keyhole.ErrorRetryAfter(err); wait > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((wait+time.Second-1)/time.Second)))
		if oe.status == http.StatusTooManyRequests {
			id = "rate_limit"
		}
	}
	writeJSON(w, oe.status, errorBody{Error: oe.code, ErrorDescription: oe.description, ID: id, Message: oe.description})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	h := w.Header()
	h.Set("Content-Type", "application/json; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// form parses an application/x-www-form-urlencoded body. A parameter sent
// twice is invalid (RFC 6749 §3.1, §3.2).
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return nil, invalidRequest("Send the parameters as application/x-www-form-urlencoded.")
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxForm)
	if err := r.ParseForm(); err != nil {
		return nil, invalidRequest("The request body is malformed or too large.")
	}
	if len(r.URL.RawQuery) > 0 {
		return nil, invalidRequest("Send the parameters in the request body, not the URL.")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return nil, invalidRequest("The parameter " + clip(k) + " was sent more than once.")
		}
	}
	return r.PostForm, nil
}

func clip(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// clientAuth reads the client's credentials: HTTP Basic (each part
// form-urlencoded, RFC 6749 §2.3.1) or client_id and client_secret in the
// body, not both. A public client sends client_id alone.
func clientAuth(r *http.Request, f url.Values) (service.ClientAuth, error) {
	ca := service.ClientAuth{IP: clientIP(r)}
	if u, p, ok := r.BasicAuth(); ok {
		if f.Has("client_secret") {
			return ca, invalidRequest("Use one client authentication method, not two.")
		}
		id, err1 := url.QueryUnescape(u)
		secret, err2 := url.QueryUnescape(p)
		if err1 != nil || err2 != nil {
			return ca, &oauthError{http.StatusUnauthorized, "invalid_client", "Malformed client credentials."}
		}
		if fid := f.Get("client_id"); fid != "" && fid != id {
			return ca, invalidRequest("client_id does not match the authenticated client.")
		}
		ca.ID, ca.Secret = id, secret
		return ca, nil
	}
	if r.Header.Get("Authorization") != "" {
		return ca, &oauthError{http.StatusUnauthorized, "invalid_client", "Unsupported client authentication scheme: use Basic."}
	}
	ca.ID, ca.Secret = f.Get("client_id"), f.Get("client_secret")
	return ca, nil
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// tokenResponse is RFC 6749 §5.1's answer, with Heroku's user_id and
// session_nonce. Optional fields are left out rather than null.
type tokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	RefreshToken string `json:"refresh_token,omitempty"`
	Scope        string `json:"scope"`
	UserID       string `json:"user_id,omitempty"`
	SessionNonce string `json:"session_nonce,omitempty"`
	IDToken      string `json:"id_token,omitempty"`
}

func (o *OAuth) token(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		o.error(w, r, err)
		return
	}
	ca, err := clientAuth(r, f)
	if err != nil {
		o.error(w, r, err)
		return
	}
	grantType := f.Get("grant_type")
	if grantType == "" && f.Has("code") {
		grantType = service.GrantAuthorizationCode // Heroku's default
	}
	var g service.TokenGrant
	switch grantType {
	case service.GrantAuthorizationCode, service.GrantRefreshToken:
		g, err = o.svc.Exchange(r.Context(), service.TokenRequest{
			GrantType: grantType, Client: ca, Code: f.Get("code"),
			RedirectURI: f.Get("redirect_uri"), CodeVerifier: f.Get("code_verifier"),
			RefreshToken: f.Get("refresh_token"), Scope: keyhole.SplitScope(f.Get("scope")),
		})
	case service.GrantClientCredentials:
		g, err = o.svc.ClientCredentials(r.Context(), ca, keyhole.SplitScope(f.Get("scope")))
	case service.GrantDeviceCode:
		if f.Get("device_code") == "" {
			o.error(w, r, invalidRequest("device_code is required."))
			return
		}
		g, err = o.svc.PollDevice(r.Context(), ca, f.Get("device_code"))
	case "":
		err = invalidRequest("grant_type is required.")
	default:
		err = &oauthError{http.StatusBadRequest, "unsupported_grant_type", "Unsupported grant_type " + clip(grantType) + "."}
	}
	if err != nil {
		o.error(w, r, err)
		return
	}
	resp := tokenResponse{
		AccessToken: g.Access.Value.Reveal(), TokenType: "Bearer",
		ExpiresIn: max(int64((g.Access.ExpiresAt.Sub(o.svc.Now())+time.Second/2)/time.Second), 1),
		Scope:     keyhole.JoinScope(g.Scope),
		UserID:    g.Authorization.AccountID, SessionNonce: g.Authorization.SessionID,
		IDToken: g.IDToken,
	}
	if g.Refresh != nil {
		resp.RefreshToken = g.Refresh.Value.Reveal()
	}
	writeJSON(w, http.StatusOK, resp)
}

func (o *OAuth) deviceCode(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		o.error(w, r, err)
		return
	}
	ca, err := clientAuth(r, f)
	if err != nil {
		o.error(w, r, err)
		return
	}
	// description is Keyhole's addition, for its own CLI's device logins.
	d, err := o.svc.StartDevice(r.Context(), ca, keyhole.SplitScope(f.Get("scope")), f.Get("description"))
	if err != nil {
		o.error(w, r, err)
		return
	}
	type response struct {
		DeviceCode              string `json:"device_code"`
		UserCode                string `json:"user_code"`
		VerificationURI         string `json:"verification_uri"`
		VerificationURIComplete string `json:"verification_uri_complete"`
		ExpiresIn               int    `json:"expires_in"`
		Interval                int    `json:"interval"`
	}
	writeJSON(w, http.StatusOK, response{
		DeviceCode: d.DeviceCode.Reveal(), UserCode: d.UserCode,
		VerificationURI:         o.issuer + "/device",
		VerificationURIComplete: o.issuer + "/device?user_code=" + url.QueryEscape(d.UserCode),
		ExpiresIn:               d.ExpiresIn, Interval: d.Interval,
	})
}

func (o *OAuth) revoke(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		o.error(w, r, err)
		return
	}
	ca, err := clientAuth(r, f)
	if err != nil {
		o.error(w, r, err)
		return
	}
	if f.Get("token") == "" {
		o.error(w, r, invalidRequest("token is required."))
		return
	}
	if err := o.svc.Revoke(r.Context(), ca, f.Get("token")); err != nil {
		o.error(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, struct{}{})
}

func (o *OAuth) introspect(w http.ResponseWriter, r *http.Request) {
	f, err := form(w, r)
	if err != nil {
		o.error(w, r, err)
		return
	}
	ca, err := clientAuth(r, f)
	if err != nil {
		o.error(w, r, err)
		return
	}
	if ca.ID == "" {
		o.error(w, r, &oauthError{http.StatusUnauthorized, "invalid_client", "Introspection requires client authentication."})
		return
	}
	if f.Get("token") == "" {
		o.error(w, r, invalidRequest("token is required."))
		return
	}
	in, err := o.svc.Introspect(r.Context(), ca, f.Get("token"))
	if err != nil {
		o.error(w, r, err)
		return
	}
	if !in.Active {
		writeJSON(w, http.StatusOK, map[string]bool{"active": false})
		return
	}
	type response struct {
		Active    bool   `json:"active"`
		Scope     string `json:"scope"`
		ClientID  string `json:"client_id"`
		Username  string `json:"username,omitempty"`
		Sub       string `json:"sub,omitempty"`
		TokenType string `json:"token_type,omitempty"`
		Exp       int64  `json:"exp,omitempty"`
		Iat       int64  `json:"iat"`
		Iss       string `json:"iss"`
	}
	resp := response{
		Active: true, Scope: strings.Join(in.Scope, " "), ClientID: in.ClientID, Username: in.Email,
		Sub: in.AccountID, Iat: in.IssuedAt.Unix(), Iss: o.issuer,
	}
	// RFC 7662 §2.2: token_type is one of RFC 6749 §5.1's types, which only
	// access tokens have.
	if in.Kind == keyhole.AccessToken {
		resp.TokenType = "Bearer"
	}
	if !in.ExpiresAt.IsZero() {
		resp.Exp = in.ExpiresAt.Unix()
	}
	writeJSON(w, http.StatusOK, resp)
}
