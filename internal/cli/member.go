package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func memberCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newMembers(env), newMemberAdd(env), newMemberSet(env), newMemberRemove(env)}
}

// pendingMember is a team's invitation in the list of its members, as
// Heroku's CLI shows one: the address, the role and status "pending".
type pendingMember struct {
	Email  string `json:"email"`
	Role   string `json:"role"`
	Status string `json:"status"`
}

// invitations lists a team's pending invitations; where the server lets
// only admins see them, the others get none.
func invitations(ctx context.Context, c *keyholeapi.Client, team string) ([]keyholeapi.TeamInvitation, error) {
	invs, err := c.Invitations(ctx, team)
	if keyholeapi.IsForbidden(err) {
		return nil, nil
	}
	return invs, err
}

func newMembers(env Env) *cobra.Command {
	var team, role string
	var pending, asJSON bool
	cmd := &cobra.Command{
		Use:   "members",
		Short: "List the members of a team, and the people invited to it",
		Long: `List the members of a team with their roles, and the addresses invited to
it that have not joined yet, with status pending.`,
		Example: "  keyhole members --team platform\n  keyhole members -t platform --role admin\n  keyhole members -t platform --pending --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			members, err := c.Members(ctx, team, nil)
			if err != nil {
				return err
			}
			invs, err := invitations(ctx, c, team)
			if err != nil {
				return err
			}
			type row struct {
				email, role, status string
				v                   any // what --json prints
			}
			var rows []row
			if !pending {
				for _, m := range members {
					rows = append(rows, row{m.Email, m.Role, "", m})
				}
			}
			for _, i := range invs {
				p := pendingMember{Email: i.User.Email, Role: i.Role, Status: "pending"}
				rows = append(rows, row{p.Email, p.Role, p.Status, p})
			}
			if role != "" {
				rows = slices.DeleteFunc(rows, func(r row) bool { return r.role != role })
			}
			slices.SortStableFunc(rows, func(a, b row) int { return strings.Compare(a.email, b.email) })
			if asJSON {
				out := make([]any, len(rows))
				for i, r := range rows {
					out[i] = r.v
				}
				return printJSON(env.Stdout, out)
			}
			if len(rows) == 0 {
				msg := "No members in " + team
				if role != "" {
					msg += " with role " + role
				}
				fmt.Fprintln(env.Stdout, msg)
				return nil
			}
			header := []string{"Email", "Role"}
			status := slices.ContainsFunc(rows, func(r row) bool { return r.status != "" })
			if status {
				header = append(header, "Status")
			}
			cells := make([][]string, len(rows))
			for i, r := range rows {
				cells[i] = []string{r.email, r.role}
				if status {
					cells[i] = append(cells[i], r.status)
				}
			}
			printTable(env.Stdout, header, cells)
			return nil
		}),
	}
	teamFlag(cmd, &team, "the team")
	cmd.Flags().StringVarP(&role, "role", "r", "", "only the people of this role (admin, member or viewer)")
	cmd.Flags().BoolVar(&pending, "pending", false, "only the invitations not accepted yet")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return needTeam(cmd, team) }
	return cmd
}

// memberFlags adds --team and --role, and has the command refuse to run
// without them.
func memberFlags(cmd *cobra.Command, team, role *string) {
	teamFlag(cmd, team, "the team")
	cmd.Flags().StringVarP(role, "role", "r", "", "admin, member or viewer")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error {
		if err := needTeam(cmd, *team); err != nil {
			return err
		}
		if *role == "" {
			return usagef("%s needs --role ROLE: admin, member or viewer", cmd.Name())
		}
		return nil
	}
}

func newMemberAdd(env Env) *cobra.Command {
	var team, role string
	cmd := &cobra.Command{
		Use:   "members:add EMAIL",
		Short: "Add somebody to a team, or invite an address that has no account",
		Long: `Add the account of an address to a team with a role. An address that has
no Keyhole account yet is sent an invitation by mail to sign up and join;
it shows in members as pending until then. Admins only.`,
		Example: "  keyhole members:add grace@example.com --team platform --role member",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			res, err := c.PutMember(ctx, team, keyholeapi.TeamMemberInput{Email: args[0], Role: role})
			if err != nil {
				return err
			}
			if res.Invited {
				done(env, "Inviting %s to %s as %s... email sent", res.Member.Email, team, res.Member.Role)
				return nil
			}
			done(env, "Adding %s to %s as %s... done", res.Member.Email, team, res.Member.Role)
			return nil
		}),
	}
	memberFlags(cmd, &team, &role)
	return cmd
}

func newMemberSet(env Env) *cobra.Command {
	var team, role string
	cmd := &cobra.Command{
		Use:     "members:set EMAIL",
		Short:   "Change the role of a member of a team",
		Example: "  keyhole members:set grace@example.com --team platform --role admin",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			m, err := c.UpdateMember(ctx, team, keyholeapi.TeamMemberInput{Email: args[0], Role: role})
			if err != nil {
				return err
			}
			done(env, "Adding %s to %s as %s... done", m.Email, team, m.Role)
			return nil
		}),
	}
	memberFlags(cmd, &team, &role)
	return cmd
}

func newMemberRemove(env Env) *cobra.Command {
	var team string
	cmd := &cobra.Command{
		Use:   "members:remove EMAIL",
		Short: "Remove somebody from a team, or revoke their invitation",
		Long: `Remove a member from a team, with their access to its apps; for an address
invited but not joined yet, revoke the invitation. Admins remove anybody;
anybody may leave.`,
		Example: "  keyhole members:remove grace@example.com --team platform",
		Args:    exactArgs("EMAIL"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			email := args[0]
			invs, err := invitations(ctx, c, team)
			if err != nil {
				return err
			}
			if slices.ContainsFunc(invs, func(i keyholeapi.TeamInvitation) bool { return strings.EqualFold(i.User.Email, email) }) {
				if _, err := c.RevokeInvitation(ctx, team, email); err != nil {
					return err
				}
				done(env, "Revoking invite for %s in %s... done", email, team)
				return nil
			}
			if _, err := c.RemoveMember(ctx, team, email); err != nil {
				return err
			}
			done(env, "Removing %s from %s... done", email, team)
			return nil
		}),
	}
	teamFlag(cmd, &team, "the team")
	cmd.PreRunE = func(cmd *cobra.Command, _ []string) error { return needTeam(cmd, team) }
	return cmd
}
