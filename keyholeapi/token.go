package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// Grant types of TokenCreate.
const (
	GrantAuthorizationCode = "authorization_code"
	GrantRefreshToken      = "refresh_token"
)

// TokenCreate exchanges a grant code or a refresh token for tokens, the
// API twin of the OAuth token endpoint (POST /oauth/tokens). The client
// proves itself with its secret; no token is needed.
type TokenCreate struct {
	Client       ClientCredentials `json:"client"`
	Grant        TokenGrant        `json:"grant"`
	RefreshToken *RefreshToken     `json:"refresh_token,omitempty"`
}

// TokenGrant names the grant being exchanged.
type TokenGrant struct {
	// Code is the authorization code, for GrantAuthorizationCode.
	Code string `json:"code,omitempty"`
	// Type is GrantAuthorizationCode or GrantRefreshToken.
	Type string `json:"type"`
}

// RefreshToken is a refresh token to exchange.
type RefreshToken struct {
	Token string `json:"token"`
}

// OAuthToken is the answer of CreateToken (schema definition
// "oauth-token").
type OAuthToken struct {
	AccessToken   AuthorizationToken  `json:"access_token"`
	Authorization Ref                 `json:"authorization"`
	CreatedAt     time.Time           `json:"created_at"`
	Grant         TokenGrant          `json:"grant"`
	ID            string              `json:"id"`
	RefreshToken  *AuthorizationToken `json:"refresh_token"`
	Session       *Ref                `json:"session"`
	UpdatedAt     time.Time           `json:"updated_at"`
	User          Ref                 `json:"user"`
}

// CreateToken exchanges a grant code or refresh token (POST
// /oauth/tokens). It sends no bearer token.
func (c *Client) CreateToken(ctx context.Context, in TokenCreate) (*OAuthToken, error) {
	var out OAuthToken
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/oauth/tokens", body: in, noAuth: true}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
