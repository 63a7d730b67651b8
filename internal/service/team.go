package service

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/token"
)

// Team rules. A team's name follows the rule of app names; a team keeps
// at least one admin (the store checks it with each change); admins
// change the team and its members; every member, viewer or admin sees the
// team, its people and its apps; an account that is no member is told
// that the team does not exist.

var teamNamePattern = regexp.MustCompile(`^[a-z][a-z0-9-]{1,28}[a-z0-9]$`)

const (
	// InvitationTTL is how long a mailed team invitation can be accepted.
	InvitationTTL = 7 * 24 * time.Hour
	// InvitationPath is the page an invitation link opens.
	InvitationPath = "/teams/invitations/accept"
)

// TeamFeature is a switch of a team (Heroku's team features) that
// clients look at: Keyhole lists the ones whose behaviour it has.
type TeamFeature struct {
	ID, Name, DisplayName, Description string
	Enabled                            bool
}

// TeamFeatures are the features every team has. org-access-controls is
// on: team apps have fine-grained permissions. team-invite-acceptance is
// off: adding a person who has an account makes them a member at once
// (a person without one is invited by mail either way).
var TeamFeatures = []TeamFeature{
	{ID: "2f0e6d3b-5a4e-4c3b-9d7a-0c9b1e6f4a21", Name: "org-access-controls", DisplayName: "App permissions",
		Description: "Give each collaborator on a team app only the permissions they need: view, deploy, operate, manage.", Enabled: true},
	{ID: "8b1c4e7a-2d3f-4a6b-8c9d-1e2f3a4b5c6d", Name: "team-invite-acceptance", DisplayName: "Invitation acceptance",
		Description: "People with an account must accept an invitation before they join a team.", Enabled: false},
}

// TeamInfo is a team with the actor's role in it.
type TeamInfo struct {
	keyhole.Team
	Role keyhole.TeamRole
}

// teamFor returns the team with the id or name and the actor's role in
// it. A team the actor is no member of is NotFound.
func (s *Service) teamFor(ctx context.Context, actor Actor, idOrName string) (keyhole.Team, keyhole.TeamRole, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Team{}, "", err
	}
	var t keyhole.Team
	var err error
	switch {
	case validID(idOrName):
		t, err = s.store.Team(ctx, idOrName)
	case teamNamePattern.MatchString(idOrName):
		t, err = s.store.TeamByName(ctx, idOrName)
	default:
		return keyhole.Team{}, "", keyhole.NotFoundError("team")
	}
	if err != nil {
		return keyhole.Team{}, "", storeErr(err, "team")
	}
	m, err := s.store.Member(ctx, t.ID, actor.AccountID)
	if err != nil {
		return keyhole.Team{}, "", storeErr(err, "team")
	}
	return t, m.Role, nil
}

// adminOf is teamFor for what only a team's admins may do.
func (s *Service) adminOf(ctx context.Context, actor Actor, idOrName string) (keyhole.Team, error) {
	t, role, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return keyhole.Team{}, err
	}
	if role != keyhole.RoleAdmin {
		return keyhole.Team{}, keyhole.Errorf(keyhole.Forbidden, "Only admins of team %s can do that.", t.Name)
	}
	return t, nil
}

func teamErr(err error, name string) error {
	if errors.Is(err, store.ErrConflict) {
		return &keyhole.Error{Code: keyhole.Conflict, Message: "The team name " + quote(name) + " is already taken.", Err: err}
	}
	return storeErr(err, "team")
}

// reservedTeamNames are the words of the API's paths under /teams/.
var reservedTeamNames = map[string]bool{"apps": true, "invitations": true, "permissions": true}

func checkTeamName(name string) error {
	if !teamNamePattern.MatchString(name) {
		return keyhole.Errorf(keyhole.Invalid, "Team names start with a letter, end with a letter or digit, and use only lowercase letters, digits and dashes (3 to 30 characters).")
	}
	if reservedTeamNames[name] {
		return keyhole.Errorf(keyhole.Invalid, "The team name %s is reserved: choose another.", quote(name))
	}
	return nil
}

// defaultRole is the role of somebody added without one being named: the
// team's default-permission preference, or member.
func defaultRole(t keyhole.Team) keyhole.TeamRole {
	if t.DefaultRole != "" {
		return t.DefaultRole
	}
	return keyhole.RoleMember
}

func parseRole(r string) (keyhole.TeamRole, error) {
	role := keyhole.TeamRole(r)
	if !role.Valid() {
		return "", keyhole.Errorf(keyhole.Invalid, "Unknown role %s: roles are admin, member and viewer.", quote(r))
	}
	return role, nil
}

// CreateTeam creates a team with the actor as its first admin.
func (s *Service) CreateTeam(ctx context.Context, actor Actor, name string) (TeamInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return TeamInfo{}, err
	}
	if err := checkTeamName(name); err != nil {
		return TeamInfo{}, err
	}
	now := s.clock()
	t := keyhole.Team{ID: newID(), Name: name, CreatedAt: now, UpdatedAt: now}
	m := keyhole.Member{ID: newID(), TeamID: t.ID, AccountID: actor.AccountID, Role: keyhole.RoleAdmin, CreatedAt: now, UpdatedAt: now}
	if err := s.store.CreateTeam(ctx, t, m, s.event(actor.AccountID, keyhole.EventTeamCreated, actor.origin(), t.ID, t.Name)); err != nil {
		return TeamInfo{}, teamErr(err, name)
	}
	s.log.InfoContext(ctx, "team created", "account_id", actor.AccountID, "team_id", t.ID)
	return TeamInfo{Team: t, Role: keyhole.RoleAdmin}, nil
}

// Teams lists the teams the actor is a member of, with its role in each.
func (s *Service) Teams(ctx context.Context, actor Actor) ([]TeamInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	list, err := s.store.ListTeams(ctx, actor.AccountID)
	if err != nil {
		return nil, storeErr(err, "team")
	}
	out := make([]TeamInfo, len(list))
	for i, tr := range list {
		out[i] = TeamInfo{Team: tr.Team, Role: tr.Role}
	}
	return out, nil
}

// Team returns a team the actor is a member of, by id or name.
func (s *Service) Team(ctx context.Context, actor Actor, idOrName string) (TeamInfo, error) {
	t, role, err := s.teamFor(ctx, actor, idOrName)
	return TeamInfo{Team: t, Role: role}, err
}

// TeamUpdate is the input to UpdateTeam; nil fields are left alone.
type TeamUpdate struct {
	Name *string
	// DefaultRole is the default-permission preference; "" clears it.
	DefaultRole *string
}

// UpdateTeam renames a team or sets its default role: admins only.
func (s *Service) UpdateTeam(ctx context.Context, actor Actor, idOrName string, u TeamUpdate) (TeamInfo, error) {
	t, err := s.adminOf(ctx, actor, idOrName)
	if err != nil {
		return TeamInfo{}, err
	}
	if u.Name != nil {
		if err := checkTeamName(*u.Name); err != nil {
			return TeamInfo{}, err
		}
	}
	var role keyhole.TeamRole
	if u.DefaultRole != nil && *u.DefaultRole != "" {
		if role, err = parseRole(*u.DefaultRole); err != nil {
			return TeamInfo{}, err
		}
	}
	var what []string
	t, err = s.store.UpdateTeam(ctx, t.ID, func(t *keyhole.Team) error {
		if u.Name != nil && *u.Name != t.Name {
			what = append(what, "renamed from "+t.Name+" to "+*u.Name)
			t.Name = *u.Name
		}
		if u.DefaultRole != nil && role != t.DefaultRole {
			what = append(what, "default role "+string(role))
			t.DefaultRole = role
		}
		t.UpdatedAt = s.clock()
		return nil
	}, s.event(actor.AccountID, keyhole.EventTeamChanged, actor.origin(), t.ID, t.Name))
	if err != nil {
		name := ""
		if u.Name != nil {
			name = *u.Name
		}
		return TeamInfo{}, teamErr(err, name)
	}
	s.log.InfoContext(ctx, "team changed", "account_id", actor.AccountID, "team_id", t.ID, "change", strings.Join(what, "; "))
	return TeamInfo{Team: t, Role: keyhole.RoleAdmin}, nil
}

// DeleteTeam deletes a team with its memberships and invitations: admins
// only, and only once it owns no app.
func (s *Service) DeleteTeam(ctx context.Context, actor Actor, idOrName string) (TeamInfo, error) {
	t, err := s.adminOf(ctx, actor, idOrName)
	if err != nil {
		return TeamInfo{}, err
	}
	err = s.store.DeleteTeam(ctx, t.ID, s.event(actor.AccountID, keyhole.EventTeamDeleted, actor.origin(), t.ID, t.Name))
	if errors.Is(err, store.ErrInUse) {
		return TeamInfo{}, keyhole.Errorf(keyhole.Invalid, "Team %s still owns apps: transfer or delete them before deleting the team.", t.Name)
	}
	if err != nil {
		return TeamInfo{}, storeErr(err, "team")
	}
	s.log.InfoContext(ctx, "team deleted", "account_id", actor.AccountID, "team_id", t.ID)
	return TeamInfo{Team: t, Role: keyhole.RoleAdmin}, nil
}

// Features lists the features of a team the actor is a member of.
func (s *Service) Features(ctx context.Context, actor Actor, idOrName string) ([]TeamFeature, error) {
	if _, _, err := s.teamFor(ctx, actor, idOrName); err != nil {
		return nil, err
	}
	return TeamFeatures, nil
}

// Members lists the members of a team the actor is a member of.
func (s *Service) Members(ctx context.Context, actor Actor, idOrName string) ([]keyhole.Member, error) {
	t, _, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Members(ctx, t.ID)
	return list, storeErr(err, "team member")
}

// MemberMode says what PutMember may do.
type MemberMode int

// The modes of PutMember: the API's PUT, POST and PATCH of team members.
const (
	MemberUpsert MemberMode = iota // add, or change the role of a member
	MemberCreate                   // add only
	MemberUpdate                   // change the role only
)

// MemberResult is what PutMember did: made or changed a membership, or,
// for an address that has no account, sent an invitation.
type MemberResult struct {
	Member     keyhole.Member
	Invitation *keyhole.Invitation
}

// PutMember adds somebody to a team or changes their role: admins only.
// No role named means the team's default role.
// An address without an account gets an invitation by mail to sign up
// and join; nobody's account is made for them.
func (s *Service) PutMember(ctx context.Context, actor Actor, idOrName, email, roleName string, mode MemberMode) (MemberResult, error) {
	t, err := s.adminOf(ctx, actor, idOrName)
	if err != nil {
		return MemberResult{}, err
	}
	if roleName == "" {
		roleName = string(defaultRole(t))
	}
	role, err := parseRole(roleName)
	if err != nil {
		return MemberResult{}, err
	}
	email = strings.TrimSpace(email)
	acct, err := s.person(ctx, actor, email)
	if keyhole.ErrorCode(err) == keyhole.NotFound {
		if mode == MemberUpdate {
			return MemberResult{}, keyhole.NotFoundError("team member")
		}
		inv, err := s.invite(ctx, actor, t, email, role)
		if err != nil {
			return MemberResult{}, err
		}
		return MemberResult{Invitation: &inv}, nil
	}
	if err != nil {
		return MemberResult{}, storeErr(err, "account")
	}
	cur, err := s.store.Member(ctx, t.ID, acct.ID)
	switch {
	case isNotFound(err) && mode == MemberUpdate:
		return MemberResult{}, keyhole.Errorf(keyhole.NotFound, "%s is not a member of team %s.", acct.Email, t.Name)
	case isNotFound(err):
		return s.addMember(ctx, actor, t, acct, role)
	case err != nil:
		return MemberResult{}, storeErr(err, "team member")
	case mode == MemberCreate:
		return MemberResult{}, keyhole.Errorf(keyhole.Conflict, "%s is already a member of team %s.", acct.Email, t.Name)
	case cur.Role == role:
		return MemberResult{Member: cur}, nil
	}
	what := fmt.Sprintf("%s is now %s of team %s (was %s)", acct.Email, article(role), t.Name, cur.Role)
	m, err := s.store.SetMemberRole(ctx, t.ID, acct.ID, role, s.clock(), s.teamEvents(actor, acct.ID, keyhole.EventMemberChanged, t, what)...)
	if err != nil {
		return MemberResult{}, memberErr(err, t)
	}
	s.tell(ctx, actor, acct, "your role in team "+t.Name+" changed", "Your role in the team "+t.Name+" on Keyhole is now "+string(role)+" (it was "+string(cur.Role)+").")
	return MemberResult{Member: m}, nil
}

func (s *Service) addMember(ctx context.Context, actor Actor, t keyhole.Team, acct keyhole.Account, role keyhole.TeamRole) (MemberResult, error) {
	now := s.clock()
	m := keyhole.Member{ID: newID(), TeamID: t.ID, AccountID: acct.ID, Role: role, CreatedAt: now, UpdatedAt: now,
		Email: acct.Email, Name: acct.Name, MFAEnabled: acct.MFAEnabled}
	what := fmt.Sprintf("%s added to team %s as %s", acct.Email, t.Name, role)
	if err := s.store.AddMember(ctx, m, s.teamEvents(actor, acct.ID, keyhole.EventMemberAdded, t, what)...); err != nil {
		if errors.Is(err, store.ErrConflict) {
			return MemberResult{}, keyhole.Errorf(keyhole.Conflict, "%s is already a member of team %s.", acct.Email, t.Name)
		}
		return MemberResult{}, storeErr(err, "team member")
	}
	s.tell(ctx, actor, acct, "you were added to team "+t.Name, "You were added to the team "+t.Name+" on Keyhole as "+article(role)+".")
	return MemberResult{Member: m}, nil
}

func article(r keyhole.TeamRole) string {
	if r == keyhole.RoleAdmin {
		return "an admin"
	}
	return "a " + string(r)
}

func memberErr(err error, t keyhole.Team) error {
	if errors.Is(err, store.ErrLastAdmin) {
		return &keyhole.Error{Code: keyhole.Invalid, Message: "Team " + t.Name + " needs at least one admin: make somebody else an admin first.", Err: err}
	}
	return storeErr(err, "team member")
}

// teamEvents records a change of a person in a team on the actor's log
// and, when it is somebody else, on theirs.
func (s *Service) teamEvents(actor Actor, affected string, typ keyhole.EventType, t keyhole.Team, what string) []keyhole.Event {
	ev := []keyhole.Event{s.event(actor.AccountID, typ, actor.origin(), t.ID, what)}
	if affected != "" && affected != actor.AccountID {
		ev = append(ev, s.event(affected, typ, actor.origin(), t.ID, what))
	}
	return ev
}

// tell mails the affected person a security notice, unless they made
// the change themselves.
func (s *Service) tell(ctx context.Context, actor Actor, to keyhole.Account, subject, what string) {
	if to.ID == actor.AccountID {
		return
	}
	s.notify(ctx, to.Email, subject, actor.origin(), what)
}

// member finds the team's member by email or account id.
func (s *Service) member(ctx context.Context, t keyhole.Team, emailOrID string) (keyhole.Member, error) {
	var acct keyhole.Account
	var err error
	if validID(emailOrID) {
		acct, err = s.store.Account(ctx, emailOrID)
	} else {
		acct, err = s.store.AccountByEmail(ctx, strings.TrimSpace(emailOrID))
	}
	if err != nil {
		return keyhole.Member{}, storeErr(err, "team member")
	}
	m, err := s.store.Member(ctx, t.ID, acct.ID)
	return m, storeErr(err, "team member")
}

// RemoveMember takes somebody out of a team, with their grants on the
// team's apps: admins remove anybody, anybody removes themselves (leaves),
// and the last admin stays.
func (s *Service) RemoveMember(ctx context.Context, actor Actor, idOrName, emailOrID string) (keyhole.Member, error) {
	t, role, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return keyhole.Member{}, err
	}
	m, err := s.member(ctx, t, emailOrID)
	if err != nil {
		return keyhole.Member{}, err
	}
	if role != keyhole.RoleAdmin && m.AccountID != actor.AccountID {
		return keyhole.Member{}, keyhole.Errorf(keyhole.Forbidden, "Only admins of team %s can remove other members.", t.Name)
	}
	what := fmt.Sprintf("%s removed from team %s", m.Email, t.Name)
	m, err = s.store.RemoveMember(ctx, t.ID, m.AccountID, s.teamEvents(actor, m.AccountID, keyhole.EventMemberRemoved, t, what)...)
	if err != nil {
		return keyhole.Member{}, memberErr(err, t)
	}
	s.tell(ctx, actor, keyhole.Account{ID: m.AccountID, Email: m.Email}, "you were removed from team "+t.Name,
		"You were removed from the team "+t.Name+" on Keyhole, with your access to its apps.")
	s.log.InfoContext(ctx, "team member removed", "account_id", actor.AccountID, "team_id", t.ID, "member_id", m.AccountID)
	return m, nil
}

// MemberApps lists the team's apps the member has access to: every one
// for an admin, those they collaborate on for the others.
func (s *Service) MemberApps(ctx context.Context, actor Actor, idOrName, emailOrID string) ([]AppInfo, error) {
	t, _, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	m, err := s.member(ctx, t, emailOrID)
	if err != nil {
		return nil, err
	}
	var apps []keyhole.App
	if m.Role == keyhole.RoleAdmin {
		apps, err = s.store.ListTeamApps(ctx, t.ID, store.Range{Field: "name"})
	} else {
		apps, err = s.store.CollaboratorApps(ctx, t.ID, m.AccountID)
	}
	if err != nil {
		return nil, storeErr(err, "app")
	}
	return s.appInfos(ctx, actor, apps...)
}

// TeamApps lists a team's apps, one page of r.
func (s *Service) TeamApps(ctx context.Context, actor Actor, idOrName string, r store.Range) ([]AppInfo, error) {
	t, _, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	apps, err := s.store.ListTeamApps(ctx, t.ID, r)
	if err != nil {
		return nil, storeErr(err, "app")
	}
	return s.appInfos(ctx, actor, apps...)
}

// invite mails an invitation to join t, or a new one in place of the
// address's earlier invitation (whose link then stops working).
func (s *Service) invite(ctx context.Context, actor Actor, t keyhole.Team, email string, role keyhole.TeamRole) (keyhole.Invitation, error) {
	email, err := normalizeEmail(email)
	if err != nil {
		return keyhole.Invitation{}, err
	}
	if _, err := s.throttles.invite.reserve(ctx, email, actor.IP); err != nil {
		return keyhole.Invitation{}, err
	}
	inviter, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		return keyhole.Invitation{}, storeErr(err, "account")
	}
	raw := token.New(token.Invitation)
	now := s.clock()
	inv := keyhole.Invitation{ID: newID(), TeamID: t.ID, Email: email, Role: role, InvitedBy: actor.AccountID,
		Hash: token.Hash(raw.Reveal()), CreatedAt: now, UpdatedAt: now, ExpiresAt: now.Add(InvitationTTL)}
	inv, err = s.store.PutInvitation(ctx, inv, s.event(actor.AccountID, keyhole.EventInvitationSent, actor.origin(), t.ID, email+" invited to team "+t.Name+" as "+string(role)))
	if err != nil {
		return keyhole.Invitation{}, storeErr(err, "invitation")
	}
	link := s.issuer + InvitationPath + "?token=" + raw.Reveal()
	s.send(ctx, email, "Keyhole: you are invited to join the team "+t.Name,
		inviter.Email+" invites you to join the team "+t.Name+" on Keyhole as "+article(role)+".\n\n"+
			"Open this link to sign up (or sign in, if you have an account with this address) and join; it works for 7 days:\n"+link+
			"\n\nIf you did not expect this, ignore this mail: nothing happens unless you open the link.")
	s.log.InfoContext(ctx, "team invitation sent", "account_id", actor.AccountID, "team_id", t.ID, "invitation_id", inv.ID)
	return inv, nil
}

// Invite invites an address into a team by mail: admins only.
func (s *Service) Invite(ctx context.Context, actor Actor, idOrName, email, roleName string) (InvitationInfo, error) {
	t, err := s.adminOf(ctx, actor, idOrName)
	if err != nil {
		return InvitationInfo{}, err
	}
	if roleName == "" {
		roleName = string(defaultRole(t))
	}
	role, err := parseRole(roleName)
	if err != nil {
		return InvitationInfo{}, err
	}
	inv, err := s.invite(ctx, actor, t, email, role)
	if err != nil {
		return InvitationInfo{}, err
	}
	by, err := s.store.Account(ctx, actor.AccountID)
	return InvitationInfo{Invitation: inv, Team: t, InvitedBy: by}, storeErr(err, "account")
}

// Invitations lists a team's pending invitations (expired ones left out),
// each with who sent it.
func (s *Service) Invitations(ctx context.Context, actor Actor, idOrName string) ([]InvitationInfo, error) {
	t, _, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Invitations(ctx, t.ID)
	if err != nil {
		return nil, storeErr(err, "invitation")
	}
	now := s.clock()
	by := map[string]keyhole.Account{}
	out := []InvitationInfo{}
	for _, inv := range list {
		if !inv.ExpiresAt.After(now) {
			continue
		}
		a, ok := by[inv.InvitedBy]
		if !ok {
			if a, err = s.store.Account(ctx, inv.InvitedBy); err != nil && !isNotFound(err) {
				return nil, storeErr(err, "invitation")
			}
			by[inv.InvitedBy] = a
		}
		out = append(out, InvitationInfo{Invitation: inv, Team: t, InvitedBy: a})
	}
	return out, nil
}

// RevokeInvitation deletes a team's invitation of the email (or with the
// id): admins only. Its link stops working.
func (s *Service) RevokeInvitation(ctx context.Context, actor Actor, idOrName, emailOrID string) (InvitationInfo, error) {
	t, err := s.adminOf(ctx, actor, idOrName)
	if err != nil {
		return InvitationInfo{}, err
	}
	email := strings.TrimSpace(emailOrID)
	if validID(emailOrID) {
		list, err := s.store.Invitations(ctx, t.ID)
		if err != nil {
			return InvitationInfo{}, storeErr(err, "invitation")
		}
		email = ""
		for _, inv := range list {
			if inv.ID == emailOrID {
				email = inv.Email
			}
		}
		if email == "" {
			return InvitationInfo{}, keyhole.NotFoundError("invitation")
		}
	}
	inv, err := s.store.DeleteInvitation(ctx, t.ID, email, s.event(actor.AccountID, keyhole.EventInvitationRevoked, actor.origin(), t.ID, email+"'s invitation to team "+t.Name+" revoked"))
	if err != nil {
		return InvitationInfo{}, storeErr(err, "invitation")
	}
	return InvitationInfo{Invitation: inv, Team: t}, nil
}

// InvitationInfo is an invitation with its team and who sent it.
type InvitationInfo struct {
	keyhole.Invitation
	Team      keyhole.Team
	InvitedBy keyhole.Account
}

var errBadInvitation = keyhole.Errorf(keyhole.NotFound, "This invitation link is not valid: it may have expired, been used, been replaced by a newer one or revoked. Ask the team's admin for a new one.")

// liveInvitation returns the invitation of the link's secret, if it is
// live. Links that name nothing are throttled per address (ip).
func (s *Service) liveInvitation(ctx context.Context, raw, ip string) (keyhole.Invitation, error) {
	r, err := s.throttles.invitation.reserve(ctx, "", ip)
	if err != nil {
		return keyhole.Invitation{}, err
	}
	if typ, err := token.Parse(raw); err != nil || typ != token.Invitation {
		r.done(false)
		return keyhole.Invitation{}, errBadInvitation
	}
	inv, err := s.store.InvitationByHash(ctx, token.Hash(raw))
	r.done(err == nil)
	if isNotFound(err) || (err == nil && !inv.ExpiresAt.After(s.clock())) {
		return keyhole.Invitation{}, errBadInvitation
	}
	return inv, storeErr(err, "invitation")
}

// Invitation shows the invitation of a mailed link: which team, which
// role, sent by whom.
func (s *Service) Invitation(ctx context.Context, raw string, o Origin) (InvitationInfo, error) {
	inv, err := s.liveInvitation(ctx, raw, o.IP)
	if err != nil {
		return InvitationInfo{}, err
	}
	info := InvitationInfo{Invitation: inv}
	if info.Team, err = s.store.Team(ctx, inv.TeamID); err != nil {
		return InvitationInfo{}, storeErr(err, "invitation")
	}
	if info.InvitedBy, err = s.store.Account(ctx, inv.InvitedBy); err != nil && !isNotFound(err) {
		return InvitationInfo{}, storeErr(err, "invitation")
	}
	return info, nil
}

// InvitationFor is Invitation for a caller of the API, which must act for
// an account.
func (s *Service) InvitationFor(ctx context.Context, actor Actor, raw string) (InvitationInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return InvitationInfo{}, err
	}
	return s.Invitation(ctx, raw, actor.origin())
}

// Permissions lists the app permissions, for a caller acting for an
// account.
func (s *Service) Permissions(actor Actor) ([]keyhole.Permission, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	return keyhole.AllPermissions(), nil
}

// AcceptInvitation makes the actor a member of the invitation's team. The
// link works once, and only for the account with the address it was sent
// to: a forwarded link does not let somebody else in.
func (s *Service) AcceptInvitation(ctx context.Context, actor Actor, raw string) (keyhole.Member, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.Member{}, err
	}
	info, err := s.Invitation(ctx, raw, actor.origin())
	if err != nil {
		return keyhole.Member{}, err
	}
	acct, err := s.store.Account(ctx, actor.AccountID)
	if err != nil {
		return keyhole.Member{}, storeErr(err, "account")
	}
	if !strings.EqualFold(acct.Email, info.Email) {
		return keyhole.Member{}, keyhole.Errorf(keyhole.Forbidden, "This invitation is for %s: sign in with that address to accept it.", info.Email)
	}
	now := s.clock()
	m := keyhole.Member{ID: newID(), TeamID: info.TeamID, AccountID: acct.ID, Role: info.Role, CreatedAt: now, UpdatedAt: now,
		Email: acct.Email, Name: acct.Name, MFAEnabled: acct.MFAEnabled}
	ev := []keyhole.Event{s.event(acct.ID, keyhole.EventInvitationAccepted, actor.origin(), info.TeamID, "joined team "+info.Team.Name+" as "+string(info.Role))}
	if info.InvitedBy.ID != "" && info.InvitedBy.ID != acct.ID {
		ev = append(ev, s.event(info.InvitedBy.ID, keyhole.EventInvitationAccepted, actor.origin(), info.TeamID, acct.Email+" joined team "+info.Team.Name+" as "+string(info.Role)))
	}
	err = s.store.AcceptInvitation(ctx, token.Hash(raw), now, m, ev...)
	switch {
	case isNotFound(err):
		return keyhole.Member{}, errBadInvitation
	case errors.Is(err, store.ErrConflict):
		return keyhole.Member{}, keyhole.Errorf(keyhole.Conflict, "You are already a member of team %s.", info.Team.Name)
	case err != nil:
		return keyhole.Member{}, storeErr(err, "invitation")
	}
	s.log.InfoContext(ctx, "team invitation accepted", "account_id", acct.ID, "team_id", info.TeamID)
	return m, nil
}
