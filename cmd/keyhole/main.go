// Command keyhole is Keyhole's server and command-line tool.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/keyhole/keyhole/internal/cli"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args, cli.Env{Getenv: os.Getenv, Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr})
	stop()
	os.Exit(code)
}
