package keyhole

import (
	"slices"
	"time"
)

// TeamRole is what a member may do in a team (Heroku Teams).
type TeamRole string

// The roles a member of a team can be given.
const (
	// RoleAdmin manages the team, its members and every team app, and
	// holds every app permission on each of them.
	RoleAdmin TeamRole = "admin"
	// RoleMember sees the team's apps and people, and creates apps.
	RoleMember TeamRole = "member"
	// RoleViewer sees the team's apps and people, and changes nothing.
	RoleViewer TeamRole = "viewer"
)

// TeamRoles are the roles, from the most to the least allowed.
var TeamRoles = []TeamRole{RoleAdmin, RoleMember, RoleViewer}

// Valid reports whether r is one of TeamRoles.
func (r TeamRole) Valid() bool { return slices.Contains(TeamRoles, r) }

// Permission is one right on an app, given to a collaborator.
type Permission string

// The app permissions. View is implied by each of the others.
const (
	PermView    Permission = "view"
	PermDeploy  Permission = "deploy"
	PermOperate Permission = "operate"
	PermManage  Permission = "manage"
)

// Permissions are the app permissions in their order, with what each
// allows in words (the API's team-app-permission descriptions).
var Permissions = []struct {
	Name        Permission
	Description string
}{
	{PermView, "Can see the app, its settings and who has access to it."},
	{PermDeploy, "Can read and change the app's config vars and deploy it."},
	{PermOperate, "Can run the app's processes: maintenance mode, restarts, scaling."},
	{PermManage, "Can rename, delete, transfer and lock the app, and manage who has access to it."},
}

// Valid reports whether p is one of Permissions.
func (p Permission) Valid() bool {
	for _, q := range Permissions {
		if q.Name == p {
			return true
		}
	}
	return false
}

// AllPermissions is every permission, in order: what an app's owner and
// its team's admins hold.
func AllPermissions() []Permission {
	out := make([]Permission, len(Permissions))
	for i, p := range Permissions {
		out[i] = p.Name
	}
	return out
}

// PersonalPermissions is what a collaborator on a personal (not team)
// app holds: everything but managing it, which stays with its owner.
var PersonalPermissions = []Permission{PermView, PermDeploy, PermOperate}

// NormalPermissions returns ps with view added, without duplicates, in
// the order of Permissions. It does not check that each is valid.
func NormalPermissions(ps []Permission) []Permission {
	out := []Permission{}
	for _, p := range AllPermissions() {
		if p == PermView || slices.Contains(ps, p) {
			out = append(out, p)
		}
	}
	return out
}

// Team is a group of accounts that own apps together.
type Team struct {
	ID   string
	Name string
	// DefaultRole is the role of people who join without one being
	// named (the team preference default-permission); "" means member.
	DefaultRole TeamRole
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Member is an account's membership of a team. Email, Name and
// MFAEnabled are the account's, as the store reads them with it.
type Member struct {
	ID         string
	TeamID     string
	AccountID  string
	Role       TeamRole
	CreatedAt  time.Time
	UpdatedAt  time.Time
	Email      string
	Name       string
	MFAEnabled bool
}

// Invitation asks somebody who has no account yet to sign up and join a
// team. It is a mailed link: the row keeps the hash of its secret.
type Invitation struct {
	ID     string
	TeamID string
	// Email is the address invited, as given.
	Email string
	Role  TeamRole
	// InvitedBy is the account that sent it.
	InvitedBy string
	Hash      string
	CreatedAt time.Time
	UpdatedAt time.Time
	ExpiresAt time.Time
}

// Collaborator is an account's grant of permissions on one app it does
// not own. Email and Name are the account's, as the store reads them.
type Collaborator struct {
	ID          string
	AppID       string
	AccountID   string
	Permissions []Permission
	CreatedAt   time.Time
	UpdatedAt   time.Time
	Email       string
	Name        string
}

// Has reports whether the grant holds p.
func (c Collaborator) Has(p Permission) bool { return slices.Contains(c.Permissions, p) }
