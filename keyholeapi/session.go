package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// Session is a login session: a browser's, or a CLI login's.
type Session struct {
	CreatedAt   time.Time `json:"created_at"`
	Description string    `json:"description"`
	// ExpiresIn is the seconds until the session ends.
	ExpiresIn int64  `json:"expires_in"`
	ID        string `json:"id"`
}

// Sessions lists the account's live login sessions, every page of them
// (GET /oauth/sessions). opts may be nil.
func (c *Client) Sessions(ctx context.Context, opts *ListOptions) ([]Session, error) {
	return list[Session](ctx, c, "/oauth/sessions", opts, false)
}

// DeleteSession ends a login session and every authorization made through
// it (DELETE /oauth/sessions/{id}); "~" names the session the Client's
// token belongs to. It returns the session as it was.
func (c *Client) DeleteSession(ctx context.Context, id string) (*Session, error) {
	var out Session
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/oauth/sessions/" + escape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
