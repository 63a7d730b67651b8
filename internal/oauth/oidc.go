package oauth

import (
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// metadata is the server's metadata: RFC 8414 at
// /.well-known/oauth-authorization-server and OpenID Connect Discovery 1.0
// at /.well-known/openid-configuration, one document with one issuer.
func (o *OAuth) metadata(w http.ResponseWriter, r *http.Request) {
	authMethods := []string{"client_secret_basic", "client_secret_post", "none"}
	writeJSON(w, http.StatusOK, map[string]any{
		"issuer":                                         o.issuer,
		"authorization_endpoint":                         o.issuer + "/oauth/authorize",
		"token_endpoint":                                 o.issuer + "/oauth/token",
		"device_authorization_endpoint":                  o.issuer + "/oauth/device/code",
		"revocation_endpoint":                            o.issuer + "/oauth/revoke",
		"introspection_endpoint":                         o.issuer + "/oauth/introspect",
		"jwks_uri":                                       o.issuer + "/.well-known/jwks.json",
		"userinfo_endpoint":                              o.issuer + "/oauth/userinfo",
		"end_session_endpoint":                           o.issuer + "/oauth/logout",
		"scopes_supported":                               keyhole.Scopes,
		"claims_supported":                               service.ClaimsSupported,
		"response_types_supported":                       []string{"code"},
		"response_modes_supported":                       []string{"query"},
		"grant_types_supported":                          []string{service.GrantAuthorizationCode, service.GrantRefreshToken, service.GrantClientCredentials, service.GrantDeviceCode},
		"subject_types_supported":                        []string{"public"},
		"id_token_signing_alg_values_supported":          []string{"RS256"},
		"token_endpoint_auth_methods_supported":          authMethods,
		"revocation_endpoint_auth_methods_supported":     authMethods,
		"introspection_endpoint_auth_methods_supported":  []string{"client_secret_basic", "client_secret_post"},
		"code_challenge_methods_supported":               []string{"S256"},
		"prompt_values_supported":                        service.PromptValues,
		"authorization_response_iss_parameter_supported": true,
		"claims_parameter_supported":                     false,
		"request_parameter_supported":                    false,
		"request_uri_parameter_supported":                false,
		"frontchannel_logout_supported":                  false,
		"backchannel_logout_supported":                   false,
	})
}

// jwks is the JWK Set of the keys that sign ID tokens. Relying parties
// may cache it for service.JWKSMaxAge, shorter than the lead a new key
// is published with before it signs.
func (o *OAuth) jwks(w http.ResponseWriter, r *http.Request) {
	b, err := o.svc.JWKS(r.Context())
	if err != nil {
		o.error(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "application/jwk-set+json")
	h.Set("Cache-Control", "public, max-age="+strconv.Itoa(int(service.JWKSMaxAge.Seconds())))
	h.Set("Access-Control-Allow-Origin", "*")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(b)
}

// userinfo is OpenID Connect's UserInfo endpoint (Core 1.0 §5.3): GET or
// POST with the access token as a Bearer header, or in a POSTed form's
// access_token (RFC 6750 §2.2), not both. Its errors are RFC 6750 §3's:
// a WWW-Authenticate challenge, invalid_token (401) or
// insufficient_scope (403).
func (o *OAuth) userinfo(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	raw, err := bearer(w, r)
	if err == nil {
		var info service.UserInfo
		if info, err = o.svc.UserInfo(r.Context(), raw, clientIP(r)); err == nil {
			writeJSON(w, http.StatusOK, info)
			return
		}
	}
	var status int
	var code string
	switch keyhole.ErrorCode(err) {
	case keyhole.Unauthorized:
		status, code = http.StatusUnauthorized, "invalid_token"
	case keyhole.Forbidden:
		status, code = http.StatusForbidden, "insufficient_scope"
	case keyhole.Invalid:
		status, code = http.StatusBadRequest, "invalid_request"
	default:
		o.error(w, r, err)
		return
	}
	msg := keyhole.ErrorMessage(err)
	challenge := `Bearer realm="keyhole", error="` + code + `", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `"`
	if code == "insufficient_scope" {
		challenge += `, scope="openid"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	writeJSON(w, status, errorBody{Error: code, ErrorDescription: msg, ID: code, Message: msg})
}

var errNoBearer = keyhole.Errorf(keyhole.Unauthorized, "Send the access token as a Bearer token.")

// bearer reads the access token of a userinfo request.
func bearer(w http.ResponseWriter, r *http.Request) (string, error) {
	var fromForm string
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); r.Method == http.MethodPost && mt == "application/x-www-form-urlencoded" {
		r.Body = http.MaxBytesReader(w, r.Body, maxForm)
		if err := r.ParseForm(); err != nil {
			return "", keyhole.Errorf(keyhole.Invalid, "The request body is malformed or too large.")
		}
		if len(r.PostForm["access_token"]) > 1 {
			return "", keyhole.Errorf(keyhole.Invalid, "The parameter access_token was sent more than once.")
		}
		fromForm = r.PostForm.Get("access_token")
	}
	h := r.Header.Get("Authorization")
	switch {
	case h != "" && fromForm != "":
		return "", keyhole.Errorf(keyhole.Invalid, "Send the access token one way, not two.")
	case fromForm != "":
		return fromForm, nil
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(tok) == "" {
		return "", errNoBearer
	}
	return strings.TrimSpace(tok), nil
}
