package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func appCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newApps(env), newAppCreate(env), newAppInfo(env), newAppDestroy(env),
		newAppLock(env, true), newAppLock(env, false), newAppTransfer(env), newAppJoin(env), newAppLeave(env)}
}

// teamOwnerDomain is the domain of the owner address of a team app, as
// Heroku's API and CLI have it: <team>@herokumanager.com.
const teamOwnerDomain = "@herokumanager.com"

// teamOf returns the name of the team that owns an app, or "" for a
// personal app: its team, else the local part of an owner address at
// herokumanager.com, which is how Heroku's CLI tells team apps.
func teamOf(a *keyholeapi.App) string {
	if a.Team != nil && a.Team.Name != "" {
		return a.Team.Name
	}
	if name, ok := strings.CutSuffix(a.Owner.Email, teamOwnerDomain); ok {
		return name
	}
	return ""
}

// appFlag adds the -a/--app flag, and has the command refuse to run
// without it.
func appFlag(cmd *cobra.Command, p *string) {
	cmd.Flags().StringVarP(p, "app", "a", "", "the app (name or id)")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if *p == "" {
			return usagef("%s needs --app APP", cmd.Name())
		}
		return nil
	}
}

// appName is an app's name, with its region when that is not the
// default, as Heroku's CLI lists apps.
func appName(a keyholeapi.App) string {
	if a.Region.Name != "" && a.Region.Name != "us" {
		return a.Name + " (" + a.Region.Name + ")"
	}
	return a.Name
}

// listApps writes one app a line, locked ones marked.
func listApps(w io.Writer, apps []keyholeapi.App) {
	for _, a := range apps {
		line := appName(a)
		if a.Locked {
			line += " [locked]"
		}
		fmt.Fprintln(w, line)
	}
}

func newApps(env Env) *cobra.Command {
	var team string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "apps",
		Aliases: []string{"apps:list"},
		Short:   "List your apps, or a team's",
		Long: `List the apps you own and, apart, the others you have access to; with
--team, the apps of a team.`,
		Example: "  keyhole apps\n  keyhole apps --team platform\n  keyhole apps --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			var apps []keyholeapi.App
			var err error
			if team != "" {
				apps, err = c.TeamApps(ctx, team, nil)
			} else {
				apps, err = c.Apps(ctx, nil)
			}
			if err != nil {
				return err
			}
			slices.SortStableFunc(apps, func(a, b keyholeapi.App) int { return strings.Compare(a.Name, b.Name) })
			if asJSON {
				return printJSON(env.Stdout, apps)
			}
			if team != "" {
				if len(apps) == 0 {
					fmt.Fprintf(env.Stdout, "There are no apps in team %s.\n", team)
					return nil
				}
				fmt.Fprintf(env.Stdout, "=== Apps in team %s\n", team)
				listApps(env.Stdout, apps)
				return nil
			}
			acct, err := c.Account(ctx)
			if err != nil {
				return err
			}
			var owned, others []keyholeapi.App
			for _, a := range apps {
				if a.Owner.ID == acct.ID {
					owned = append(owned, a)
				} else {
					others = append(others, a)
				}
			}
			if len(apps) == 0 {
				fmt.Fprintln(env.Stdout, "You have no apps.")
				return nil
			}
			fmt.Fprintf(env.Stdout, "=== %s Apps\n", acct.Email)
			listApps(env.Stdout, owned)
			if len(others) > 0 {
				fmt.Fprintln(env.Stdout, "\n=== Collaborated Apps")
				rows := make([][]string, len(others))
				for i, a := range others {
					rows[i] = []string{appName(a), a.Owner.Email}
				}
				printTable(env.Stdout, []string{"Name", "Owner"}, rows)
			}
			return nil
		}),
	}
	teamFlag(cmd, &team, "list the apps of this team")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newAppCreate(env Env) *cobra.Command {
	var team, region, stack string
	var locked, asJSON bool
	cmd := &cobra.Command{
		Use:   "apps:create [NAME]",
		Short: "Create an app of yours, or of a team",
		Long: `Create an app: your own, or with --team one of the team's, which its admins
and members may create. A locked team app (--locked) cannot be joined by
the team's members: an admin adds people to it. Without a name the app
gets a generated one.`,
		Example: "  keyhole apps:create billing\n  keyhole apps:create billing --team platform --locked\n  keyhole apps:create --region eu --json",
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 1 {
				return usagef("apps:create takes at most 1 argument: NAME (got %d)", len(args))
			}
			return nil
		},
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			opt := func(s string) *string {
				if s == "" {
					return nil
				}
				return &s
			}
			var name *string
			if len(args) == 1 {
				name = &args[0]
			}
			var app *keyholeapi.App
			var err error
			if team != "" || locked {
				in := keyholeapi.TeamAppCreate{Name: name, Team: opt(team), Region: opt(region), Stack: opt(stack)}
				if locked {
					in.Locked = &locked
				}
				app, err = c.CreateTeamApp(ctx, in)
			} else {
				app, err = c.CreateApp(ctx, keyholeapi.AppCreate{Name: name, Region: opt(region), Stack: opt(stack)})
			}
			if err != nil {
				return err
			}
			if name != nil {
				done(env, "Creating %s... done", app.Name)
			} else {
				done(env, "Creating app... done, %s", app.Name)
			}
			if asJSON {
				return printJSON(env.Stdout, app)
			}
			return nil
		}),
	}
	teamFlag(cmd, &team, "the team to create the app in")
	cmd.Flags().BoolVar(&locked, "locked", false, "lock the team app: the team's members cannot join it")
	cmd.Flags().StringVar(&region, "region", "", "the region (default us)")
	cmd.Flags().StringVarP(&stack, "stack", "s", "", "the stack (default the newest)")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newAppInfo(env Env) *cobra.Command {
	var app string
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "apps:info",
		Aliases: []string{"info"},
		Short:   "Show an app: its owner, team, region, stack and collaborators",
		Example: "  keyhole apps:info -a billing\n  keyhole apps:info -a billing --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			a, err := c.App(ctx, app)
			if err != nil {
				return err
			}
			collabs, err := c.Collaborators(ctx, app)
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(env.Stdout, struct {
					App           *keyholeapi.App           `json:"app"`
					Collaborators []keyholeapi.Collaborator `json:"collaborators"`
				}{a, collabs})
			}
			var emails []string
			for _, cl := range collabs {
				if cl.User.Email != a.Owner.Email && !strings.HasSuffix(cl.User.Email, teamOwnerDomain) {
					emails = append(emails, cl.User.Email)
				}
			}
			slices.Sort(emails)
			fmt.Fprintf(env.Stdout, "=== %s\n", a.Name)
			var fields []field
			if len(emails) > 0 {
				fields = append(fields, field{"Collaborators", strings.Join(emails, ", ")})
			}
			fields = append(fields, field{"Created at", timeText(a.CreatedAt)}, field{"ID", a.ID})
			team := teamOf(a)
			if team != "" {
				fields = append(fields, field{"Locked", fmt.Sprint(a.Locked)})
			}
			fields = append(fields, field{"Maintenance", fmt.Sprint(a.Maintenance)}, field{"Owner", a.Owner.Email},
				field{"Region", a.Region.Name}, field{"Stack", a.Stack.Name})
			if team != "" {
				fields = append(fields, field{"Team", team})
			}
			printBlock(env.Stdout, fields)
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the app and its collaborators as JSON")
	return cmd
}

func newAppDestroy(env Env) *cobra.Command {
	var app, confirm string
	cmd := &cobra.Command{
		Use:   "apps:destroy",
		Short: "Delete an app and its config vars",
		Long: `Delete an app, its config vars and who has access to it. It asks you to
type the app's name, unless --confirm gives it.`,
		Example: "  keyhole apps:destroy -a billing --confirm billing",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			if confirm == "" {
				fmt.Fprintf(env.Stderr, " !    WARNING: This will delete %s and its config vars.\n !    To proceed, type %s or re-run this command with --confirm %s\n", app, app, app)
				answer, err := newPrompter(env).line("> ")
				if err != nil {
					return err
				}
				confirm = strings.TrimSpace(answer)
			}
			if confirm != app {
				return fmt.Errorf("confirmation did not match %s: nothing was deleted", app)
			}
			a, err := c.DeleteApp(ctx, app)
			if err != nil {
				return err
			}
			done(env, "Destroying %s (including config vars)... done", a.Name)
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().StringVar(&confirm, "confirm", "", "the app's name, to delete it without being asked")
	return cmd
}

// newAppLock is apps:lock (lock true) or apps:unlock.
func newAppLock(env Env, lock bool) *cobra.Command {
	var app string
	verb, doing, short := "lock", "Locking", "Lock a team app: the team's members cannot join it"
	if !lock {
		verb, doing, short = "unlock", "Unlocking", "Unlock a team app: the team's members may join it"
	}
	cmd := &cobra.Command{
		Use:     "apps:" + verb,
		Aliases: []string{verb},
		Short:   short,
		Long: `Lock or unlock a team app (it needs manage on the app). The team's members
may join an unlocked app with apps:join; a locked one only its admins, or
somebody who may manage it, add people to.`,
		Example: "  keyhole apps:" + verb + " -a billing",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			a, err := c.App(ctx, app)
			if err != nil {
				return err
			}
			if a.Locked == lock {
				if lock {
					return fmt.Errorf("cannot lock %s: it is locked already", a.Name)
				}
				return fmt.Errorf("cannot unlock %s: it is not locked", a.Name)
			}
			if _, err := c.UpdateTeamApp(ctx, a.Name, keyholeapi.TeamAppUpdate{Locked: &lock}); err != nil {
				return err
			}
			done(env, "%s %s... done", doing, a.Name)
			return nil
		}),
	}
	appFlag(cmd, &app)
	return cmd
}

func newAppTransfer(env Env) *cobra.Command {
	var app string
	var locked bool
	cmd := &cobra.Command{
		Use:   "apps:transfer RECIPIENT",
		Short: "Transfer an app to a team or to somebody",
		Long: `Transfer an app to a team (its name) or to an account (its email). It needs
manage on the app, and an app leaves a team only by one of its admins. A
team you move an app into must have you as its admin or member; a person
you give an app to must be you or collaborate on it already. With
--locked the app is locked once it is in the team.`,
		Example: "  keyhole apps:transfer platform -a billing\n  keyhole apps:transfer platform -a billing --locked\n  keyhole apps:transfer grace@example.com -a billing",
		Args:    exactArgs("RECIPIENT"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			to := args[0]
			a, err := c.UpdateTeamApp(ctx, app, keyholeapi.TeamAppUpdate{Owner: &to})
			if err != nil {
				return err
			}
			done(env, "Transferring %s to %s... done", a.Name, to)
			if locked {
				if _, err := c.UpdateTeamApp(ctx, a.Name, keyholeapi.TeamAppUpdate{Locked: &locked}); err != nil {
					return err
				}
				done(env, "Locking %s... done", a.Name)
			}
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().BoolVarP(&locked, "locked", "l", false, "lock the app once it is in the team")
	return cmd
}

func newAppJoin(env Env) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "apps:join",
		Aliases: []string{"join"},
		Short:   "Join a team app, as a member of its team",
		Long: `Add yourself to an app of a team you are a member of, with deploy, operate
and view. A locked app cannot be joined: an admin of its team adds people
to it.`,
		Example: "  keyhole apps:join -a billing",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			acct, err := c.Account(ctx)
			if err != nil {
				return err
			}
			if _, err := c.AddTeamCollaborator(ctx, app, acct.Email, nil); err != nil {
				return err
			}
			done(env, "Joining %s... done", app)
			return nil
		}),
	}
	appFlag(cmd, &app)
	return cmd
}

func newAppLeave(env Env) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "apps:leave",
		Aliases: []string{"leave"},
		Short:   "End your own access to an app you collaborate on",
		Example: "  keyhole apps:leave -a billing",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			acct, err := c.Account(ctx)
			if err != nil {
				return err
			}
			if _, err := c.RemoveCollaborator(ctx, app, acct.Email); err != nil {
				return err
			}
			done(env, "Leaving %s... done", app)
			return nil
		}),
	}
	appFlag(cmd, &app)
	return cmd
}
