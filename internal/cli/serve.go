package cli

import (
	"context"
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/metrics"
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
	fs.StringVar(&cfg.Issuer, "issuer", env.Getenv("KEYHOLE_ISSUER"), "public base URL; default http(s)://<addr> (env KEYHOLE_ISSUER)")
	cfg.boolFlag(fs, &cfg.Signup, "signup", true, env.Getenv, "KEYHOLE_SIGNUP", "let people sign up at /signup")
	cfg.boolFlag(fs, &cfg.LogJSON, "log-json", false, env.Getenv, "KEYHOLE_LOG_JSON", "log as JSON")
	cfg.RateLimit = 4500
	fs.IntVar(&cfg.CacheSize, "cache-size", intEnv(env.Getenv, "KEYHOLE_CACHE_SIZE", server.DefaultCacheSize, &cfg), "live access tokens, accounts and clients kept in memory; 0 reads every one from the database (env KEYHOLE_CACHE_SIZE)")
	fs.Func("rate-limit", "Platform API calls each account may make per hour, as `N/hour` or N (env KEYHOLE_RATE_LIMIT; default 4500/hour, Heroku's)", cfg.setRateLimit)
	if v := env.Getenv("KEYHOLE_RATE_LIMIT"); v != "" {
		if err := cfg.setRateLimit(v); err != nil {
			cfg.problems = append(cfg.problems, "KEYHOLE_RATE_LIMIT: "+err.Error())
		}
	}
	fs.StringVar(&cfg.RedisURL, "redis-url", env.Getenv("KEYHOLE_REDIS_URL"), "Redis URL redis://… where replicas share rate limits and throttles; default: the database (env KEYHOLE_REDIS_URL)")
	fs.StringVar(&cfg.MetricsAddr, "metrics-addr", env.Getenv("KEYHOLE_METRICS_ADDR"), "serve Prometheus metrics on this address instead of at /metrics on --addr (env KEYHOLE_METRICS_ADDR)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", env.Getenv("KEYHOLE_TLS_CERT"), "PEM certificate chain: serve https (reloaded on SIGHUP; env KEYHOLE_TLS_CERT)")
	fs.StringVar(&cfg.TLSKey, "tls-key", env.Getenv("KEYHOLE_TLS_KEY"), "PEM private key of --tls-cert (env KEYHOLE_TLS_KEY)")
	cfg.boolFlag(fs, &cfg.BehindProxy, "behind-proxy", false, env.Getenv, "KEYHOLE_BEHIND_PROXY", "trust X-Forwarded-For from the load balancer in front")
	cfg.boolFlag(fs, &cfg.HSTSIncludeSubdomains, "hsts-include-subdomains", false, env.Getenv, "KEYHOLE_HSTS_INCLUDE_SUBDOMAINS", "add includeSubDomains to Strict-Transport-Security (https only): for operators who own the whole domain")
	fs.DurationVar(&cfg.Drain, "drain", durationEnv(env.Getenv, "KEYHOLE_DRAIN", 2*time.Second, &cfg), "on SIGTERM, how long /readyz answers 503 before the listener closes (env KEYHOLE_DRAIN)")
	fs.DurationVar(&cfg.ShutdownTimeout, "shutdown-timeout", durationEnv(env.Getenv, "KEYHOLE_SHUTDOWN_TIMEOUT", 20*time.Second, &cfg), "then how long requests in flight may take to finish (env KEYHOLE_SHUTDOWN_TIMEOUT)")
	cfg.MemoryLimit = MemoryLimitAuto
	fs.Func("memory-limit", "the Go runtime's soft memory limit: a `size` such as 256MiB, off, or auto: 96MiB plus 3KiB\nper --cache-size entry (env KEYHOLE_MEMORY_LIMIT; without either, GOMEMLIMIT is kept)", cfg.setMemoryLimit)
	if v := env.Getenv("KEYHOLE_MEMORY_LIMIT"); v != "" {
		if err := cfg.setMemoryLimit(v); err != nil {
			cfg.problems = append(cfg.problems, "KEYHOLE_MEMORY_LIMIT: "+err.Error())
		}
	}
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
	log, accessLog, closeLog := newLogger(env, cfg.LogJSON)
	defer closeLog()
	if limit, from, ok := cfg.memoryLimit(env.Getenv); ok {
		// Put back when serve returns, for callers that run it in process.
		defer debug.SetMemoryLimit(debug.SetMemoryLimit(limit))
		log.Info("memory limit", "bytes", limit, "from", from)
	} else {
		log.Info("memory limit", "bytes", debug.SetMemoryLimit(-1), "from", from)
	}

	var certs *certificate
	if cfg.TLSCert != "" {
		var err error
		if certs, err = loadCertificate(cfg.TLSCert, cfg.TLSKey); err != nil {
			return err
		}
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
	limits, requestLimits, closeLimits, err := server.Limits(ctx, st, cfg.RedisURL, time.Now, log)
	if err != nil {
		return fmt.Errorf("rate limits: %w", err)
	}
	defer closeLimits()
	m := metrics.New()
	cache := server.CacheStore(ctx, st, cfg.CacheSize, log)
	m.Cache(cache)
	switch db := st.(type) {
	case *postgres.DB:
		m.PgxPool(db.Pool())
	case *sqlite.DB:
		m.SQLDB(db.SQL())
	}
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	defer ln.Close()
	scheme := "http"
	if certs != nil {
		scheme = "https"
	}
	issuer := strings.TrimRight(cfg.Issuer, "/")
	if issuer == "" {
		issuer = scheme + "://" + ln.Addr().String()
	}
	svc, err := service.New(service.Deps{Store: cache, Sealer: sealer, Log: log, Limits: limits, RequestLimits: requestLimits, Recorder: m, Mail: cfg.mailer(), Issuer: issuer})
	if err != nil {
		return err
	}
	defer svc.Close()
	// The first start makes the key that signs ID tokens (one replica of
	// several starting at once wins; the others use its key).
	if err := svc.EnsureSigningKey(ctx); err != nil {
		return fmt.Errorf("signing key: %w", err)
	}
	var draining atomic.Bool
	sc := server.Config{
		Service: svc, Keys: sealer, Log: log, Issuer: issuer, Signup: cfg.Signup,
		RateLimit: requestLimits.Budget("api", cfg.RateLimit, time.Hour),
		Metrics:   m, Draining: &draining, BehindProxy: cfg.BehindProxy, HSTSIncludeSubdomains: cfg.HSTSIncludeSubdomains,
		AccessLog: accessLog,
	}
	if cfg.MetricsAddr == "" {
		sc.MetricsPath = "/metrics"
	}
	srv := &http.Server{
		Handler:           server.New(sc),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      60 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	// Long polls (the Heroku CLI's browser login) end when the listener
	// closes, rather than hold the shutdown up for as long as they last.
	srv.RegisterOnShutdown(svc.EndWaits)
	servers := []*http.Server{srv}
	errc := make(chan error, 2)
	if cfg.MetricsAddr != "" {
		mln, err := net.Listen("tcp", cfg.MetricsAddr)
		if err != nil {
			return fmt.Errorf("metrics: %w", err)
		}
		msrv := &http.Server{Handler: m.Handler(), ReadHeaderTimeout: 10 * time.Second}
		servers = append(servers, msrv)
		go func() { errc <- msrv.Serve(mln) }()
		log.Info("metrics listening", "addr", mln.Addr().String())
	}
	if certs != nil {
		srv.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.get}
		go certs.reloadOnHangup(ctx, log)
		go func() { errc <- srv.ServeTLS(ln, "", "") }()
	} else {
		go func() { errc <- srv.Serve(ln) }()
	}
	log.Info("keyhole listening", "addr", ln.Addr().String(), "issuer", issuer, "database", describeStore(cfg), "mail", describeMail(cfg))
	fmt.Fprintf(env.Stdout, "Keyhole is serving on %s\n", issuer)

	go sweep(ctx, svc, st, log)
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	// Readiness flips first, so that the load balancer stops sending new
	// requests; then the listener closes and the requests in flight
	// finish, within the timeout.
	log.Info("shutting down: draining", "drain", cfg.Drain, "timeout", cfg.ShutdownTimeout)
	draining.Store(true)
	time.Sleep(cfg.Drain)
	shutdown, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	var errs []error
	for _, s := range servers {
		errs = append(errs, s.Shutdown(shutdown))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// sweep deletes what expired every ten minutes until ctx ends: tokens,
// sessions, device codes, successors and, in the database, the rate-limit
// rows whose budget is full again.
func sweep(ctx context.Context, svc *service.Service, st store.Store, log *slog.Logger) {
	t := time.NewTicker(10 * time.Minute)
	defer t.Stop()
	var limits interface {
		Sweep(context.Context, int) (int64, error)
	}
	switch db := st.(type) {
	case *postgres.DB:
		limits = db.Limits()
	case *sqlite.DB:
		limits = db.Limits(time.Now)
	}
	for {
		if err := svc.Sweep(ctx); err != nil && ctx.Err() == nil {
			log.Warn("sweep", "err", err)
		}
		if limits != nil {
			for {
				n, err := limits.Sweep(ctx, 500)
				if err != nil && ctx.Err() == nil {
					log.Warn("sweep rate limits", "err", err)
				}
				if err != nil || n < 500 {
					break
				}
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// newLogger is the server's logger, writing to standard error through a
// buffer; close flushes it. text is the buffer when the log is text, for
// the access log's lines (server.Config.AccessLog); nil for JSON.
func newLogger(env Env, asJSON bool) (log *slog.Logger, text io.Writer, close func()) {
	buf := newLogBuffer(env.Stderr)
	if asJSON {
		return slog.New(flushOnWarn{slog.NewJSONHandler(buf, nil), buf}), nil, buf.Close
	}
	return slog.New(flushOnWarn{slog.NewTextHandler(buf, nil), buf}), buf, buf.Close
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

// describeMail names where mail goes, without the SMTP password.
func describeMail(cfg Config) string {
	if s, ok := cfg.mailer().(*mail.SMTP); ok {
		return "smtp:" + s.Addr
	}
	return "outbox:" + filepath.Join(cfg.DataDir, "outbox")
}
