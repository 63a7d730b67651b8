package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/server"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

func runServe(ctx context.Context, env Env, args []string) error {
	var cfg Config
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.StringVar(&cfg.Addr, "addr", envOr(env.Getenv, "KEYHOLE_ADDR", "127.0.0.1:5000"), "listen address (env KEYHOLE_ADDR)")
	fs.StringVar(&cfg.Issuer, "issuer", env.Getenv("KEYHOLE_ISSUER"), "public base URL; default http://<addr> (env KEYHOLE_ISSUER)")
	cfg.boolFlag(fs, &cfg.Signup, "signup", true, env.Getenv, "KEYHOLE_SIGNUP", "let people sign up at /signup")
	cfg.boolFlag(fs, &cfg.LogJSON, "log-json", false, env.Getenv, "KEYHOLE_LOG_JSON", "log as JSON")
	cfg.RateLimit = 4500
	fs.Func("rate-limit", "Platform API calls each account may make per hour, as `N/hour` or N (env KEYHOLE_RATE_LIMIT; default 4500/hour, Heroku's)", cfg.setRateLimit)
	if v := env.Getenv("KEYHOLE_RATE_LIMIT"); v != "" {
		if err := cfg.setRateLimit(v); err != nil {
			cfg.problems = append(cfg.problems, "KEYHOLE_RATE_LIMIT: "+err.Error())
		}
	}
	fs.StringVar(&cfg.RedisURL, "redis-url", env.Getenv("KEYHOLE_REDIS_URL"), "Redis URL redis://… where replicas share rate limits and throttles; default: the database (env KEYHOLE_REDIS_URL)")
	cfg.storeFlags(fs, env.Getenv)
	if err := parse(fs, args, env.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return err
	}
	if err := cfg.validate(true); err != nil {
		return err
	}
	log := newLogger(env, cfg.LogJSON)

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
	limits, closeLimits, err := server.Limits(ctx, st, cfg.RedisURL, time.Now)
	if err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	defer closeLimits()
	svc, err := service.New(service.Deps{Store: server.CacheStore(ctx, st, log), Sealer: sealer, Log: log, Limits: limits})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	issuer := strings.TrimRight(cfg.Issuer, "/")
	if issuer == "" {
		issuer = "http://" + ln.Addr().String()
	}
	handler := server.New(server.Config{
		Service: svc, Keys: sealer, Log: log, Issuer: issuer, Signup: cfg.Signup,
		RateLimit: limits.Budget("api", cfg.RateLimit, time.Hour),
	})
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("keyhole listening", "addr", ln.Addr().String(), "issuer", issuer, "database", describeStore(cfg))
	fmt.Fprintf(env.Stdout, "Keyhole is serving on %s\n", issuer)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	go sweep(ctx, svc, log)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	log.Info("shutting down")
	return srv.Shutdown(shutdown)
}

// sweep deletes expired tokens and device codes every ten minutes until
// ctx ends.
func sweep(ctx context.Context, svc *service.Service, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	for {
		if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func newLogger(env Env, asJSON bool) *slog.Logger {
	if asJSON {
		return slog.New(slog.NewJSONHandler(env.Stderr, nil))
	}
	return slog.New(slog.NewTextHandler(env.Stderr, nil))
}

// openStore opens PostgreSQL when cfg names one, else SQLite in the data
// folder, creating the folder (0700) if needed.
func openStore(ctx context.Context, cfg Config) (store.Store, error) {
	if cfg.Database != "" {
		db, err := postgres.Open(ctx, cfg.Database)
		if err != nil {
			return nil, fmt.Errorf("open PostgreSQL: %w", err)
		}
		return db, nil
	}
	if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
		return nil, fmt.Errorf("create data folder: %w", err)
	}
	db, err := sqlite.Open(ctx, filepath.Join(cfg.DataDir, "keyhole.db"))
	if err != nil {
		return nil, fmt.Errorf("open SQLite: %w", err)
	}
	return db, nil
}

func describeStore(cfg Config) string {
	if cfg.Database != "" {
		return "postgres"
	}
	return "sqlite:" + filepath.Join(cfg.DataDir, "keyhole.db")
}
