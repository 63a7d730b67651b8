package keyholeapi

import (
	"context"
	"net/http"
	"strings"
	"time"
)

// Authorization is a grant of scopes by an account: to an OAuth client,
// or to nobody (a direct authorization, such as the API key or a CLI
// login). Schema definition "oauth-authorization".
type Authorization struct {
	// AccessToken is the authorization's live access token. Its Token is
	// the full value only in the answer that issued it (create,
	// regenerate, login); later answers show a hint (prefix**********suffix).
	AccessToken *AuthorizationToken `json:"access_token"`
	// Client is the OAuth client it was granted to; nil for a direct one.
	Client      *AuthorizationClient `json:"client"`
	CreatedAt   time.Time            `json:"created_at"`
	Description string               `json:"description"`
	// Grant is a pending authorization code, nil when there is none.
	Grant        *AuthorizationGrant `json:"grant"`
	ID           string              `json:"id"`
	RefreshToken *AuthorizationToken `json:"refresh_token"`
	Scope        []string            `json:"scope"`
	// Session is the login session it was made through, for a CLI login.
	Session   *Ref              `json:"session"`
	UpdatedAt time.Time         `json:"updated_at"`
	User      AuthorizationUser `json:"user"`
}

// AuthorizationToken is an access or refresh token of an authorization.
type AuthorizationToken struct {
	// ExpiresIn is the seconds left; nil means it never expires.
	ExpiresIn *int64 `json:"expires_in"`
	ID        string `json:"id"`
	// Token is the value, or a hint of it once it was shown.
	Token string `json:"token"`
}

// Matches reports whether t is the token raw: its full value, or a hint
// (prefix**********suffix) of it, as lists show stored tokens.
func (t *AuthorizationToken) Matches(raw string) bool {
	if t == nil || raw == "" || t.Token == "" {
		return false
	}
	//secretcmp:ok a client matching a token it holds with its own listing; no server answers by it
	if t.Token == raw {
		return true
	}
	prefix, suffix, ok := strings.Cut(t.Token, "**********")
	return ok && prefix != "" && suffix != "" && len(raw) > len(prefix)+len(suffix) &&
		strings.HasPrefix(raw, prefix) && strings.HasSuffix(raw, suffix)
}

// AuthorizationClient names the client of an authorization.
type AuthorizationClient struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	RedirectURI string `json:"redirect_uri"`
}

// AuthorizationGrant is a pending authorization code.
type AuthorizationGrant struct {
	Code      string `json:"code"`
	ExpiresIn int64  `json:"expires_in"`
	ID        string `json:"id"`
}

// AuthorizationUser is the account an authorization belongs to.
type AuthorizationUser struct {
	ID       string  `json:"id"`
	Email    string  `json:"email"`
	FullName *string `json:"full_name"`
}

// Ref names a resource by id.
type Ref struct {
	ID string `json:"id"`
}

// AuthorizationCreate is the input to CreateAuthorization and Login.
type AuthorizationCreate struct {
	Description string `json:"description,omitempty"`
	// Scope defaults to ["global"] when empty.
	Scope []string `json:"scope,omitempty"`
	// ExpiresIn bounds the access token's life in seconds; nil: it never
	// expires (a CLI login still ends with its session).
	ExpiresIn *int `json:"expires_in,omitempty"`
	// Client, when set, records a consent to that OAuth client and answers
	// a grant code instead of tokens.
	Client string `json:"client,omitempty"`
}

// AuthorizationUpdate is the input to UpdateAuthorization.
type AuthorizationUpdate struct {
	Description *string `json:"description,omitempty"`
	// Client asks to move the authorization to another client, proving
	// that client with its secret. Keyhole refuses it (422): an
	// authorization stays with the client it was granted to.
	Client *ClientCredentials `json:"client,omitempty"`
}

// ClientCredentials are an OAuth client's id and secret.
type ClientCredentials struct {
	ID     string `json:"id,omitempty"`
	Secret string `json:"secret,omitempty"`
}

// CreateAuthorization makes a direct authorization of the token's account
// (POST /oauth/authorizations): a new token with the scopes asked for.
// The answer carries the full token, once.
func (c *Client) CreateAuthorization(ctx context.Context, in AuthorizationCreate) (*Authorization, error) {
	var out Authorization
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/authorizations", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Login signs in with an email and password, as the CLI's interactive
// login does: POST /oauth/authorizations with HTTP Basic credentials,
// which starts a CLI login session and answers its authorization with the
// full access token. An account with two-factor authentication answers an
// error for which IsTwoFactor is true; call Login again with the one-time
// code as otp (sent as Heroku-Two-Factor-Code). The Client's own token is
// not used.
func (c *Client) Login(ctx context.Context, email, password, otp string, in AuthorizationCreate) (*Authorization, error) {
	r := request{method: http.MethodPost, path: "/oauth/authorizations", body: in, basic: &[2]string{email, password}}
	if otp != "" {
		r.header = http.Header{"Heroku-Two-Factor-Code": {otp}}
	}
	var out Authorization
	if _, err := c.do(ctx, r, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Authorizations lists the account's authorizations, every page of them
// (GET /oauth/authorizations). opts may be nil.
func (c *Client) Authorizations(ctx context.Context, opts *ListOptions) ([]Authorization, error) {
	return list[Authorization](ctx, c, "/oauth/authorizations", opts, false)
}

// Authorization returns one authorization (GET /oauth/authorizations/{id});
// "~" names the account's API key.
func (c *Client) Authorization(ctx context.Context, id string) (*Authorization, error) {
	var out Authorization
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/oauth/authorizations/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAuthorization changes an authorization's description (PATCH
// /oauth/authorizations/{id}).
func (c *Client) UpdateAuthorization(ctx context.Context, id string, in AuthorizationUpdate) (*Authorization, error) {
	var out Authorization
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/oauth/authorizations/" + escape(id), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteAuthorization revokes an authorization and every token of it
// (DELETE /oauth/authorizations/{id}) and returns it as it was.
func (c *Client) DeleteAuthorization(ctx context.Context, id string) (*Authorization, error) {
	var out Authorization
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/oauth/authorizations/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegenerateAuthorization replaces an authorization's tokens with new ones
// (POST /oauth/authorizations/{id}/actions/regenerate-tokens); the old ones
// stop working at once. The answer carries the new token in full.
func (c *Client) RegenerateAuthorization(ctx context.Context, id string) (*Authorization, error) {
	var out Authorization
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/authorizations/" + escape(id) + "/actions/regenerate-tokens"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
