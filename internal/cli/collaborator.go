package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func accessCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newAccess(env), newAccessAdd(env), newAccessUpdate(env), newAccessRemove(env)}
}

// permissionNames returns the names of ps, sorted, as Heroku's CLI
// shows them.
func permissionNames(ps []keyholeapi.Permission) []string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	slices.Sort(names)
	return names
}

// withView splits a -p list and returns it with view, without repeats,
// sorted.
func withView(list string) []string {
	ps := []string{"view"}
	for _, p := range strings.Split(list, ",") {
		if p = strings.TrimSpace(p); p != "" {
			ps = append(ps, p)
		}
	}
	slices.Sort(ps)
	return slices.Compact(ps)
}

func newAccess(env Env) *cobra.Command {
	var app string
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "access",
		Short: "List who has access to an app, with their permissions",
		Long: `List who has access to an app. On a team app it shows each person's role in
the team and permissions; the team's admins hold every permission.`,
		Example: "  keyhole access -a billing\n  keyhole access -a billing --json",
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
			team := teamOf(a)
			if team != "" {
				collabs, err = withAdmins(ctx, c, team, collabs)
				if err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(env.Stdout, collabs)
			}
			var rows [][]string
			for _, cl := range collabs {
				if strings.HasSuffix(cl.User.Email, teamOwnerDomain) {
					continue
				}
				role := cl.Role
				if role == "" {
					role = "collaborator"
				}
				row := []string{cl.User.Email, role}
				if team != "" {
					row = append(row, strings.Join(permissionNames(cl.Permissions), ", "))
				}
				rows = append(rows, row)
			}
			slices.SortStableFunc(rows, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
			if len(rows) == 0 {
				fmt.Fprintf(env.Stdout, "Nobody else has access to %s.\n", a.Name)
				return nil
			}
			header := []string{"Email", "Role"}
			if team != "" {
				header = append(header, "Permissions")
			}
			printTable(env.Stdout, header, rows)
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

// withAdmins adds the admins of the team to the collaborators of one of
// its apps, with every permission, as Heroku's CLI shows them. A person
// who may not list the team's members sees the collaborators alone.
func withAdmins(ctx context.Context, c *keyholeapi.Client, team string, collabs []keyholeapi.Collaborator) ([]keyholeapi.Collaborator, error) {
	members, err := c.Members(ctx, team, nil)
	if keyholeapi.IsForbidden(err) {
		return collabs, nil
	}
	if err != nil {
		return nil, err
	}
	all, err := c.Permissions(ctx)
	if keyholeapi.IsForbidden(err) {
		return collabs, nil
	}
	if err != nil {
		return nil, err
	}
	for _, m := range members {
		if m.Role != "admin" || slices.ContainsFunc(collabs, func(cl keyholeapi.Collaborator) bool { return strings.EqualFold(cl.User.Email, m.Email) }) {
			continue
		}
		collabs = append(collabs, keyholeapi.Collaborator{
			ID: m.ID, CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, Role: m.Role, Permissions: all,
			User: keyholeapi.CollaboratorUser{Email: m.Email, ID: m.User.ID, Federated: m.Federated},
		})
	}
	return collabs, nil
}

func newAccessAdd(env Env) *cobra.Command {
	var app, perms string
	cmd := &cobra.Command{
		Use:   "access:add EMAIL",
		Short: "Give somebody access to an app",
		Long: `Give the account of an address access to an app. On a team app it holds the
permissions of -p (deploy, operate, manage), view always among them; a
collaborator on a personal app may view, deploy and operate it.`,
		Example: "  keyhole access:add grace@example.com -a billing -p deploy,operate\n  keyhole access:add grace@example.com -a my-app",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			email := args[0]
			a, err := c.App(ctx, app)
			if err != nil {
				return err
			}
			// Permissions asked for on a personal app go to the team
			// route too, whose answer says why they cannot be had.
			if teamOf(a) == "" && perms == "" {
				if _, err := c.AddCollaborator(ctx, app, email); err != nil {
					return err
				}
				done(env, "Adding %s access to the app %s... done", email, a.Name)
				return nil
			}
			ps := withView(perms)
			if _, err := c.AddTeamCollaborator(ctx, app, email, ps); err != nil {
				return err
			}
			done(env, "Adding %s access to the app %s with %s permissions... done", email, a.Name, strings.Join(ps, ", "))
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().StringVarP(&perms, "permissions", "p", "", "comma-separated permissions on a team app: deploy, operate, manage (view is implied)")
	return cmd
}

func newAccessUpdate(env Env) *cobra.Command {
	var app, perms string
	cmd := &cobra.Command{
		Use:     "access:update EMAIL",
		Short:   "Change somebody's permissions on a team app",
		Example: "  keyhole access:update grace@example.com -a billing -p deploy,operate,manage",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			if perms == "" {
				return usagef("access:update needs --permissions: deploy, operate, manage (view is implied)")
			}
			email := args[0]
			a, err := c.App(ctx, app)
			if err != nil {
				return err
			}
			if teamOf(a) == "" {
				return fmt.Errorf("cannot update permissions: the app %s is not owned by a team", a.Name)
			}
			ps := withView(perms)
			if _, err := c.UpdateCollaborator(ctx, app, email, ps); err != nil {
				return err
			}
			done(env, "Updating %s in application %s with %s permissions... done", email, a.Name, strings.Join(ps, ", "))
			return nil
		}),
	}
	appFlag(cmd, &app)
	cmd.Flags().StringVarP(&perms, "permissions", "p", "", "comma-separated permissions: deploy, operate, manage (view is implied)")
	return cmd
}

func newAccessRemove(env Env) *cobra.Command {
	var app string
	cmd := &cobra.Command{
		Use:     "access:remove EMAIL",
		Short:   "End somebody's access to an app",
		Example: "  keyhole access:remove grace@example.com -a billing",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			if _, err := c.RemoveCollaborator(ctx, app, args[0]); err != nil {
				return err
			}
			done(env, "Removing %s access from the app %s... done", args[0], app)
			return nil
		}),
	}
	appFlag(cmd, &app)
	return cmd
}
