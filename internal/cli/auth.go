package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/cli/browser"
	"github.com/spf13/cobra"
	"golang.org/x/oauth2"

	"github.com/keyhole/keyhole/keyholeapi"
)

// loginTTL is what an interactive login asks for, and the most it may:
// 30 days, as Heroku's CLI.
const loginTTL = 30 * 24 * 3600

func authCommands(env Env) []*cobra.Command {
	return []*cobra.Command{newLogin(env), newLogout(env), newToken(env), newWhoami(env)}
}

type loginOptions struct {
	interactive bool
	noBrowser   bool
	expiresIn   int
}

func newLogin(env Env) *cobra.Command {
	var o loginOptions
	cmd := &cobra.Command{
		Use:     "login",
		Aliases: []string{"auth:login"},
		Short:   "Log in to Keyhole, in the browser or with email and password (-i)",
		Long: `Log in to Keyhole and keep the login's token in the netrc file.

Without flags the login happens in a browser (the OAuth 2.0 device flow):
keyhole prints an address and a code, opens the browser when it can, and
waits while you sign in there and allow the login. Signing out of that
browser later ends this login too.

With -i it asks for your email and password (and a two-factor code when
your account has one) on the terminal, or reads them from standard input,
one per line, when it is not a terminal.`,
		Example: `  keyhole login
  keyhole login --no-browser
  keyhole login -i
  printf '%s\n' ada@example.com "$PASSWORD" | keyhole login -i`,
		Args: cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return runLogin(cmd.Context(), env, o)
		}),
	}
	cmd.Flags().BoolVarP(&o.interactive, "interactive", "i", false, "log in with email and password instead of the browser")
	cmd.Flags().BoolVar(&o.noBrowser, "no-browser", false, "print the address to open instead of opening a browser")
	cmd.Flags().IntVarP(&o.expiresIn, "expires-in", "e", 0, "with -i: seconds until the login ends (at most 30 days, the default)")
	return cmd
}

func runLogin(ctx context.Context, env Env, o loginOptions) error {
	if o.expiresIn < 0 || o.expiresIn > loginTTL {
		return usagef("--expires-in must be between 1 and %d seconds (30 days)", loginTTL)
	}
	if env.Getenv("KEYHOLE_API_KEY") != "" {
		return errors.New("KEYHOLE_API_KEY is set, and it wins over any login: unset it to log in")
	}
	if o.expiresIn > 0 && !o.interactive {
		o.interactive = true // as Heroku's CLI: -e means -i
	}
	r, err := newRemote(env)
	if err != nil {
		return err
	}
	var email, token string
	if o.interactive {
		email, token, err = loginInteractive(ctx, env, r, o.expiresIn)
	} else {
		email, token, err = loginDevice(ctx, env, r, o.noBrowser)
	}
	if err != nil {
		return err
	}
	if err := r.netrc.save(r.host, email, token); err != nil {
		return err
	}
	fmt.Fprintf(env.Stderr, "Logged in as %s\n", email)
	return nil
}

func loginInteractive(ctx context.Context, env Env, r *remote, expiresIn int) (string, string, error) {
	p := newPrompter(env)
	fmt.Fprintln(env.Stderr, "Enter your Keyhole credentials.")
	email, err := p.line("Email: ")
	if err != nil {
		return "", "", err
	}
	password, err := p.secret("Password: ")
	if err != nil {
		return "", "", err
	}
	if expiresIn == 0 {
		expiresIn = loginTTL
	}
	c, err := r.clientWith("")
	if err != nil {
		return "", "", err
	}
	in := keyholeapi.AuthorizationCreate{
		Description: "Keyhole CLI login from " + hostname(), Scope: []string{"global"}, ExpiresIn: &expiresIn,
	}
	auth, err := c.Login(ctx, email, password, "", in)
	if keyholeapi.IsTwoFactor(err) {
		fmt.Fprintln(env.Stderr, "Two-factor code required.")
		code, perr := p.line("Two-factor code: ")
		if perr != nil {
			return "", "", perr
		}
		auth, err = c.Login(ctx, email, password, strings.TrimSpace(code), in)
	}
	if err != nil {
		return "", "", apiError(err)
	}
	if auth.AccessToken == nil || auth.AccessToken.Token == "" {
		return "", "", errors.New("the server answered the login without a token")
	}
	return auth.User.Email, auth.AccessToken.Token, nil
}

// loginDevice logs in with the device flow (RFC 8628) of the built-in CLI
// client, through golang.org/x/oauth2, which polls at the server's
// interval and slows down when told to.
func loginDevice(ctx context.Context, env Env, r *remote, noBrowser bool) (string, string, error) {
	c, err := r.clientWith("")
	if err != nil {
		return "", "", err
	}
	conf := c.OAuth2Config(keyholeapi.CLIClientID, "", "global")
	octx := c.OAuth2Context(ctx)
	da, err := conf.DeviceAuth(octx, oauth2.SetAuthURLParam("description", "Keyhole CLI login from "+hostname()))
	if err != nil {
		return "", "", oauthError(err)
	}
	fmt.Fprintf(env.Stderr, "To log in, open %s and enter the code %s\n", da.VerificationURI, da.UserCode)
	if !noBrowser {
		open := da.VerificationURIComplete
		if open == "" {
			open = da.VerificationURI
		}
		if err := openBrowser(env, open); err != nil {
			fmt.Fprintf(env.Stderr, "Could not open a browser (%v): open the address yourself.\n", oneLine(err.Error()))
		} else {
			fmt.Fprintln(env.Stderr, "Opened your browser; waiting for you to allow the login there...")
		}
	}
	tok, err := conf.DeviceAccessToken(octx, da)
	if err != nil {
		return "", "", oauthError(err)
	}
	acct, err := keyholeapi.New(r.url, keyholeapi.WithToken(tok.AccessToken))
	if err != nil {
		return "", "", err
	}
	a, err := acct.Account(ctx)
	if err != nil {
		return "", "", apiError(err)
	}
	return a.Email, tok.AccessToken, nil
}

// oauthError makes an OAuth error of golang.org/x/oauth2 one clear line.
func oauthError(err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		msg := re.ErrorDescription
		if msg == "" {
			msg = re.ErrorCode
		}
		if msg == "" && re.Response != nil {
			msg = re.Response.Status
		}
		id := re.ErrorCode
		if re.Response != nil && re.Response.Header.Get("Request-Id") != "" {
			id += "; request id " + re.Response.Header.Get("Request-Id")
		}
		return fmt.Errorf("login failed: %s (%s)", msg, id)
	}
	return err
}

// openBrowser opens url with the command BROWSER names, else the
// system's (xdg-open, open, …). A BROWSER command is started, not waited
// for: a browser may run for long.
func openBrowser(env Env, url string) error {
	if b := strings.Fields(env.Getenv("BROWSER")); len(b) > 0 {
		cmd := exec.Command(b[0], append(b[1:], url)...)
		cmd.Stdout, cmd.Stderr = env.Stderr, env.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		go func() { _ = cmd.Wait() }()
		return nil
	}
	browser.Stdout, browser.Stderr = io.Discard, io.Discard
	return browser.OpenURL(url)
}

func newLogout(env Env) *cobra.Command {
	return &cobra.Command{
		Use:     "logout",
		Aliases: []string{"auth:logout"},
		Short:   "End this CLI login on the server and remove it from the netrc file",
		Long: `End the CLI login whose token the netrc file holds: its login session and
authorization end on the server, and the netrc entry is removed. An API key
(the "~" authorization) is never revoked this way.`,
		Example: "  keyhole logout",
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			return runLogout(cmd.Context(), env)
		}),
	}
}

func runLogout(ctx context.Context, env Env) error {
	r, err := newRemote(env)
	if err != nil {
		return err
	}
	_, token, ok, err := r.netrc.lookup(r.host)
	if err != nil {
		return err
	}
	if !ok {
		fmt.Fprintln(env.Stderr, "Not logged in.")
		return nil
	}
	c, err := r.clientWith(token)
	if err != nil {
		return err
	}
	if err := revokeLogin(ctx, c, token); err != nil {
		return apiError(err)
	}
	if _, err := r.netrc.remove(r.host); err != nil {
		return err
	}
	done(env, "Logging out... done")
	return nil
}

// revokeLogin ends the login of token as Heroku's CLI does: its session
// ("~"), then the authorization whose token it is unless that is the API
// key. A token that no longer works has nothing left to revoke.
func revokeLogin(ctx context.Context, c *keyholeapi.Client, token string) error {
	_, err := c.DeleteSession(ctx, "~")
	var e *keyholeapi.Error
	switch {
	case err == nil, keyholeapi.IsUnauthorized(err):
	case errors.As(err, &e) && e.ID == "not_found" && e.Resource == "session":
	default:
		return err
	}
	auths, err := c.Authorizations(ctx, nil)
	if keyholeapi.IsUnauthorized(err) {
		return nil
	}
	if err != nil {
		return err
	}
	key, err := c.Authorization(ctx, "~")
	if err != nil && !keyholeapi.IsNotFound(err) {
		return err
	}
	if key != nil && key.AccessToken.Matches(token) {
		return nil
	}
	for _, a := range auths {
		if a.AccessToken.Matches(token) {
			if _, err := c.DeleteAuthorization(ctx, a.ID); err != nil && !keyholeapi.IsNotFound(err) {
				return err
			}
		}
	}
	return nil
}

func newToken(env Env) *cobra.Command {
	return &cobra.Command{
		Use:   "auth:token",
		Short: "Print the token the CLI uses",
		Long: `Print the token the CLI uses (KEYHOLE_API_KEY, else the netrc entry), for
scripts: curl -H "Authorization: Bearer $(keyhole auth:token)" …
It warns on standard error when the token expires.`,
		Example: `  curl -H "Authorization: Bearer $(keyhole auth:token)" "$KEYHOLE_API_URL/account"`,
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			r, err := newRemote(env)
			if err != nil {
				return err
			}
			tok, err := r.token()
			if err != nil {
				return err
			}
			c, err := r.clientWith(tok)
			if err != nil {
				return err
			}
			auths, err := c.Authorizations(cmd.Context(), nil)
			switch {
			case err != nil:
				fmt.Fprintf(env.Stderr, "Warning: could not check the token's expiry: %s\n", oneLine(apiError(err).Error()))
			default:
				for _, a := range auths {
					if a.AccessToken.Matches(tok) && a.AccessToken.ExpiresIn != nil {
						left := time.Duration(*a.AccessToken.ExpiresIn) * time.Second
						fmt.Fprintf(env.Stderr, "Warning: this token expires in %s (%s).\n", humanDuration(left), timeText(time.Now().Add(left)))
					}
				}
			}
			fmt.Fprintln(env.Stdout, tok)
			return nil
		}),
	}
}

func newWhoami(env Env) *cobra.Command {
	return &cobra.Command{
		Use:     "auth:whoami",
		Aliases: []string{"whoami"},
		Short:   "Print the email of the account the CLI is logged in as",
		Example: "  keyhole whoami",
		Args:    cobra.NoArgs,
		RunE: run(func(cmd *cobra.Command, args []string) error {
			r, err := newRemote(env)
			if err != nil {
				return err
			}
			c, err := r.client()
			if err != nil {
				return err
			}
			a, err := c.Account(cmd.Context())
			if err != nil {
				return apiError(err)
			}
			fmt.Fprintln(env.Stdout, a.Email)
			return nil
		}),
	}
}

func humanDuration(d time.Duration) string {
	switch {
	case d >= 48*time.Hour:
		return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
	case d >= 2*time.Hour:
		return fmt.Sprintf("%d hours", int(d/time.Hour))
	case d >= 2*time.Minute:
		return fmt.Sprintf("%d minutes", int(d/time.Minute))
	default:
		return fmt.Sprintf("%d seconds", int(d/time.Second))
	}
}
