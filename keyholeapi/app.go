package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// App is an app the account owns or may see (schema definitions "app"
// and "team-app"), the resource the read, write and *-protected scopes
// guard.
type App struct {
	ACM        bool       `json:"acm"`
	ArchivedAt *time.Time `json:"archived_at"`
	BuildStack Named      `json:"build_stack"`
	CreatedAt  time.Time  `json:"created_at"`
	ID         string     `json:"id"`
	// Joined reports whether the caller is a collaborator of the app.
	Joined bool `json:"joined"`
	// Locked reports whether the app is a locked team app: the team's
	// members cannot join it.
	Locked bool `json:"locked"`
	// Maintenance reports whether the app is in maintenance mode.
	Maintenance bool     `json:"maintenance"`
	Name        string   `json:"name"`
	Owner       AppOwner `json:"owner"`
	Region      Named    `json:"region"`
	Stack       Named    `json:"stack"`
	// Team is the team that owns the app; nil for a personal app. The
	// Owner of a team app is the team too: its email is
	// <team>@herokumanager.com, as on Heroku.
	Team      *Named    `json:"team"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Named is a thing with an id and a name, such as a region or a stack.
type Named struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// AppOwner is the account that owns an app, or the team of a team app.
type AppOwner struct {
	Email string `json:"email"`
	ID    string `json:"id"`
}

// AppCreate is the input to CreateApp; nil fields take the defaults (a
// generated name, region "us", the newest stack).
type AppCreate struct {
	Name   *string `json:"name,omitempty"`
	Region *string `json:"region,omitempty"`
	Stack  *string `json:"stack,omitempty"`
}

// AppUpdate is the input to UpdateApp; nil fields stay.
type AppUpdate struct {
	Name        *string `json:"name,omitempty"`
	BuildStack  *string `json:"build_stack,omitempty"`
	Maintenance *bool   `json:"maintenance,omitempty"`
}

// CreateApp creates an app (POST /apps).
func (c *Client) CreateApp(ctx context.Context, in AppCreate) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/apps", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Apps lists every app the account can see — its own, those it
// collaborates on, its teams' — every page of them (GET /apps). opts may
// be nil.
func (c *Client) Apps(ctx context.Context, opts *ListOptions) ([]App, error) {
	return list[App](ctx, c, "/apps", opts, false)
}

// PersonalApps lists the personal apps (of no team) the account owns or
// collaborates on, every page of them (GET /users/~/apps). opts may be
// nil.
func (c *Client) PersonalApps(ctx context.Context, opts *ListOptions) ([]App, error) {
	return list[App](ctx, c, "/users/~/apps", opts, false)
}

// App returns an app by id or name (GET /apps/{app}).
func (c *Client) App(ctx context.Context, app string) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/apps/" + escape(app)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateApp changes an app (PATCH /apps/{app}).
func (c *Client) UpdateApp(ctx context.Context, app string, in AppUpdate) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/apps/" + escape(app), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteApp deletes an app and its config vars (DELETE /apps/{app}) and
// returns it as it was.
func (c *Client) DeleteApp(ctx context.Context, app string) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/apps/" + escape(app)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// ConfigVars returns an app's config vars (GET /apps/{app}/config-vars);
// the token needs global, read-protected or write-protected.
func (c *Client) ConfigVars(ctx context.Context, app string) (map[string]string, error) {
	out := map[string]string{}
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/apps/" + escape(app) + "/config-vars"}, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateConfigVars sets the config vars in changes and deletes those whose
// value is nil (PATCH /apps/{app}/config-vars), atomically, and returns
// the whole resulting set.
func (c *Client) UpdateConfigVars(ctx context.Context, app string, changes map[string]*string) (map[string]string, error) {
	out := map[string]string{}
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/apps/" + escape(app) + "/config-vars", body: changes}, &out); err != nil {
		return nil, err
	}
	return out, nil
}
