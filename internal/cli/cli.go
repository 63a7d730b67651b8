// Package cli is the keyhole command: `keyhole serve` runs the server and the
// other commands administer it.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
)

// Exit codes.
const (
	ExitOK    = 0
	ExitError = 1 // the command failed
	ExitUsage = 2 // bad flags or configuration
)

// Env is what a command may touch of the outside world.
type Env struct {
	Getenv func(string) string
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
}

type command struct {
	summary string
	run     func(ctx context.Context, env Env, args []string) error
}

var commands = map[string]command{
	"serve":                {"run the Keyhole server", runServe},
	"admin:create-account": {"create an account (password read from stdin)", runCreateAccount},
	"admin:generate-key":   {"print a new server key for KEYHOLE_SECRET_KEY", runGenerateKey},
}

// usageError is a problem with flags or configuration: exit code 2.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

// Main runs the command named by args[1] and returns the exit code.
func Main(ctx context.Context, args []string, env Env) int {
	if len(args) < 2 || args[1] == "help" || args[1] == "-h" || args[1] == "--help" {
		usage(env.Stdout)
		if len(args) < 2 {
			return ExitUsage
		}
		return ExitOK
	}
	cmd, ok := commands[args[1]]
	if !ok {
		fmt.Fprintf(env.Stderr, "keyhole: unknown command %q\n\n", args[1])
		usage(env.Stderr)
		return ExitUsage
	}
	if err := cmd.run(ctx, env, args[2:]); err != nil {
		var ue *usageError
		if errors.As(err, &ue) {
			fmt.Fprintf(env.Stderr, "keyhole %s: %s\n", args[1], ue.msg)
			return ExitUsage
		}
		fmt.Fprintf(env.Stderr, "keyhole %s: %v\n", args[1], err)
		return ExitError
	}
	return ExitOK
}

func usage(w io.Writer) {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	b.WriteString("Keyhole: identity provider, OAuth 2.0 server and Platform API.\n\nUsage: keyhole <command> [flags]\n\nCommands:\n")
	for _, n := range names {
		fmt.Fprintf(&b, "  %-22s %s\n", n, commands[n].summary)
	}
	b.WriteString("\nRun `keyhole <command> -h` for a command's flags.\n")
	io.WriteString(w, b.String())
}
