package service

import (
	"context"
	"slices"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// Access is what one account may do on one app: the one authorization
// rule of apps, beside the scope check of the token. An account may
//
//   - do everything on an app it owns;
//   - do everything on an app of a team it is an admin of;
//   - view an app of a team it is a member or viewer of;
//   - do what its collaborator grant on the app holds.
//
// Each app operation of the service needs one permission (the API's
// route table names it for every app route): view to read the app and
// who has access to it, deploy for its config vars, operate for
// maintenance mode, manage to rename, delete, transfer or lock it and to
// change who has access. An account that may not view an app is told
// that it does not exist, exactly as for one that does not.
type Access struct {
	// Owner: the account owns the app.
	Owner bool
	// Personal: the app is an account's, not a team's. A grant on a
	// personal app never holds manage, whatever it says.
	Personal bool
	// Role is the account's role in the app's team; "" if none.
	Role keyhole.TeamRole
	// Grant is the account's collaborator grant on the app, if any.
	Grant *keyhole.Collaborator
}

// Can reports whether the access allows p.
func (a Access) Can(p keyhole.Permission) bool {
	switch {
	case a.Owner || a.Role == keyhole.RoleAdmin:
		return true
	case p == keyhole.PermView && a.Role != "":
		return true
	case a.Grant != nil && a.Personal && p == keyhole.PermManage:
		return false
	case a.Grant != nil:
		return a.Grant.Has(p) || p == keyhole.PermView
	}
	return false
}

// MayTransfer reports whether the access allows moving app to another
// owner: manage, and for a team app being an admin of its team, so that
// a collaborator who may manage it may not take it away.
func (a Access) MayTransfer(app keyhole.App) bool {
	return a.Can(keyhole.PermManage) && (app.TeamID == "" || a.Role == keyhole.RoleAdmin)
}

// MayTransfer reports whether the actor may move the app to another owner.
func (i AppInfo) MayTransfer() bool { return i.Access.MayTransfer(i.App) }

// Permissions lists what the access allows, in order.
func (a Access) Permissions() []keyhole.Permission {
	var out []keyhole.Permission
	for _, p := range keyhole.AllPermissions() {
		if a.Can(p) {
			out = append(out, p)
		}
	}
	return out
}

// access works out what the account may do on app: at most two indexed
// reads (its membership of the app's team, its grant), never cached, so
// that a removal takes effect on the very next request on every replica.
func (s *Service) access(ctx context.Context, accountID string, app keyhole.App) (Access, error) {
	if app.AccountID != "" && app.AccountID == accountID {
		return Access{Owner: true, Personal: true}, nil
	}
	a := Access{Personal: app.TeamID == ""}
	if app.TeamID != "" {
		m, err := s.store.Member(ctx, app.TeamID, accountID)
		switch {
		case err == nil:
			a.Role = m.Role
		case !isNotFound(err):
			return Access{}, storeErr(err, "app")
		}
		if a.Role == keyhole.RoleAdmin {
			return a, nil
		}
	}
	c, err := s.store.Collaborator(ctx, app.ID, accountID)
	switch {
	case err == nil:
		a.Grant = &c
	case !isNotFound(err):
		return Access{}, storeErr(err, "app")
	}
	return a, nil
}

// appFor returns the app with the id or name if the actor may do need on
// it: NotFound when the actor may not even view it, Forbidden (naming the
// permission) when it may view it but not do need.
func (s *Service) appFor(ctx context.Context, actor Actor, idOrName string, need keyhole.Permission) (keyhole.App, Access, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.App{}, Access{}, err
	}
	var app keyhole.App
	var err error
	switch {
	case validID(idOrName):
		app, err = s.store.App(ctx, idOrName)
	case appNamePattern.MatchString(idOrName):
		app, err = s.store.AppByName(ctx, idOrName)
	default:
		return keyhole.App{}, Access{}, keyhole.NotFoundError("app")
	}
	if err != nil {
		return keyhole.App{}, Access{}, storeErr(err, "app")
	}
	acc, err := s.access(ctx, actor.AccountID, app)
	if err != nil {
		return keyhole.App{}, Access{}, err
	}
	if !acc.Can(keyhole.PermView) {
		return keyhole.App{}, Access{}, keyhole.NotFoundError("app")
	}
	if !acc.Can(need) {
		return keyhole.App{}, Access{}, needPermission(need, app.Name)
	}
	return app, acc, nil
}

func needPermission(p keyhole.Permission, app string) error {
	return keyhole.Errorf(keyhole.Forbidden, "You need the %s permission on %s to do that.", p, app)
}

// parsePermissions checks names against keyhole.Permissions and returns
// them normalised (view added, in order); Invalid names the allowed ones.
func parsePermissions(names []string) ([]keyhole.Permission, error) {
	ps := make([]keyhole.Permission, 0, len(names))
	for _, n := range names {
		p := keyhole.Permission(n)
		if !p.Valid() {
			return nil, keyhole.Errorf(keyhole.Invalid, "Unknown permission %s: permissions are view, deploy, operate and manage.", quote(n))
		}
		if !slices.Contains(ps, p) {
			ps = append(ps, p)
		}
	}
	return keyhole.NormalPermissions(ps), nil
}
