package service

import (
	"context"
	"errors"
	"slices"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// Collaborators: an account's grant of permissions on an app it does not
// own. On a team app a grant holds any of the permissions (view always);
// on a personal app it holds keyhole.PersonalPermissions, and managing
// the app stays with its owner. Changing who has access needs manage on
// the app (a team admin has it); a team's member may add themselves to an
// unlocked team app (join), and anybody may remove themselves (leave).

// CollaboratorInfo is a grant with its app, and the person's role in
// the app's team ("" for somebody who is no member of it).
type CollaboratorInfo struct {
	keyhole.Collaborator
	App  keyhole.App
	Role keyhole.TeamRole
}

// withRoles makes grants of app into CollaboratorInfos, with each
// person's role in the app's team.
func (s *Service) withRoles(ctx context.Context, app keyhole.App, grants ...keyhole.Collaborator) ([]CollaboratorInfo, error) {
	roles := map[string]keyhole.TeamRole{}
	if app.TeamID != "" {
		members, err := s.store.Members(ctx, app.TeamID)
		if err != nil {
			return nil, storeErr(err, "team member")
		}
		for _, m := range members {
			roles[m.AccountID] = m.Role
		}
	}
	out := make([]CollaboratorInfo, len(grants))
	for i, c := range grants {
		out[i] = CollaboratorInfo{Collaborator: c, App: app, Role: roles[c.AccountID]}
	}
	return out, nil
}

func (s *Service) withRole(ctx context.Context, app keyhole.App, c keyhole.Collaborator) (CollaboratorInfo, error) {
	out, err := s.withRoles(ctx, app, c)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	return out[0], nil
}

// accountBy finds an account by email or id; NotFound names a user.
func (s *Service) accountBy(ctx context.Context, emailOrID string) (keyhole.Account, error) {
	var a keyhole.Account
	var err error
	if validID(emailOrID) {
		a, err = s.store.Account(ctx, emailOrID)
	} else {
		a, err = s.store.AccountByEmail(ctx, strings.TrimSpace(emailOrID))
	}
	if isNotFound(err) {
		return keyhole.Account{}, keyhole.Errorf(keyhole.NotFound, "Couldn't find a Keyhole account with the address %s.", quote(emailOrID))
	}
	return a, storeErr(err, "account")
}

// person is accountBy for adding somebody: addresses without an account
// are throttled per address of the actor, as each tells the actor that
// no account has it.
func (s *Service) person(ctx context.Context, actor Actor, emailOrID string) (keyhole.Account, error) {
	r, err := s.throttles.people.reserve(ctx, "", actor.IP)
	if err != nil {
		return keyhole.Account{}, err
	}
	a, err := s.accountBy(ctx, emailOrID)
	r.done(err == nil)
	return a, err
}

// grantee finds the account of a grant on app, telling an unknown address
// apart from an account without a grant in nothing: both are a
// collaborator that does not exist.
func (s *Service) grantee(ctx context.Context, emailOrID string) (keyhole.Account, error) {
	a, err := s.accountBy(ctx, emailOrID)
	if keyhole.ErrorCode(err) == keyhole.NotFound {
		return keyhole.Account{}, keyhole.NotFoundError("collaborator")
	}
	return a, err
}

// Collaborators lists who holds a grant on an app the actor may view.
func (s *Service) Collaborators(ctx context.Context, actor Actor, idOrName string) ([]CollaboratorInfo, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermView)
	if err != nil {
		return nil, err
	}
	list, err := s.store.Collaborators(ctx, app.ID)
	if err != nil {
		return nil, storeErr(err, "collaborator")
	}
	out, err := s.withRoles(ctx, app, list...)
	if err != nil || app.TeamID != "" {
		return out, err
	}
	// A personal app's list starts with its owner, as Heroku's does (role
	// owner, every permission; there is no grant to remove).
	o, err := s.store.Account(ctx, app.AccountID)
	if err != nil {
		return nil, storeErr(err, "collaborator")
	}
	owner := CollaboratorInfo{Collaborator: keyhole.Collaborator{ID: o.ID, AppID: app.ID, AccountID: o.ID, Permissions: keyhole.AllPermissions(),
		CreatedAt: app.CreatedAt, UpdatedAt: app.CreatedAt, Email: o.Email, Name: o.Name}, App: app, Role: RoleOwner}
	return append([]CollaboratorInfo{owner}, out...), nil
}

// RoleOwner is the role of a personal app's owner in its list of
// collaborators: no team role, Heroku's name for it.
const RoleOwner keyhole.TeamRole = "owner"

// Collaborator returns one grant on an app the actor may view.
func (s *Service) Collaborator(ctx context.Context, actor Actor, idOrName, user string) (CollaboratorInfo, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermView)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	acct, err := s.grantee(ctx, user)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	c, err := s.store.Collaborator(ctx, app.ID, acct.ID)
	if err != nil {
		return CollaboratorInfo{}, storeErr(err, "collaborator")
	}
	return s.withRole(ctx, app, c)
}

// AddCollaborator gives the account user (email or id) access to an app.
// perms are the permissions asked for on a team app (nil: view, or
// view, deploy and operate for a member joining); asking for any on a
// personal app is refused.
func (s *Service) AddCollaborator(ctx context.Context, actor Actor, idOrName, user string, perms []string) (CollaboratorInfo, error) {
	app, acc, err := s.appFor(ctx, actor, idOrName, keyhole.PermView)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	if !acc.Can(keyhole.PermManage) && !(app.TeamID != "" && acc.Role == keyhole.RoleMember) {
		// Nobody else may add anybody: say so before looking them up.
		return CollaboratorInfo{}, needPermission(keyhole.PermManage, app.Name)
	}
	acct, err := s.person(ctx, actor, user)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	// Who may: somebody who may manage the app, or a member of its team
	// joining it while it is unlocked (with no more than deploy and
	// operate).
	join := acct.ID == actor.AccountID && app.TeamID != "" && acc.Role == keyhole.RoleMember && !acc.Can(keyhole.PermManage)
	switch {
	case acc.Can(keyhole.PermManage):
	case join && app.Locked:
		return CollaboratorInfo{}, keyhole.Errorf(keyhole.Forbidden, "%s is locked: an admin of its team adds people to it.", app.Name)
	case !join:
		return CollaboratorInfo{}, needPermission(keyhole.PermManage, app.Name)
	}
	var ps []keyhole.Permission
	switch {
	case app.TeamID == "" && perms != nil:
		return CollaboratorInfo{}, keyhole.Errorf(keyhole.Invalid, "%s is a personal app: its collaborators can deploy and operate it, and permissions cannot be chosen. Transfer it to a team for that.", app.Name)
	case app.TeamID == "":
		ps = keyhole.PersonalPermissions
	case perms != nil:
		if ps, err = parsePermissions(perms); err != nil {
			return CollaboratorInfo{}, err
		}
	case join:
		ps = keyhole.PersonalPermissions
	default:
		ps = []keyhole.Permission{keyhole.PermView}
	}
	if join && slices.Contains(ps, keyhole.PermManage) {
		return CollaboratorInfo{}, needPermission(keyhole.PermManage, app.Name)
	}
	if acct.ID == app.AccountID {
		return CollaboratorInfo{}, keyhole.Errorf(keyhole.Invalid, "%s owns %s already.", acct.Email, app.Name)
	}
	now := s.clock()
	c := keyhole.Collaborator{ID: newID(), AppID: app.ID, AccountID: acct.ID, Permissions: ps, CreatedAt: now, UpdatedAt: now, Email: acct.Email, Name: acct.Name}
	what := acct.Email + " given " + permWords(ps) + " on " + app.Name
	err = s.store.AddCollaborator(ctx, c, s.appEvents(actor, acct.ID, keyhole.EventPermissionGranted, app, what)...)
	if errors.Is(err, store.ErrConflict) {
		return CollaboratorInfo{}, keyhole.Errorf(keyhole.Conflict, "%s is already a collaborator on %s.", acct.Email, app.Name)
	}
	if err != nil {
		return CollaboratorInfo{}, storeErr(err, "collaborator")
	}
	s.tell(ctx, actor, acct, "you were given access to "+app.Name, "You were given access to the app "+app.Name+" on Keyhole: "+permWords(ps)+".")
	s.log.InfoContext(ctx, "collaborator added", "account_id", actor.AccountID, "app_id", app.ID, "collaborator_id", acct.ID)
	return s.withRole(ctx, app, c)
}

// UpdateCollaborator sets the permissions of a grant on a team app: it
// needs manage on the app.
func (s *Service) UpdateCollaborator(ctx context.Context, actor Actor, idOrName, user string, perms []string) (CollaboratorInfo, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermManage)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	if app.TeamID == "" {
		return CollaboratorInfo{}, keyhole.Errorf(keyhole.Invalid, "%s is a personal app: the permissions of its collaborators cannot be changed. Transfer it to a team for that.", app.Name)
	}
	ps, err := parsePermissions(perms)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	acct, err := s.grantee(ctx, user)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	what := acct.Email + " now has " + permWords(ps) + " on " + app.Name
	c, err := s.store.SetPermissions(ctx, app.ID, acct.ID, ps, s.clock(), s.appEvents(actor, acct.ID, keyhole.EventPermissionChanged, app, what)...)
	if err != nil {
		return CollaboratorInfo{}, storeErr(err, "collaborator")
	}
	s.tell(ctx, actor, acct, "your access to "+app.Name+" changed", "Your permissions on the app "+app.Name+" on Keyhole are now: "+permWords(ps)+".")
	return s.withRole(ctx, app, c)
}

// RemoveCollaborator ends a grant: it needs manage on the app, except for
// one's own (leaving the app).
func (s *Service) RemoveCollaborator(ctx context.Context, actor Actor, idOrName, user string) (CollaboratorInfo, error) {
	app, acc, err := s.appFor(ctx, actor, idOrName, keyhole.PermView)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	if !acc.Can(keyhole.PermManage) {
		// Only their own grant, named by their own email or id: say so
		// before looking anybody else up.
		me, err := s.store.Account(ctx, actor.AccountID)
		if err != nil {
			return CollaboratorInfo{}, storeErr(err, "account")
		}
		if u := strings.TrimSpace(user); !strings.EqualFold(u, me.Email) && u != me.ID {
			return CollaboratorInfo{}, needPermission(keyhole.PermManage, app.Name)
		}
	}
	acct, err := s.grantee(ctx, user)
	if err != nil {
		return CollaboratorInfo{}, err
	}
	what := acct.Email + "'s access to " + app.Name + " revoked"
	c, err := s.store.RemoveCollaborator(ctx, app.ID, acct.ID, s.appEvents(actor, acct.ID, keyhole.EventPermissionRevoked, app, what)...)
	if err != nil {
		return CollaboratorInfo{}, storeErr(err, "collaborator")
	}
	s.tell(ctx, actor, acct, "your access to "+app.Name+" was revoked", "Your access to the app "+app.Name+" on Keyhole was revoked.")
	s.log.InfoContext(ctx, "collaborator removed", "account_id", actor.AccountID, "app_id", app.ID, "collaborator_id", acct.ID)
	return s.withRole(ctx, app, c)
}

func permWords(ps []keyhole.Permission) string {
	w := make([]string, len(ps))
	for i, p := range ps {
		w[i] = string(p)
	}
	return strings.Join(w, ", ")
}

// appEvents records a change of somebody's access to an app on the
// actor's log and on theirs.
func (s *Service) appEvents(actor Actor, affected string, typ keyhole.EventType, app keyhole.App, what string) []keyhole.Event {
	ev := []keyhole.Event{s.event(actor.AccountID, typ, actor.origin(), app.ID, what)}
	if affected != "" && affected != actor.AccountID {
		ev = append(ev, s.event(affected, typ, actor.origin(), app.ID, what))
	}
	return ev
}

// TeamAppUpdate is the input to UpdateTeamApp: one of the three.
type TeamAppUpdate struct {
	Locked *bool
	// Owner transfers the app: to a team (name or id), or to an account
	// (email or id).
	Owner *string
}

// UpdateTeamApp locks or unlocks a team app, or transfers an app between
// accounts and teams. Both need manage on the app; a transfer out of a
// team needs its admin, a transfer to a team needs the actor to be its
// admin or member, and a transfer to an account needs that account to be
// the actor or a collaborator already (nobody is given an app they did
// not ask for).
func (s *Service) UpdateTeamApp(ctx context.Context, actor Actor, idOrName string, u TeamAppUpdate) (AppInfo, error) {
	app, acc, err := s.appFor(ctx, actor, idOrName, keyhole.PermManage)
	if err != nil {
		return AppInfo{}, err
	}
	switch {
	case u.Owner != nil:
		if !acc.MayTransfer(app) {
			return AppInfo{}, keyhole.Errorf(keyhole.Forbidden, "Only admins of the app's team can transfer %s.", app.Name)
		}
		app, err = s.transfer(ctx, actor, app, *u.Owner)
	case u.Locked != nil:
		errPersonal := keyhole.Errorf(keyhole.Invalid, "Only team apps can be locked: %s is a personal app.", app.Name)
		if app.TeamID == "" {
			return AppInfo{}, errPersonal
		}
		// Checked again in the store's transaction: the app may have
		// moved to an account meanwhile.
		app, err = s.store.UpdateApp(ctx, app.ID, func(a *keyhole.App) error {
			if a.TeamID == "" {
				return errPersonal
			}
			a.Locked, a.UpdatedAt = *u.Locked, s.clock()
			return nil
		})
		err = storeErr(err, "app")
	}
	return s.appInfo(ctx, actor, app, err)
}

func (s *Service) transfer(ctx context.Context, actor Actor, app keyhole.App, owner string) (keyhole.App, error) {
	owner = strings.TrimSpace(owner)
	toTeam := !strings.Contains(owner, "@")
	var team keyhole.Team
	var acct keyhole.Account
	var err error
	if toTeam && validID(owner) {
		// An id may be a team's or an account's.
		if _, err := s.store.Team(ctx, owner); isNotFound(err) {
			toTeam = false
		}
	}
	if toTeam {
		var role keyhole.TeamRole
		team, role, err = s.teamFor(ctx, actor, owner)
		if err != nil {
			return keyhole.App{}, err
		}
		if role == keyhole.RoleViewer {
			return keyhole.App{}, keyhole.Errorf(keyhole.Forbidden, "Viewers of team %s cannot move apps into it.", team.Name)
		}
		if team.ID == app.TeamID {
			return app, nil
		}
	} else {
		if acct, err = s.person(ctx, actor, owner); err != nil {
			return keyhole.App{}, err
		}
		if acct.ID == app.AccountID {
			return app, nil
		}
		if acct.ID != actor.AccountID {
			if _, err := s.store.Collaborator(ctx, app.ID, acct.ID); isNotFound(err) {
				return keyhole.App{}, keyhole.Errorf(keyhole.Invalid, "%s can be transferred only to yourself, a team, or somebody who collaborates on it already.", app.Name)
			} else if err != nil {
				return keyhole.App{}, storeErr(err, "app")
			}
		}
	}
	to := acct.Email
	if toTeam {
		to = "team " + team.Name
	}
	what := app.Name + " transferred to " + to
	var affected string
	if !toTeam {
		affected = acct.ID
	}
	app, err = s.store.UpdateApp(ctx, app.ID, func(a *keyhole.App) error {
		a.AccountID, a.TeamID, a.UpdatedAt = acct.ID, team.ID, s.clock()
		if !toTeam {
			a.Locked = false
		}
		return nil
	}, s.appEvents(actor, affected, keyhole.EventAppTransferred, app, what)...)
	if err != nil {
		return keyhole.App{}, storeErr(err, "app")
	}
	if !toTeam {
		s.tell(ctx, actor, acct, app.Name+" is now yours", "The app "+app.Name+" on Keyhole was transferred to you.")
	}
	s.log.InfoContext(ctx, "app transferred", "account_id", actor.AccountID, "app_id", app.ID, "team_id", team.ID, "owner_id", acct.ID)
	return app, nil
}

// TeamAppPermissions are the app permissions of one team app: who holds
// which (admins hold all, and are listed with them).
type TeamAppPermissions struct {
	App   keyhole.App
	Users []UserPermissions
}

// UserPermissions is what one person holds on an app.
type UserPermissions struct {
	Account     keyhole.Account
	Permissions []keyhole.Permission
}

// TeamPermissions lists, for each app of a team the actor is a member
// of, who holds which permissions: its admins and its collaborators.
func (s *Service) TeamPermissions(ctx context.Context, actor Actor, idOrName string) ([]TeamAppPermissions, error) {
	t, _, err := s.teamFor(ctx, actor, idOrName)
	if err != nil {
		return nil, err
	}
	apps, err := s.store.ListTeamApps(ctx, t.ID, store.Range{Field: "name"})
	if err != nil {
		return nil, storeErr(err, "app")
	}
	members, err := s.store.Members(ctx, t.ID)
	if err != nil {
		return nil, storeErr(err, "team member")
	}
	out := make([]TeamAppPermissions, len(apps))
	for i, app := range apps {
		out[i].App = app
		add := func(a keyhole.Account, ps []keyhole.Permission) {
			out[i].Users = append(out[i].Users, UserPermissions{a, ps})
		}
		admins := map[string]bool{}
		for _, m := range members {
			if m.Role == keyhole.RoleAdmin {
				admins[m.AccountID] = true
				add(keyhole.Account{ID: m.AccountID, Email: m.Email, Name: m.Name}, keyhole.AllPermissions())
			}
		}
		grants, err := s.store.Collaborators(ctx, app.ID)
		if err != nil {
			return nil, storeErr(err, "collaborator")
		}
		for _, c := range grants {
			if !admins[c.AccountID] {
				add(keyhole.Account{ID: c.AccountID, Email: c.Email, Name: c.Name}, c.Permissions)
			}
		}
	}
	return out, nil
}
