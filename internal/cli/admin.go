package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/service"
)

// runCreateAccount creates an account from the command line, for scripts
// and first set-up. The password is asked for without echo on a terminal,
// or read from standard input (its first line), so it never shows in the
// process list or shell history.
func runCreateAccount(ctx context.Context, env Env, args []string) error {
	var cfg Config
	var email, name string
	fs := flag.NewFlagSet("admin:create-account", flag.ContinueOnError)
	fs.StringVar(&email, "email", "", "the account's email (required)")
	fs.StringVar(&name, "name", "", "the account owner's name")
	cfg.storeFlags(fs, env.Getenv)
	if err := parse(fs, args, env.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.validate(false); err != nil {
		return err
	}
	if email == "" {
		return &usageError{msg: "--email is required"}
	}
	password, err := newPrompter(env).secret("Password: ")
	if err != nil || password == "" {
		return errors.New("the password must be given on standard input (one line), or typed at the prompt")
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	key, err := secret.LoadKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		return fmt.Errorf("server key: %w", err)
	}
	svc, err := service.New(service.Deps{Store: st, Sealer: sealer, Log: slog.New(slog.DiscardHandler), Mail: cfg.mailer()})
	if err != nil {
		return err
	}
	defer svc.Close()
	a, err := svc.CreateAccount(ctx, service.NewAccount{Email: email, Name: name, Password: password})
	if err != nil {
		if code := keyhole.ErrorCode(err); code == keyhole.Conflict || code == keyhole.Invalid {
			return errors.New(keyhole.ErrorMessage(err))
		}
		return err
	}
	fmt.Fprintln(env.Stdout, a.ID)
	return nil
}

// runGenerateKey prints a new server key: base64 of 32 random bytes, for
// KEYHOLE_SECRET_KEY. Every replica of one deployment needs the same one.
func runGenerateKey(ctx context.Context, env Env, args []string) error {
	fs := flag.NewFlagSet("admin:generate-key", flag.ContinueOnError)
	if err := parse(fs, args, env.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	fmt.Fprintln(env.Stdout, secret.NewKey())
	return nil
}
