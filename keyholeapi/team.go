package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// Team is a group of accounts that own apps together (schema definition
// "team"), as the caller sees it.
type Team struct {
	CreatedAt time.Time `json:"created_at"`
	// Default reports whether this is the caller's default team.
	Default bool   `json:"default"`
	ID      string `json:"id"`
	// MembershipLimit is how many people the team may hold; nil when the
	// server sets no limit.
	MembershipLimit *float64 `json:"membership_limit"`
	Name            string   `json:"name"`
	// Role is the caller's role in the team: admin, member or viewer.
	Role string `json:"role"`
	// Type is "team" (or "enterprise" on Heroku).
	Type      string    `json:"type"`
	UpdatedAt time.Time `json:"updated_at"`
}

// TeamCreate is the input to CreateTeam.
type TeamCreate struct {
	Name string `json:"name"`
}

// TeamUpdate is the input to UpdateTeam; nil fields stay.
type TeamUpdate struct {
	Name    *string `json:"name,omitempty"`
	Default *bool   `json:"default,omitempty"`
}

// TeamFeature is a switch of a team (schema definition "team-feature").
// Heroku's CLI looks at two: org-access-controls (app permissions) and
// team-invite-acceptance (people are invited rather than added).
type TeamFeature struct {
	CreatedAt     time.Time `json:"created_at"`
	Description   string    `json:"description"`
	DisplayName   string    `json:"display_name"`
	DocURL        string    `json:"doc_url"`
	Enabled       bool      `json:"enabled"`
	FeedbackEmail string    `json:"feedback_email"`
	ID            string    `json:"id"`
	Name          string    `json:"name"`
	State         string    `json:"state"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// TeamPreferences are a team's settings (schema definition
// "team-preferences").
type TeamPreferences struct {
	// DefaultPermission is the role of people who join without one being
	// named; nil means member.
	DefaultPermission *string `json:"default-permission"`
	AddonsControls    *bool   `json:"addons-controls"`
}

// TeamPreferencesUpdate is the input to UpdateTeamPreferences; nil
// fields stay.
type TeamPreferencesUpdate struct {
	DefaultPermission *string `json:"default-permission,omitempty"`
	AddonsControls    *bool   `json:"addons-controls,omitempty"`
}

// TeamAppCreate is the input to CreateTeamApp; nil fields take the
// defaults (a generated name, region "us", the newest stack, unlocked).
// Without a Team the app is the caller's own.
type TeamAppCreate struct {
	Name   *string `json:"name,omitempty"`
	Team   *string `json:"team,omitempty"`
	Locked *bool   `json:"locked,omitempty"`
	Region *string `json:"region,omitempty"`
	Stack  *string `json:"stack,omitempty"`
}

// TeamAppUpdate is the input to UpdateTeamApp: give one of the fields.
type TeamAppUpdate struct {
	// Locked locks (true) or unlocks a team app: the team's members may
	// not join a locked app.
	Locked *bool `json:"locked,omitempty"`
	// Owner transfers the app: to an account (email or id) or to a team
	// (name or id).
	Owner *string `json:"owner,omitempty"`
}

// Teams lists the teams the caller is a member of (GET /teams).
func (c *Client) Teams(ctx context.Context, opts *ListOptions) ([]Team, error) {
	return list[Team](ctx, c, "/teams", opts, false)
}

// CreateTeam creates a team with the caller as its admin (POST /teams).
func (c *Client) CreateTeam(ctx context.Context, in TeamCreate) (*Team, error) {
	var out Team
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/teams", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Team returns a team by id or name (GET /teams/{team}). A team the
// caller is not a member of is not found.
func (c *Client) Team(ctx context.Context, team string) (*Team, error) {
	var out Team
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/teams/" + escape(team)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTeam renames a team (PATCH /teams/{team}): admins only.
func (c *Client) UpdateTeam(ctx context.Context, team string, in TeamUpdate) (*Team, error) {
	var out Team
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/teams/" + escape(team), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteTeam deletes a team that owns no apps (DELETE /teams/{team}) and
// returns it as it was: admins only.
func (c *Client) DeleteTeam(ctx context.Context, team string) (*Team, error) {
	var out Team
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/teams/" + escape(team)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TeamFeatures lists a team's features (GET /teams/{team}/features).
func (c *Client) TeamFeatures(ctx context.Context, team string) ([]TeamFeature, error) {
	return list[TeamFeature](ctx, c, "/teams/"+escape(team)+"/features", nil, false)
}

// TeamPreferences returns a team's preferences (GET
// /teams/{team}/preferences).
func (c *Client) TeamPreferences(ctx context.Context, team string) (*TeamPreferences, error) {
	var out TeamPreferences
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/teams/" + escape(team) + "/preferences"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTeamPreferences changes a team's preferences (PATCH
// /teams/{team}/preferences): admins only.
func (c *Client) UpdateTeamPreferences(ctx context.Context, team string, in TeamPreferencesUpdate) (*TeamPreferences, error) {
	var out TeamPreferences
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/teams/" + escape(team) + "/preferences", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// CreateTeamApp creates an app (POST /teams/apps): in the team in.Team
// names, which the caller must be an admin or a member of, or else the
// caller's own.
func (c *Client) CreateTeamApp(ctx context.Context, in TeamAppCreate) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/teams/apps", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TeamApp returns an app by id or name (GET /teams/apps/{app}).
func (c *Client) TeamApp(ctx context.Context, app string) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/teams/apps/" + escape(app)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateTeamApp locks or unlocks a team app, or transfers an app to an
// account or a team (PATCH /teams/apps/{app}).
func (c *Client) UpdateTeamApp(ctx context.Context, app string, in TeamAppUpdate) (*App, error) {
	var out App
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/teams/apps/" + escape(app), body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// TeamApps lists a team's apps (GET /teams/{team}/apps). opts may be
// nil.
func (c *Client) TeamApps(ctx context.Context, team string, opts *ListOptions) ([]App, error) {
	return list[App](ctx, c, "/teams/"+escape(team)+"/apps", opts, false)
}
