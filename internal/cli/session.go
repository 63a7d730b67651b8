package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func sessionCommands(env Env) []*cobra.Command {
	var asJSON bool
	list := &cobra.Command{
		Use:     "sessions",
		Aliases: []string{"sessions:list"},
		Short:   "List your login sessions: browsers and CLI logins",
		Example: "  keyhole sessions\n  keyhole sessions --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			ss, err := c.Sessions(ctx, nil)
			if err != nil {
				return err
			}
			slices.SortStableFunc(ss, func(a, b keyholeapi.Session) int { return strings.Compare(a.Description, b.Description) })
			if asJSON {
				return printJSON(env.Stdout, ss)
			}
			if len(ss) == 0 {
				fmt.Fprintln(env.Stdout, "No OAuth sessions.")
				return nil
			}
			rows := make([][]string, len(ss))
			for i, s := range ss {
				rows[i] = []string{s.Description, s.ID}
			}
			printTable(env.Stdout, []string{"Description", "ID"}, rows)
			return nil
		}),
	}
	list.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	destroy := &cobra.Command{
		Use:   "sessions:destroy ID",
		Short: "End a login session (~ is this CLI's) and what was authorized through it",
		Long: `End a login session: a browser's (signing it out, with the CLI logins made
through it) or a CLI login's. ~ names the session of the CLI's own token.`,
		Example: "  keyhole sessions:destroy 01234567-89ab-cdef-0123-456789abcdef",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			s, err := c.DeleteSession(ctx, args[0])
			if err != nil {
				return err
			}
			done(env, "Destroying %s... done", s.ID)
			return nil
		}),
	}
	return []*cobra.Command{list, destroy}
}
