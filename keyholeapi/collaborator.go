package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// Collaborator is an account's access to an app it does not own (schema
// definitions "collaborator" and "team-app-collaborator").
type Collaborator struct {
	App       Named     `json:"app"`
	CreatedAt time.Time `json:"created_at"`
	ID        string    `json:"id"`
	// Permissions are what the collaborator may do on the app: view,
	// deploy, operate and manage.
	Permissions []Permission `json:"permissions"`
	// Role is the person's role in the app's team; empty for a personal
	// app, or somebody who is no member of the team.
	Role      string           `json:"role"`
	UpdatedAt time.Time        `json:"updated_at"`
	User      CollaboratorUser `json:"user"`
}

// CollaboratorUser is the account of a collaborator.
type CollaboratorUser struct {
	Email     string `json:"email"`
	Federated bool   `json:"federated"`
	ID        string `json:"id"`
}

// Permission is one right on a team app (schema definition
// "team-app-permission"): view, deploy, operate or manage.
type Permission struct {
	Name        string `json:"name"`
	Description string `json:"description"`
}

// PermissionEntity is who holds which permissions on one app of a team
// (schema definition "permission-entity").
type PermissionEntity struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	TeamID string `json:"team_id"`
	// Type is "app".
	Type  string           `json:"type"`
	Users []PermissionUser `json:"users"`
}

// PermissionUser is one person's permissions in a PermissionEntity.
type PermissionUser struct {
	Email       string   `json:"email"`
	ID          string   `json:"id"`
	Permissions []string `json:"permissions"`
}

// Permissions lists the app permissions with what each allows (GET
// /teams/permissions).
func (c *Client) Permissions(ctx context.Context) ([]Permission, error) {
	return list[Permission](ctx, c, "/teams/permissions", nil, false)
}

// TeamPermissions lists, for each app of a team, who holds which
// permissions (GET /teams/{team}/permissions).
func (c *Client) TeamPermissions(ctx context.Context, team string) ([]PermissionEntity, error) {
	return list[PermissionEntity](ctx, c, "/teams/"+escape(team)+"/permissions", nil, false)
}

func collaboratorsPath(app string) string { return "/apps/" + escape(app) + "/collaborators" }

func teamCollaboratorsPath(app string) string {
	return "/teams/apps/" + escape(app) + "/collaborators"
}

// collaborator sends one request about a collaborator.
func (c *Client) collaborator(ctx context.Context, method, path string, body any) (*Collaborator, error) {
	var out Collaborator
	if _, err := c.do(ctx, request{method: method, path: path, body: body}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Collaborators lists who has access to an app (GET
// /apps/{app}/collaborators), with their permissions.
func (c *Client) Collaborators(ctx context.Context, app string) ([]Collaborator, error) {
	return list[Collaborator](ctx, c, collaboratorsPath(app), nil, false)
}

// Collaborator returns a collaborator of an app by email or id (GET
// /apps/{app}/collaborators/{user}).
func (c *Client) Collaborator(ctx context.Context, app, user string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodGet, collaboratorsPath(app)+"/"+escape(user), nil)
}

// AddCollaborator gives the account user (email or id) access to an app
// (POST /apps/{app}/collaborators): on a personal app, view, deploy and
// operate; on a team app, view. Use AddTeamCollaborator to choose the
// permissions on a team app.
func (c *Client) AddCollaborator(ctx context.Context, app, user string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodPost, collaboratorsPath(app), struct {
		User string `json:"user"`
	}{user})
}

// RemoveCollaborator ends a collaborator's access, by email or id
// (DELETE /apps/{app}/collaborators/{user}), and returns it as it was.
func (c *Client) RemoveCollaborator(ctx context.Context, app, user string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodDelete, collaboratorsPath(app)+"/"+escape(user), nil)
}

// TeamCollaborators lists who has access to a team app (GET
// /teams/apps/{app}/collaborators).
func (c *Client) TeamCollaborators(ctx context.Context, app string) ([]Collaborator, error) {
	return list[Collaborator](ctx, c, teamCollaboratorsPath(app), nil, false)
}

// TeamCollaborator returns a collaborator of a team app by email (GET
// /teams/apps/{app}/collaborators/{email}).
func (c *Client) TeamCollaborator(ctx context.Context, app, email string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodGet, teamCollaboratorsPath(app)+"/"+escape(email), nil)
}

// AddTeamCollaborator gives the account user (email or id) the
// permissions on a team app (POST /teams/apps/{app}/collaborators); view
// is always among them, and nil permissions mean view alone. Permissions
// on a personal app are refused (invalid_params).
func (c *Client) AddTeamCollaborator(ctx context.Context, app, user string, permissions []string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodPost, teamCollaboratorsPath(app), struct {
		User        string   `json:"user"`
		Permissions []string `json:"permissions,omitempty"`
	}{user, permissions})
}

// UpdateCollaborator sets the permissions of a collaborator on a team
// app (PATCH /teams/apps/{app}/collaborators/{email}); view is always
// among them.
func (c *Client) UpdateCollaborator(ctx context.Context, app, email string, permissions []string) (*Collaborator, error) {
	if permissions == nil {
		permissions = []string{}
	}
	return c.collaborator(ctx, http.MethodPatch, teamCollaboratorsPath(app)+"/"+escape(email), struct {
		Permissions []string `json:"permissions"`
	}{permissions})
}

// RemoveTeamCollaborator ends a collaborator's access to a team app
// (DELETE /teams/apps/{app}/collaborators/{email}) and returns it as it
// was.
func (c *Client) RemoveTeamCollaborator(ctx context.Context, app, email string) (*Collaborator, error) {
	return c.collaborator(ctx, http.MethodDelete, teamCollaboratorsPath(app)+"/"+escape(email), nil)
}
