package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// Account is the account the token acts for (schema definition
// "account").
type Account struct {
	AllowTracking bool      `json:"allow_tracking"`
	Beta          bool      `json:"beta"`
	CreatedAt     time.Time `json:"created_at"`
	Email         string    `json:"email"`
	Federated     bool      `json:"federated"`
	ID            string    `json:"id"`
	// LastLogin is nil when the account never logged in.
	LastLogin *time.Time `json:"last_login"`
	// Name is nil when the account has none.
	Name *string `json:"name"`
	// TwoFactorAuthentication reports whether the account has MFA on.
	TwoFactorAuthentication bool      `json:"two_factor_authentication"`
	UpdatedAt               time.Time `json:"updated_at"`
	Verified                bool      `json:"verified"`
}

// AccountUpdate changes the account. Nil fields are left as they are.
// Changing the email or the password needs the current password.
type AccountUpdate struct {
	Name  *string `json:"name,omitempty"`
	Email *string `json:"email,omitempty"`
	// NewPassword changes the password; every other authorization and
	// session of the account ends and a new API key is made.
	NewPassword *string `json:"new_password,omitempty"`
	// Password is the current password, needed for Email and NewPassword.
	Password string `json:"password,omitempty"`
}

// RateLimit is how many API calls the account has left (schema definition
// "rate-limit").
type RateLimit struct {
	Remaining int `json:"remaining"`
}

// Account returns the account the token acts for (GET /account). Any
// scope that includes identity may read it.
func (c *Client) Account(ctx context.Context) (*Account, error) {
	var out Account
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/account"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateAccount changes the account (PATCH /account) and returns it.
func (c *Client) UpdateAccount(ctx context.Context, u AccountUpdate) (*Account, error) {
	var out Account
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/account", body: u}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RateLimits returns how many calls the account has left (GET
// /account/rate-limits, which costs none).
func (c *Client) RateLimits(ctx context.Context) (*RateLimit, error) {
	var out RateLimit
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/account/rate-limits"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
