package keyholeapi

import (
	"context"
	"time"
)

// Event is one entry of the account's activity log: a sign-in, a change
// of password, email or two-factor authentication, a client or
// authorization made or revoked, a session ended. The public schema has
// no definition for it; the fields follow its conventions.
type Event struct {
	CreatedAt time.Time `json:"created_at"`
	// Description says the event in words, such as "Signed in".
	Description string `json:"description"`
	// Detail says more, such as a client's name or an authorization's
	// description; nil when there is nothing more.
	Detail *string `json:"detail"`
	ID     string  `json:"id"`
	// IP is the address the action came from; nil when unknown.
	IP *string `json:"ip"`
	// Subject is the id of what the event is about (a client, an
	// authorization, a session); nil when none.
	Subject *string `json:"subject"`
	// Type names the event, such as "login.succeeded", "login.failed" or
	// "authorization.revoked".
	Type string `json:"type"`
	// UserAgent is the program the action came from; nil when unknown.
	UserAgent *string `json:"user_agent"`
}

// Activity lists the account's activity log, newest first, every page of
// it (GET /account/activity, which needs the global scope). opts may be
// nil.
func (c *Client) Activity(ctx context.Context, opts *ListOptions) ([]Event, error) {
	return list[Event](ctx, c, "/account/activity", opts, true)
}
