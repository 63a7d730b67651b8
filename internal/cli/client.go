package cli

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/keyhole/keyhole/keyholeapi"
)

func clientCommands(env Env) []*cobra.Command {
	return []*cobra.Command{
		newClients(env), newClientCreate(env), newClientInfo(env),
		newClientUpdate(env), newClientRotate(env), newClientDestroy(env),
	}
}

func newClients(env Env) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:     "clients",
		Aliases: []string{"clients:list"},
		Short:   "List your OAuth clients",
		Example: "  keyhole clients\n  keyhole clients --json",
		Args:    cobra.NoArgs,
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, _ []string) error {
			list, err := c.Clients(ctx, nil)
			if err != nil {
				return err
			}
			slices.SortStableFunc(list, func(a, b keyholeapi.OAuthClient) int { return strings.Compare(a.Name, b.Name) })
			if asJSON {
				return printJSON(env.Stdout, list)
			}
			if len(list) == 0 {
				fmt.Fprintln(env.Stdout, "No OAuth clients.")
				return nil
			}
			rows := make([][]string, len(list))
			for i, cl := range list {
				rows[i] = []string{cl.Name, cl.ID, cl.RedirectURI}
			}
			printTable(env.Stdout, []string{"Name", "ID", "Redirect URI"}, rows)
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

// printShell writes a client's credentials as lines of a .env file.
func printShell(env Env, cl *keyholeapi.OAuthClient) {
	fmt.Fprintf(env.Stdout, "KEYHOLE_OAUTH_ID=%s\n", cl.ID)
	fmt.Fprintf(env.Stdout, "KEYHOLE_OAUTH_SECRET=%s\n", cl.Secret)
}

// showClient prints a client as JSON, as .env lines, or as a block.
func showClient(env Env, cl *keyholeapi.OAuthClient, asJSON, shell bool) error {
	switch {
	case asJSON:
		return printJSON(env.Stdout, cl)
	case shell:
		printShell(env, cl)
		return nil
	}
	fmt.Fprintf(env.Stdout, "=== %s\n", cl.Name)
	fields := []field{{"created_at", timeText(cl.CreatedAt)}, {"id", cl.ID}, {"name", cl.Name}, {"redirect_uri", cl.RedirectURI}}
	if len(cl.PostLogoutRedirectURIs) > 0 {
		fields = append(fields, field{"post_logout_redirect_uris", strings.Join(cl.PostLogoutRedirectURIs, " ")})
	}
	if cl.Secret != "" {
		fields = append(fields, field{"secret", cl.Secret})
	}
	fields = append(fields, field{"updated_at", timeText(cl.UpdatedAt)})
	printBlock(env.Stdout, fields)
	return nil
}

// checkRedirect refuses, before any request, a callback address the
// server would refuse: https, or http on a loopback host.
func checkRedirect(raw string) error {
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" {
		return usagef("the redirect URI %q must be an absolute URL such as https://app.example/callback", raw)
	}
	host := u.Hostname()
	ip := net.ParseIP(host)
	if u.Scheme == "https" || (u.Scheme == "http" && (strings.EqualFold(host, "localhost") || (ip != nil && ip.IsLoopback()))) {
		return nil
	}
	return usagef("unsupported redirect URI %q: clients must use https, or http on a loopback address (127.0.0.1, [::1], localhost)", raw)
}

// postLogoutHelp describes the --post-logout-redirect-uri flag.
const postLogoutHelp = "where an OpenID Connect logout may send the browser back to, besides the redirect URI (repeat for several)"

func newClientCreate(env Env) *cobra.Command {
	var asJSON, shell bool
	var logout []string
	cmd := &cobra.Command{
		Use:   "clients:create NAME REDIRECT_URI",
		Short: "Register an OAuth client",
		Long: `Register an OAuth client and print its credentials as KEYHOLE_OAUTH_ID and
KEYHOLE_OAUTH_SECRET lines for a .env file (the default, as --shell), or
as JSON. The redirect URI must be https, or http on a loopback address;
so must each --post-logout-redirect-uri.`,
		Example: `  keyhole clients:create "Acme" https://acme.example/auth/keyhole/callback >> .env
  keyhole clients:create "Local dev" http://127.0.0.1:3000/callback --json
  keyhole clients:create "Acme" https://acme.example/callback --post-logout-redirect-uri https://acme.example/`,
		Args: exactArgs("NAME", "REDIRECT_URI"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			for _, u := range append([]string{args[1]}, logout...) {
				if err := checkRedirect(u); err != nil {
					return err
				}
			}
			cl, err := c.CreateClient(ctx, keyholeapi.OAuthClientCreate{Name: args[0], RedirectURI: args[1], PostLogoutRedirectURIs: logout})
			if err != nil {
				return err
			}
			done(env, "Creating %s... done", cl.Name)
			if asJSON {
				return printJSON(env.Stdout, cl)
			}
			printShell(env, cl)
			return nil
		}),
	}
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "print KEYHOLE_OAUTH_ID and KEYHOLE_OAUTH_SECRET lines (the default)")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	cmd.Flags().StringArrayVar(&logout, "post-logout-redirect-uri", nil, postLogoutHelp)
	return cmd
}

func newClientInfo(env Env) *cobra.Command {
	var asJSON, shell bool
	cmd := &cobra.Command{
		Use:     "clients:info ID",
		Short:   "Show an OAuth client with its secret",
		Example: "  keyhole clients:info 01234567-89ab-cdef-0123-456789abcdef\n  keyhole clients:info 01234567-89ab-cdef-0123-456789abcdef --shell >> .env",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			cl, err := c.Client(ctx, args[0])
			if err != nil {
				return err
			}
			return showClient(env, cl, asJSON, shell)
		}),
	}
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "print KEYHOLE_OAUTH_ID and KEYHOLE_OAUTH_SECRET lines")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newClientUpdate(env Env) *cobra.Command {
	var name, uri string
	var logout []string
	var noLogout bool
	cmd := &cobra.Command{
		Use:   "clients:update ID",
		Short: "Change an OAuth client's name or redirect URI",
		Long: `Change an OAuth client's name, redirect URI or post-logout redirect URIs.
The --post-logout-redirect-uri flags given replace the client's list;
--no-post-logout-redirect-uris clears it.`,
		Example: "  keyhole clients:update 01234567-89ab-cdef-0123-456789abcdef -n Acme --url https://acme.example/callback\n" +
			"  keyhole clients:update 01234567-89ab-cdef-0123-456789abcdef --post-logout-redirect-uri https://acme.example/",
		Args: exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			var in keyholeapi.OAuthClientUpdate
			if name != "" {
				in.Name = &name
			}
			if uri != "" {
				if err := checkRedirect(uri); err != nil {
					return err
				}
				in.RedirectURI = &uri
			}
			switch {
			case noLogout && len(logout) > 0:
				return usagef("give --post-logout-redirect-uri or --no-post-logout-redirect-uris, not both")
			case noLogout:
				in.PostLogoutRedirectURIs = &[]string{}
			case len(logout) > 0:
				for _, u := range logout {
					if err := checkRedirect(u); err != nil {
						return err
					}
				}
				in.PostLogoutRedirectURIs = &logout
			}
			if in.Name == nil && in.RedirectURI == nil && in.PostLogoutRedirectURIs == nil {
				return usagef("no changes provided: give --name, --url or --post-logout-redirect-uri")
			}
			cl, err := c.UpdateClient(ctx, args[0], in)
			if err != nil {
				return err
			}
			done(env, "Updating %s... done", cl.Name)
			return nil
		}),
	}
	cmd.Flags().StringVarP(&name, "name", "n", "", "the new name")
	cmd.Flags().StringVar(&uri, "url", "", "the new redirect URI")
	cmd.Flags().StringArrayVar(&logout, "post-logout-redirect-uri", nil, postLogoutHelp)
	cmd.Flags().BoolVar(&noLogout, "no-post-logout-redirect-uris", false, "remove every post-logout redirect URI")
	return cmd
}

func newClientRotate(env Env) *cobra.Command {
	var asJSON, shell bool
	cmd := &cobra.Command{
		Use:     "clients:rotate ID",
		Short:   "Give an OAuth client a new secret; the old one stops working at once",
		Example: "  keyhole clients:rotate 01234567-89ab-cdef-0123-456789abcdef --shell",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			cl, err := c.RotateClientCredentials(ctx, args[0])
			if err != nil {
				return err
			}
			done(env, "Updating %s... done", cl.Name)
			return showClient(env, cl, asJSON, shell)
		}),
	}
	cmd.Flags().BoolVarP(&shell, "shell", "s", false, "print KEYHOLE_OAUTH_ID and KEYHOLE_OAUTH_SECRET lines")
	cmd.Flags().BoolVarP(&asJSON, "json", "j", false, "print the API's JSON")
	return cmd
}

func newClientDestroy(env Env) *cobra.Command {
	return &cobra.Command{
		Use:     "clients:destroy ID",
		Short:   "Delete an OAuth client and revoke everything issued to it",
		Example: "  keyhole clients:destroy 01234567-89ab-cdef-0123-456789abcdef",
		Args:    exactArgs("ID"),
		RunE: apiCommand(env, func(ctx context.Context, c *keyholeapi.Client, args []string) error {
			cl, err := c.DeleteClient(ctx, args[0])
			if err != nil {
				return err
			}
			done(env, "Destroying %s (%s)... done", cl.Name, cl.ID)
			return nil
		}),
	}
}
