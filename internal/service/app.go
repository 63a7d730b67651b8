package service

import (
	"context"
	"crypto/rand"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

var (
	appNamePattern   = regexp.MustCompile(`^[a-z][a-z0-9-]{1,28}[a-z0-9]$`)
	configKeyPattern = regexp.MustCompile(`^\w+$`)
)

const (
	maxConfigVars     = 1000
	maxConfigKeyLen   = 255
	maxConfigValueLen = 32 * 1024
)

// AppParams is the input to CreateApp and UpdateApp; nil fields are not set.
type AppParams struct {
	Name        *string
	Region      *string // id or name
	Stack       *string // id or name
	Maintenance *bool
	// Team, at creation, is the team (id or name) that owns the new app;
	// nil makes a personal app of the actor's. Locked locks a team app.
	Team   *string
	Locked *bool
}

// createApp creates an app owned by the actor's account, or by the team
// p names, which the actor must be an admin or a member of (a viewer
// creates nothing). Without a name it gets a generated one.
func (s *Service) createApp(ctx context.Context, actor Actor, p AppParams) (keyhole.App, error) {
	if err := actor.NeedAccount(); err != nil {
		return keyhole.App{}, err
	}
	now := s.clock()
	app := keyhole.App{
		ID: newID(), AccountID: actor.AccountID, Region: keyhole.Regions[0].Name, Stack: keyhole.Stacks[0].Name,
		CreatedAt: now, UpdatedAt: now,
	}
	if p.Team != nil {
		t, role, err := s.teamFor(ctx, actor, *p.Team)
		if err != nil {
			return keyhole.App{}, err
		}
		if role == keyhole.RoleViewer {
			return keyhole.App{}, keyhole.Errorf(keyhole.Forbidden, "Viewers of team %s cannot create apps: an admin can make you a member.", t.Name)
		}
		app.AccountID, app.TeamID = "", t.ID
		if p.Locked != nil {
			app.Locked = *p.Locked
		}
	} else if p.Locked != nil && *p.Locked {
		return keyhole.App{}, keyhole.Errorf(keyhole.Invalid, "Only team apps can be locked.")
	}
	if err := p.apply(&app); err != nil {
		return keyhole.App{}, err
	}
	named := p.Name != nil
	for attempt := 0; ; attempt++ {
		if !named {
			app.Name = generatedAppName()
		}
		err := s.store.CreateApp(ctx, app)
		if err == nil {
			break
		}
		if keyhole.ErrorCode(storeErr(err, "app")) != keyhole.Conflict || named || attempt == 3 {
			return keyhole.App{}, appErr(err, app.Name)
		}
	}
	s.log.InfoContext(ctx, "app created", "account_id", actor.AccountID, "app_id", app.ID, "team_id", app.TeamID)
	return app, nil
}

func (p AppParams) apply(app *keyhole.App) error {
	var problems []string
	if p.Name != nil {
		if !appNamePattern.MatchString(*p.Name) {
			problems = append(problems, "Name must start with a letter, end with a letter or digit, and use only lowercase letters, digits and dashes (3 to 30 characters).")
		}
		app.Name = *p.Name
	}
	if p.Region != nil {
		r, ok := keyhole.Lookup(keyhole.Regions, *p.Region)
		if !ok {
			problems = append(problems, "Unknown region "+quote(*p.Region)+".")
		}
		app.Region = r.Name
	}
	if p.Stack != nil {
		st, ok := keyhole.Lookup(keyhole.Stacks, *p.Stack)
		if !ok {
			problems = append(problems, "Unknown stack "+quote(*p.Stack)+".")
		}
		app.Stack = st.Name
	}
	if p.Maintenance != nil {
		app.Maintenance = *p.Maintenance
	}
	if len(problems) > 0 {
		return keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	return nil
}

// generatedAppName returns a name like "keyhole-app-4f9x2k1q".
func generatedAppName() string {
	const letters = "abcdefghijklmnopqrstuvwxyz0123456789"
	b := make([]byte, 8)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return "keyhole-app-" + string(b)
}

func appErr(err error, name string) error {
	if keyhole.ErrorCode(storeErr(err, "app")) == keyhole.Conflict {
		return &keyhole.Error{Code: keyhole.Invalid, Message: "Name " + quote(name) + " is already taken.", Err: err}
	}
	return storeErr(err, "app")
}

// apps lists the apps the actor may see, one page of r.
func (s *Service) apps(ctx context.Context, actor Actor, r store.Range) ([]keyhole.App, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	list, err := s.store.ListApps(ctx, actor.AccountID, r)
	return list, storeErr(err, "app")
}

// updateApp switches an app's maintenance mode (operate), or renames it
// or changes its stack (manage).
func (s *Service) updateApp(ctx context.Context, actor Actor, idOrName string, p AppParams) (keyhole.App, error) {
	// A rename or a new stack needs manage; maintenance, and a change of
	// nothing, operate (the route's permission); both, both.
	rename := p.Name != nil || p.Stack != nil
	need := keyhole.PermOperate
	if rename && p.Maintenance == nil {
		need = keyhole.PermManage
	}
	app, acc, err := s.appFor(ctx, actor, idOrName, need)
	if err != nil {
		return keyhole.App{}, err
	}
	if rename && !acc.Can(keyhole.PermManage) {
		return keyhole.App{}, needPermission(keyhole.PermManage, app.Name)
	}
	if err := p.apply(&keyhole.App{}); err != nil {
		return keyhole.App{}, err
	}
	app, err = s.store.UpdateApp(ctx, app.ID, func(a *keyhole.App) error {
		if err := p.apply(a); err != nil {
			return err
		}
		a.UpdatedAt = s.clock()
		return nil
	})
	if err != nil {
		name := ""
		if p.Name != nil {
			name = *p.Name
		}
		return keyhole.App{}, appErr(err, name)
	}
	return app, nil
}

// deleteApp deletes an app with its config vars and returns it as it was.
func (s *Service) deleteApp(ctx context.Context, actor Actor, idOrName string) (keyhole.App, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermManage)
	if err != nil {
		return keyhole.App{}, err
	}
	if err := s.store.DeleteApp(ctx, app.ID); err != nil {
		return keyhole.App{}, storeErr(err, "app")
	}
	s.log.InfoContext(ctx, "app deleted", "account_id", actor.AccountID, "app_id", app.ID)
	return app, nil
}

// ConfigVars returns an app's config vars.
func (s *Service) ConfigVars(ctx context.Context, actor Actor, idOrName string) (map[string]string, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermDeploy)
	if err != nil {
		return nil, err
	}
	vars, err := s.store.ConfigVars(ctx, app.ID)
	return vars, storeErr(err, "app")
}

// UpdateConfigVars merges changes into an app's config vars: a nil value
// deletes the key. It returns the whole resulting set.
func (s *Service) UpdateConfigVars(ctx context.Context, actor Actor, idOrName string, changes map[string]*string) (map[string]string, error) {
	app, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermDeploy)
	if err != nil {
		return nil, err
	}
	var problems []string
	if len(changes) > maxConfigVars {
		problems = append(problems, "At most 1000 config vars can be changed at once.")
	}
	for k, v := range changes {
		if !configKeyPattern.MatchString(k) || len(k) > maxConfigKeyLen {
			problems = append(problems, "Config var names must be 1 to 255 letters, digits or underscores: "+quote(k)+".")
		}
		if v != nil && (len(*v) > maxConfigValueLen || !utf8.ValidString(*v)) {
			problems = append(problems, "The value of "+quote(k)+" must be valid text of at most 32 KiB.")
		}
	}
	if len(problems) > 0 {
		return nil, keyhole.Errorf(keyhole.Invalid, "%s", strings.Join(problems, " "))
	}
	vars, err := s.store.UpdateConfigVars(ctx, app.ID, changes, s.clock())
	if err != nil {
		return nil, storeErr(err, "app")
	}
	s.log.InfoContext(ctx, "config vars updated", "account_id", actor.AccountID, "app_id", app.ID, "changed", len(changes))
	return vars, nil
}

// AppInfo is an app with what the API shows beside it: its owner (the
// account of a personal app, the team of a team app) and what the actor
// may do on it.
type AppInfo struct {
	keyhole.App
	Owner  keyhole.Account
	Team   keyhole.Team
	Access Access
}

// appInfos attaches each app's owner and the actor's access, reading
// each owner once.
func (s *Service) appInfos(ctx context.Context, actor Actor, apps ...keyhole.App) ([]AppInfo, error) {
	accounts := map[string]keyhole.Account{}
	teams := map[string]keyhole.Team{}
	out := make([]AppInfo, len(apps))
	for i, a := range apps {
		info := AppInfo{App: a}
		var err error
		if a.TeamID != "" {
			t, ok := teams[a.TeamID]
			if !ok {
				t, err = s.store.Team(ctx, a.TeamID)
				teams[a.TeamID] = t
			}
			info.Team = t
		} else {
			o, ok := accounts[a.AccountID]
			if !ok {
				o, err = s.store.Account(ctx, a.AccountID)
				accounts[a.AccountID] = o
			}
			info.Owner = o
		}
		if err != nil {
			return nil, storeErr(err, "app")
		}
		if info.Access, err = s.access(ctx, actor.AccountID, a); err != nil {
			return nil, err
		}
		out[i] = info
	}
	return out, nil
}

func (s *Service) appInfo(ctx context.Context, actor Actor, a keyhole.App, err error) (AppInfo, error) {
	if err != nil {
		return AppInfo{}, err
	}
	infos, err := s.appInfos(ctx, actor, a)
	if err != nil {
		return AppInfo{}, err
	}
	return infos[0], nil
}

// CreateApp creates an app owned by the actor's account, or by the team
// p.Team names; without a name it gets a generated one.
func (s *Service) CreateApp(ctx context.Context, actor Actor, p AppParams) (AppInfo, error) {
	a, err := s.createApp(ctx, actor, p)
	return s.appInfo(ctx, actor, a, err)
}

// App returns an app the actor may view, by id or name; one it may not
// view is NotFound, exactly as one that does not exist.
func (s *Service) App(ctx context.Context, actor Actor, idOrName string) (AppInfo, error) {
	a, _, err := s.appFor(ctx, actor, idOrName, keyhole.PermView)
	return s.appInfo(ctx, actor, a, err)
}

// Apps lists the apps the actor may see, one page of r.
func (s *Service) Apps(ctx context.Context, actor Actor, r store.Range) ([]AppInfo, error) {
	list, err := s.apps(ctx, actor, r)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return []AppInfo{}, nil
	}
	return s.appInfos(ctx, actor, list...)
}

// UserApps lists the personal apps (of no team) an account owns or
// collaborates on, one page of r: Heroku's list of a user's apps. Only
// the actor's own, named "~", by its id or by its email; any other is
// NotFound.
func (s *Service) UserApps(ctx context.Context, actor Actor, user string, r store.Range) ([]AppInfo, error) {
	if err := actor.NeedAccount(); err != nil {
		return nil, err
	}
	if user != "~" && user != actor.AccountID {
		me, err := s.store.Account(ctx, actor.AccountID)
		if err != nil {
			return nil, storeErr(err, "account")
		}
		if !strings.EqualFold(strings.TrimSpace(user), me.Email) {
			return nil, keyhole.NotFoundError("account")
		}
	}
	list, err := s.store.ListPersonalApps(ctx, actor.AccountID, r)
	if err != nil {
		return nil, storeErr(err, "app")
	}
	return s.appInfos(ctx, actor, list...)
}

// UpdateApp renames an app or switches its maintenance mode.
func (s *Service) UpdateApp(ctx context.Context, actor Actor, idOrName string, p AppParams) (AppInfo, error) {
	a, err := s.updateApp(ctx, actor, idOrName, p)
	return s.appInfo(ctx, actor, a, err)
}

// DeleteApp deletes an app with its config vars and returns it as it was.
func (s *Service) DeleteApp(ctx context.Context, actor Actor, idOrName string) (AppInfo, error) {
	a, err := s.deleteApp(ctx, actor, idOrName)
	if err != nil {
		return AppInfo{}, err
	}
	info := AppInfo{App: a, Access: Access{Owner: a.AccountID == actor.AccountID}}
	if a.TeamID != "" {
		info.Team, err = s.store.Team(ctx, a.TeamID)
	} else {
		info.Owner, err = s.store.Account(ctx, a.AccountID)
	}
	return info, storeErr(err, "app")
}
