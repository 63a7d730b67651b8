package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

// teamCommands are the commands of teams, their members, their apps and
// who has access to an app, as Heroku's CLI names them.
func teamCommands(env Env) []*cobra.Command {
	cmds := []*cobra.Command{newTeams(env), newTeamCreate(env)}
	cmds = append(cmds, memberCommands(env)...)
	cmds = append(cmds, appCommands(env)...)
	return append(cmds, accessCommands(env)...)
}

// teamFlag adds the -t/--team flag.
func teamFlag(cmd *cobra.Command, p *string, usage string) {
	cmd.Flags().StringVarP(p, "team", "t", "", usage)
}

// needTeam refuses a command without --team.
func needTeam(cmd *cobra.Command, team string) error {
	if team == "" {
		return usagef("%s needs --team TEAM", cmd.Name())
	}
	return nil
}

func newTeams(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "teams",
		Aliases: []string{"teams:list"},
		Short:   "List the teams you are a member of, with your role in each",
		Example: "  keyhole teams\n  keyhole teams --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			teams, err := c.Teams(ctx, nil)
			if err != nil {
				return err
			}
			slices.SortStableFunc(teams, func(a, b keyholeapi.Team) int { return strings.Compare(a.Name, b.Name) })
			if asJSON {
				return printJSON(env.Stdout, teams)
			}
			if len(teams) == 0 {
				fmt.Fprintln(env.Stdout, "You are not a member of any teams.")
				return nil
			}
			rows := make([][]string, len(teams))
			for i, t := range teams {
				rows[i] = []string{t.Name, t.Role}
			}
			printTable(env.Stdout, []string{"Team", "Role"}, rows)
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newTeamCreate(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "teams:create NAME",
		Short: "Create a team, with you as its admin",
		Long: `Create a team with you as its admin. A team's name starts with a letter,
ends with a letter or digit, and has only lowercase letters, digits and
dashes (3 to 30 characters). Add people with members:add and apps with
apps:create --team.`,
		Example: "  keyhole teams:create platform\n  keyhole teams:create platform --json",
		Args:    exactArgs("NAME"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			t, err := c.CreateTeam(ctx, keyholeapi.TeamCreate{Name: args[0]})
			if err != nil {
				return err
			}
			done(env, "Creating team %s... done", t.Name)
			if asJSON {
				return printJSON(env.Stdout, t)
			}
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}
