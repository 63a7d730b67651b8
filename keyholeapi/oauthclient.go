package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// OAuthClient is a registered OAuth client (schema definition
// "oauth-client"). A public client has no secret and must use PKCE.
type OAuthClient struct {
	CreatedAt         time.Time `json:"created_at"`
	ID                string    `json:"id"`
	IgnoresDelinquent *bool     `json:"ignores_delinquent"`
	Name              string    `json:"name"`
	RedirectURI       string    `json:"redirect_uri"`
	// PostLogoutRedirectURIs are where an OpenID Connect logout may send
	// the browser besides RedirectURI (Keyhole's addition).
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// Secret is "" for a public client.
	Secret    string    `json:"secret"`
	UpdatedAt time.Time `json:"updated_at"`
}

// OAuthClientCreate is the input to CreateClient.
type OAuthClientCreate struct {
	Name string `json:"name"`
	// RedirectURI must be https, or http on a loopback host.
	RedirectURI string `json:"redirect_uri"`
	// PostLogoutRedirectURIs follow the rules of RedirectURI, at most 10
	// (Keyhole's addition).
	PostLogoutRedirectURIs []string `json:"post_logout_redirect_uris,omitempty"`
	// Public registers a client without a secret (Keyhole's addition).
	Public bool `json:"public,omitempty"`
}

// OAuthClientUpdate is the input to UpdateClient; nil fields stay.
type OAuthClientUpdate struct {
	Name        *string `json:"name,omitempty"`
	RedirectURI *string `json:"redirect_uri,omitempty"`
	// PostLogoutRedirectURIs, when not nil, replaces the list; an empty
	// slice clears it.
	PostLogoutRedirectURIs *[]string `json:"post_logout_redirect_uris,omitempty"`
}

// CreateClient registers an OAuth client (POST /oauth/clients).
func (c *Client) CreateClient(ctx context.Context, in OAuthClientCreate) (*OAuthClient, error) {
	var out OAuthClient
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/clients", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Clients lists the account's OAuth clients, every page of them (GET
// /oauth/clients). opts may be nil.
func (c *Client) Clients(ctx context.Context, opts *ListOptions) ([]OAuthClient, error) {
	return list[OAuthClient](ctx, c, "/oauth/clients", opts, false)
}

// Client returns one of the account's OAuth clients with its secret (GET
// /oauth/clients/{id}).
func (c *Client) Client(ctx context.Context, id string) (*OAuthClient, error) {
	var out OAuthClient
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/oauth/clients/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateClient changes a client's name or redirect URI (PATCH
// /oauth/clients/{id}).
func (c *Client) UpdateClient(ctx context.Context, id string, in OAuthClientUpdate) (*OAuthClient, error) {
	var out OAuthClient
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/oauth/clients/" + escape(id), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteClient deletes a client and revokes everything issued to it
// (DELETE /oauth/clients/{id}); it returns the client as it was.
func (c *Client) DeleteClient(ctx context.Context, id string) (*OAuthClient, error) {
	var out OAuthClient
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/oauth/clients/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RotateClientCredentials gives a confidential client a new secret (POST
// /oauth/clients/{id}/actions/rotate-credentials); the old one stops
// working at once.
func (c *Client) RotateClientCredentials(ctx context.Context, id string) (*OAuthClient, error) {
	var out OAuthClient
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/clients/" + escape(id) + "/actions/rotate-credentials"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
