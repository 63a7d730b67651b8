package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

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
	svc, closeAll, err := adminService(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
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

// adminService opens the database of cfg and a service over it, for the
// admin commands, and returns what closes both.
func adminService(ctx context.Context, cfg Config) (*service.Service, func(), error) {
	st, err := openStore(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	key, err := secret.LoadKey(cfg.SecretKey, cfg.DataDir)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("server key: %w", err)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		st.Close()
		return nil, nil, fmt.Errorf("server key: %w", err)
	}
	svc, err := service.New(service.Deps{Store: st, Sealer: sealer, Log: slog.New(slog.DiscardHandler), Mail: cfg.mailer()})
	if err != nil {
		st.Close()
		return nil, nil, err
	}
	return svc, func() { svc.Close(); st.Close() }, nil
}

// runRotateSigningKey adds a key to sign ID tokens, in the database every
// replica reads: published at once, it signs from --lead on (by default
// service.SigningKeyLead); the key before it stays published until the
// last ID token it signed has expired. It prints the new key's id and
// when it starts signing.
func runRotateSigningKey(ctx context.Context, env Env, args []string) error {
	var cfg Config
	fs := flag.NewFlagSet("admin:rotate-signing-key", flag.ContinueOnError)
	lead := fs.Duration("lead", service.SigningKeyLead, "how long the new key is published before it signs; 0 makes it sign at once (for a key that leaked)")
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
	svc, closeAll, err := adminService(ctx, cfg)
	if err != nil {
		return err
	}
	defer closeAll()
	k, err := svc.RotateSigningKey(ctx, *lead)
	if err != nil {
		if keyhole.ErrorCode(err) == keyhole.Invalid {
			return &usageError{msg: keyhole.ErrorMessage(err)}
		}
		return err
	}
	fmt.Fprintf(env.Stdout, "%s signs from %s\n", k.ID, k.ActivatesAt.UTC().Format(time.RFC3339))
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
