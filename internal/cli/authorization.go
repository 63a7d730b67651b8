package cli

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func authorizationCommands(env Env) []*cobra.Command {
	return []*cobra.Command{
		newAuthorizations(env), newAuthorizationCreate(env), newAuthorizationInfo(env),
		newAuthorizationUpdate(env), newAuthorizationRevoke(env), newAuthorizationRotate(env),
	}
}

// apiCommand runs fn with a Platform API client holding the CLI's token.
func apiCommand(env Env, fn func(ctx context.Context, c *keyholeapi.Client, args []string) error) func(*cobra.Command, []string) error {
	return run(func(cmd *cobra.Command, args []string) error {
		r, err := newRemote(env)
		if err != nil {
			return err
		}
		c, err := r.client()
		if err != nil {
			return err
		}
		return apiError(fn(cmd.Context(), c, args))
	})
}

func newAuthorizations(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "authorizations",
		Aliases: []string{"authorizations:list"},
		Short:   "List your OAuth authorizations",
		Example: "  keyhole authorizations\n  keyhole authorizations --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			auths, err := c.Authorizations(ctx, nil)
			if err != nil {
				return err
			}
			slices.SortStableFunc(auths, func(a, b keyholeapi.Authorization) int { return strings.Compare(a.Description, b.Description) })
			if asJSON {
				return printJSON(env.Stdout, auths)
			}
			if len(auths) == 0 {
				fmt.Fprintln(env.Stdout, "No OAuth authorizations.")
				return nil
			}
			rows := make([][]string, len(auths))
			for i, a := range auths {
				rows[i] = []string{a.Description, a.ID, strings.Join(a.Scope, ",")}
			}
			printTable(env.Stdout, []string{"Description", "ID", "Scope"}, rows)
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

// printAuthorization writes the display block of an authorization.
func printAuthorization(w io.Writer, a *keyholeapi.Authorization) {
	client := "<none>"
	if a.Client != nil {
		client = a.Client.Name
	}
	fields := []field{{"Client", client}}
	if a.Client != nil {
		fields = append(fields, field{"Redirect URI", a.Client.RedirectURI})
	}
	fields = append(fields, field{"ID", a.ID}, field{"Description", a.Description}, field{"Scope", strings.Join(a.Scope, ",")})
	if a.AccessToken != nil {
		fields = append(fields, field{"Token", a.AccessToken.Token})
		if a.AccessToken.ExpiresIn != nil {
			left := time.Duration(*a.AccessToken.ExpiresIn) * time.Second
			fields = append(fields, field{"Expires at", timeText(time.Now().Add(left).Truncate(time.Second)) + " (in " + humanDuration(left) + ")"})
		}
	}
	fields = append(fields, field{"Updated at", timeText(a.UpdatedAt)})
	printBlock(w, fields)
}

// showAuthorization prints an authorization as JSON or as its block.
func showAuthorization(env Env, a *keyholeapi.Authorization, asJSON bool) error {
	if asJSON {
		return printJSON(env.Stdout, a)
	}
	printAuthorization(env.Stdout, a)
	return nil
}

type authorizationCreateOptions struct {
	description, scope, expiresIn, outputFormat string
	short, asJSON                               bool
}

func newAuthorizationCreate(env Env) *cobra.Command {
	var o authorizationCreateOptions
	cmd := &cobra.Command{
		Use:   "authorizations:create",
		Short: "Create an OAuth authorization: a new token of your account",
		Long: `Create a direct authorization of your account: a token with the scopes you
name (default global), for a script or a service. Without --expires-in it
never expires; revoke it with authorizations:revoke.

Scopes: global, identity, read, write, read-protected, write-protected.`,
		Example: `  keyhole authorizations:create -d "deploy bot" -s read,write
  keyhole authorizations:create -s identity -e 3600 --short
  keyhole authorizations:create --json`,
		Args: cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			if o.outputFormat != "" && o.outputFormat != "short" {
				return usagef("--output-format must be short")
			}
			in := keyholeapi.AuthorizationCreate{Description: o.description}
			if o.scope != "" {
				in.Scope = strings.Split(o.scope, ",")
			}
			if o.expiresIn != "" {
				n, err := strconv.Atoi(o.expiresIn)
				if err != nil || n <= 0 {
					return usagef("--expires-in must be a positive number of seconds")
				}
				in.ExpiresIn = &n
			}
			a, err := c.CreateAuthorization(ctx, in)
			if err != nil {
				return err
			}
			done(env, "Creating OAuth Authorization... done")
			if o.short || o.outputFormat == "short" {
				fmt.Fprintln(env.Stdout, a.AccessToken.Token)
				return nil
			}
			return showAuthorization(env, a, o.asJSON)
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&o.description, "description", "d", "", "what the authorization is for")
	f.StringVarP(&o.scope, "scope", "s", "", "comma-separated scopes (default global)")
	f.StringVarP(&o.expiresIn, "expires-in", "e", "", "seconds until the token expires (default: never)")
	f.BoolVarP(&o.short, "short", "S", false, "print only the token")
	f.StringVar(&o.outputFormat, "output-format", "", "short: print only the token")
	f.BoolVarP(&o.asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newAuthorizationInfo(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "authorizations:info ID",
		Short:   "Show an OAuth authorization (~ is your API key)",
		Example: "  keyhole authorizations:info 01234567-89ab-cdef-0123-456789abcdef\n  keyhole authorizations:info '~' --json",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			a, err := c.Authorization(ctx, args[0])
			if err != nil {
				return err
			}
			return showAuthorization(env, a, asJSON)
		}),
	}
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newAuthorizationUpdate(env Env) *cobra.Command {
	var description, clientID, clientSecret string
	cmd := &cobra.Command{
		Use:   "authorizations:update ID",
		Short: "Change an OAuth authorization's description",
		Long: `Change an authorization's description. --client-id and --client-secret
(given together) ask to move it to another client, which Keyhole refuses:
an authorization stays with the client it was granted to.`,
		Example: `  keyhole authorizations:update 01234567-89ab-cdef-0123-456789abcdef -d "deploy bot (old)"`,
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			in := keyholeapi.AuthorizationUpdate{}
			if description != "" {
				in.Description = &description
			}
			if (clientID == "") != (clientSecret == "") {
				return usagef("--client-id and --client-secret go together")
			}
			if clientID != "" {
				in.Client = &keyholeapi.ClientCredentials{ID: clientID, Secret: clientSecret}
			}
			if in.Description == nil && in.Client == nil {
				return usagef("nothing to change: give --description")
			}
			a, err := c.UpdateAuthorization(ctx, args[0], in)
			if err != nil {
				return err
			}
			done(env, "Updating OAuth Authorization... done")
			printAuthorization(env.Stdout, a)
			return nil
		}),
	}
	f := cmd.Flags()
	f.StringVarP(&description, "description", "d", "", "the new description")
	f.StringVar(&clientID, "client-id", "", "the id of a client to move the authorization to (refused)")
	f.StringVar(&clientSecret, "client-secret", "", "that client's secret")
	return cmd
}

func newAuthorizationRevoke(env Env) *cobra.Command {
	return &cobra.Command{
		Use:     "authorizations:revoke ID",
		Aliases: []string{"authorizations:destroy"},
		Short:   "Revoke an OAuth authorization and every token of it",
		Example: "  keyhole authorizations:revoke 01234567-89ab-cdef-0123-456789abcdef",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			a, err := c.DeleteAuthorization(ctx, args[0])
			if err != nil {
				return err
			}
			done(env, "Revoking OAuth Authorization... done, revoked authorization from %s", a.Description)
			return nil
		}),
	}
}

func newAuthorizationRotate(env Env) *cobra.Command {
	return &cobra.Command{
		Use:     "authorizations:rotate ID",
		Short:   "Replace an OAuth authorization's tokens; the old ones stop working",
		Example: "  keyhole authorizations:rotate 01234567-89ab-cdef-0123-456789abcdef",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			a, err := c.RegenerateAuthorization(ctx, args[0])
			if err != nil {
				return err
			}
			done(env, "Rotating OAuth Authorization... done")
			printAuthorization(env.Stdout, a)
			return nil
		}),
	}
}
