package keyholeapi

import (
	"context"
	"net/http"
	"time"
)

// TeamMember is an account's membership of a team (schema definition
// "team-member").
type TeamMember struct {
	CreatedAt time.Time `json:"created_at"`
	Email     string    `json:"email"`
	Federated bool      `json:"federated"`
	ID        string    `json:"id"`
	// Role is admin, member or viewer.
	Role string `json:"role"`
	// TwoFactorAuthentication reports whether the member's account has
	// MFA on.
	TwoFactorAuthentication bool      `json:"two_factor_authentication"`
	UpdatedAt               time.Time `json:"updated_at"`
	User                    TeamUser  `json:"user"`
}

// TeamUser is an account as the team resources name it.
type TeamUser struct {
	Email string `json:"email"`
	ID    string `json:"id"`
	// Name is nil when the account has none.
	Name *string `json:"name"`
}

// TeamMemberInput is the body of PutMember, CreateMember and
// UpdateMember.
type TeamMemberInput struct {
	Email string `json:"email"`
	// Role is admin, member or viewer.
	Role string `json:"role"`
}

// TeamInvitation asks somebody to join a team (schema definition
// "team-invitation"). Keyhole invites addresses that have no account
// yet: the mail asks them to sign up and join.
type TeamInvitation struct {
	CreatedAt time.Time `json:"created_at"`
	ID        string    `json:"id"`
	InvitedBy TeamUser  `json:"invited_by"`
	Team      Named     `json:"team"`
	Role      string    `json:"role"`
	UpdatedAt time.Time `json:"updated_at"`
	// User is the address invited; its id is empty while nobody has an
	// account of that address.
	User TeamUser `json:"user"`
}

// TeamInvitationCreate is the input to Invite.
type TeamInvitationCreate struct {
	Email string `json:"email"`
	Role  string `json:"role"`
}

// Members lists a team's members (GET /teams/{team}/members). opts may
// be nil.
func (c *Client) Members(ctx context.Context, team string, opts *ListOptions) ([]TeamMember, error) {
	return list[TeamMember](ctx, c, "/teams/"+escape(team)+"/members", opts, false)
}

// MemberResult is what PutMember or CreateMember did: added the account
// of the address to the team or changed its role, or, for an address
// that has no account, mailed an invitation to sign up and join.
type MemberResult struct {
	// Member is the membership; for an invitation, the invitation's id,
	// email and role, with no user id.
	Member TeamMember
	// Invited reports that the address has no account and was invited
	// (the server answers 202 Accepted).
	Invited bool
}

// putMember sends in to /teams/{team}/members with method.
func (c *Client) putMember(ctx context.Context, method, team string, in TeamMemberInput) (*MemberResult, error) {
	var out MemberResult
	meta, err := c.do(ctx, request{method: method, path: "/teams/" + escape(team) + "/members", body: in}, &out.Member)
	if err != nil {
		return nil, err
	}
	out.Invited = meta.status == http.StatusAccepted
	return &out, nil
}

// PutMember adds somebody to a team or changes their role (PUT
// /teams/{team}/members): admins only. An address without an account is
// invited instead.
func (c *Client) PutMember(ctx context.Context, team string, in TeamMemberInput) (*MemberResult, error) {
	return c.putMember(ctx, http.MethodPut, team, in)
}

// CreateMember adds somebody to a team (POST /teams/{team}/members), or
// invites an address without an account; it fails with conflict for a
// member: admins only.
func (c *Client) CreateMember(ctx context.Context, team string, in TeamMemberInput) (*MemberResult, error) {
	return c.putMember(ctx, http.MethodPost, team, in)
}

// UpdateMember changes the role of a member (PATCH
// /teams/{team}/members): admins only.
func (c *Client) UpdateMember(ctx context.Context, team string, in TeamMemberInput) (*TeamMember, error) {
	var out TeamMember
	if _, err := c.do(ctx, request{method: http.MethodPatch, path: "/teams/" + escape(team) + "/members", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RemoveMember takes a member, by email or id, out of a team (DELETE
// /teams/{team}/members/{member}) and returns the membership as it was.
// Admins remove anybody; anybody may leave.
func (c *Client) RemoveMember(ctx context.Context, team, member string) (*TeamMember, error) {
	var out TeamMember
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/teams/" + escape(team) + "/members/" + escape(member)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// MemberApps lists the team's apps a member, by email or id, has access
// to (GET /teams/{team}/members/{member}/apps).
func (c *Client) MemberApps(ctx context.Context, team, member string) ([]App, error) {
	return list[App](ctx, c, "/teams/"+escape(team)+"/members/"+escape(member)+"/apps", nil, false)
}

// Invitations lists a team's pending invitations (GET
// /teams/{team}/invitations).
func (c *Client) Invitations(ctx context.Context, team string) ([]TeamInvitation, error) {
	return list[TeamInvitation](ctx, c, "/teams/"+escape(team)+"/invitations", nil, false)
}

// Invite invites an address into a team by mail (PUT
// /teams/{team}/invitations): admins only.
func (c *Client) Invite(ctx context.Context, team string, in TeamInvitationCreate) (*TeamInvitation, error) {
	var out TeamInvitation
	if _, err := c.do(ctx, request{method: http.MethodPut, path: "/teams/" + escape(team) + "/invitations", body: in}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RevokeInvitation deletes a team's invitation, by the email invited or
// the invitation's id (DELETE /teams/{team}/invitations/{invitation}),
// and returns it as it was: admins only.
func (c *Client) RevokeInvitation(ctx context.Context, team, invitation string) (*TeamInvitation, error) {
	var out TeamInvitation
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/teams/" + escape(team) + "/invitations/" + escape(invitation)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Invitation returns the invitation of a mailed link's token (GET
// /teams/invitations/{token}).
func (c *Client) Invitation(ctx context.Context, token string) (*TeamInvitation, error) {
	var out TeamInvitation
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/teams/invitations/" + escape(token)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// AcceptInvitation makes the caller a member of the team of a mailed
// link's token (POST /teams/invitations/{token}/accept).
func (c *Client) AcceptInvitation(ctx context.Context, token string) (*TeamMember, error) {
	var out TeamMember
	if _, err := c.do(ctx, request{method: http.MethodPost, path: "/teams/invitations/" + escape(token) + "/accept"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
