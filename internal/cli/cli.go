// Package cli is the keyhole command: `keyhole serve` runs the server, the
// admin: commands administer it, and the rest (login, auth:*,
// authorizations:*, clients:*, sessions:*, teams, members:*, apps:*,
// access:*) are a client of its Platform
// API through the public keyholeapi package, with the names, arguments
// and output of Heroku's CLI.
//
// Commands are built with cobra, which gives help for every command,
// shell completion (`keyhole completion bash|zsh|fish|powershell`) and a
// "did you mean" for mistyped command names. The server and admin
// commands keep their own flag sets (package flag).
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed: an API, network or local error
	ExitUsage = 2 // bad command, arguments, flags or configuration
)

// Env is what a command may touch of the outside world.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

// usageError is a problem with the command line or configuration: exit
// code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return &usageError{msg: fmt.Sprintf(format, args...)} }

// runError is an error of a command that ran: exit code 1. Errors cobra
// returns itself (unknown commands, flags or argument counts) are not
// wrapped, and are usage errors.
type runError struct{ err error }

func (e *runError) Error() string { return e.err.Error() }
func (e *runError) Unwrap() error { return e.err }

// Main runs the command args[1:] and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if env.Getenv == nil {
		env.Getenv = func(string) string { return "" }
	}
	if env.Stdin == nil {
		env.Stdin = strings.NewReader("")
	}
	root := newRoot(env)
	root.SetArgs(args[1:])
	root.SetIn(env.Stdin)
	root.SetOut(env.Stdout)
	root.SetErr(env.Stderr)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return ExitOK
	}
	var ue *usageError
	var re *runError
	switch {
	case errors.As(err, &ue):
		fmt.Fprintf(env.Stderr, "keyhole: %s\n", ue.msg)
		if !strings.HasPrefix(ue.msg, "invalid configuration") {
			fmt.Fprintln(env.Stderr, "Run 'keyhole --help' for usage.")
		}
		return ExitUsage
	case errors.As(err, &re) && errors.Is(err, context.Canceled) && ctx.Err() != nil:
		fmt.Fprintln(env.Stderr, "keyhole: interrupted")
		return ExitError
	case errors.As(err, &re):
		fmt.Fprintf(env.Stderr, "keyhole: %s\n", oneLine(re.err.Error()))
		return ExitError
	default:
		// cobra's own: an unknown command (with its suggestions), flag or
		// argument count.
		fmt.Fprintf(env.Stderr, "keyhole: %s\n", strings.TrimRight(err.Error(), "\n"))
		fmt.Fprintln(env.Stderr, "Run 'keyhole --help' for usage.")
		return ExitUsage
	}
}

// oneLine keeps an error on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", " ")), " ")
}

// run adapts a command's run function: its errors exit 1 unless they are
// usage errors.
func run(fn func(cmd *cobra.Command, args []string) error) func(*cobra.Command, []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := fn(cmd, args); err != nil {
			var ue *usageError
			if errors.As(err, &ue) {
				return err
			}
			return &runError{err}
		}
		return nil
	}
}

// exactArgs wants exactly the named arguments.
func exactArgs(names ...string) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) != len(names) {
			return usagef("%s takes %d argument(s): %s (got %d)", cmd.Name(), len(names), strings.Join(names, " "), len(args))
		}
		return nil
	}
}

// version is the module's version as the build recorded it.
func version() string {
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	return v
}

func newRoot(env Env) *cobra.Command {
	root := &cobra.Command{
		Use:   "keyhole",
		Short: "Keyhole: identity provider, OAuth 2.0 server and Platform API",
		Long: `Keyhole: identity provider, OAuth 2.0 server and Platform API.

'keyhole serve' runs the server. The other commands are its command line:
they talk to the Keyhole at KEYHOLE_API_URL (default http://127.0.0.1:5000)
with the token in KEYHOLE_API_KEY or, after 'keyhole login', in ~/.netrc
(or the file NETRC names), as Heroku's CLI does.`,
		Version:       version(),
		SilenceErrors: true,
		SilenceUsage:  true,
		// No Args and no Run: cobra then answers an unknown command with
		// suggestions ("did you mean"), and no command with the help.
	}
	root.SetVersionTemplate("keyhole {{.Version}} " + runtime.GOOS + "/" + runtime.GOARCH + " " + runtime.Version() + "\n")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usagef("%s: %v", cmd.Name(), err)
	})
	root.AddGroup(
		&cobra.Group{ID: "auth", Title: "Logging in:"},
		&cobra.Group{ID: "oauth", Title: "OAuth authorizations, clients and sessions:"},
		&cobra.Group{ID: "teams", Title: "Teams, apps and who has access to them:"},
		&cobra.Group{ID: "server", Title: "Running and administering a server:"},
	)
	root.SetHelpCommandGroupID("")
	root.SetCompletionCommandGroupID("")
	for _, c := range serverCommands(env) {
		c.GroupID = "server"
		root.AddCommand(c)
	}
	for _, c := range authCommands(env) {
		c.GroupID = "auth"
		root.AddCommand(c)
	}
	for _, c := range append(append(authorizationCommands(env), clientCommands(env)...), sessionCommands(env)...) {
		c.GroupID = "oauth"
		root.AddCommand(c)
	}
	for _, c := range teamCommands(env) {
		c.GroupID = "teams"
		root.AddCommand(c)
	}
	root.AddCommand(&cobra.Command{
		Use:   "version",
		Short: "Print keyhole's version",
		Args:  cobra.NoArgs,
		Run: func(cmd *cobra.Command, args []string) {
			fmt.Fprintf(env.Stdout, "keyhole %s %s/%s %s\n", version(), runtime.GOOS, runtime.GOARCH, runtime.Version())
		},
	})
	return root
}

// serverCommands are serve and the admin commands, which keep their flag
// sets: cobra passes their arguments through untouched.
func serverCommands(env Env) []*cobra.Command {
	mk := func(name, short string, fn func(context.Context, Env, []string) error) *cobra.Command {
		c := &cobra.Command{
			Use:                name + " [flags]",
			Short:              short,
			DisableFlagParsing: true,
			RunE: run(func(cmd *cobra.Command, args []string) error {
				return fn(cmd.Context(), env, args)
			}),
		}
		c.SetHelpFunc(func(cmd *cobra.Command, _ []string) {
			_ = fn(cmd.Context(), env, []string{"-h"})
		})
		return c
	}
	return []*cobra.Command{
		mk("serve", "Run the Keyhole server", runServe),
		mk("admin:create-account", "Create an account (the password is asked for, or read from standard input)", runCreateAccount),
		mk("admin:generate-key", "Print a new server key for KEYHOLE_SECRET_KEY", runGenerateKey),
		mk("admin:rotate-signing-key", "Add a new key to sign ID tokens; it signs 10 minutes later, the old key stays published until its tokens expire", runRotateSigningKey),
	}
}

// stdinTerminal returns the file descriptor of standard input when it is
// a terminal.
func stdinTerminal(r io.Reader) (int, bool) {
	f, ok := r.(*os.File)
	if !ok {
		return 0, false
	}
	return int(f.Fd()), isTerminal(int(f.Fd()))
}
