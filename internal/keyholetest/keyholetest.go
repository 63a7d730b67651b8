// Package keyholetest builds real Keyhole servers for tests: a real SQLite
// file, or a real PostgreSQL schema of its own when KEYHOLE_TEST_POSTGRES
// names a server, behind the same handler `keyhole serve` runs.
package keyholetest

import (
	"context"
	"crypto/rand"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/pquerna/otp/totp"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/server"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// FastPasswords is a cheap argon2id cost so that tests under -race stay
// quick; production uses secret.OWASP.
var FastPasswords = secret.PasswordParams{Memory: 64, Time: 1, Threads: 1, KeyLen: 32, SaltLen: 16}

// Backend opens a fresh, empty store for one test.
type Backend struct {
	Name string
	Open func(tb testing.TB) store.Store
}

// Backends returns SQLite, and PostgreSQL when KEYHOLE_TEST_POSTGRES is set.
// In CI (CI=true) a missing KEYHOLE_TEST_POSTGRES fails the test rather
// than skipping PostgreSQL silently.
func Backends(tb testing.TB) []Backend {
	tb.Helper()
	bs := []Backend{{Name: "sqlite", Open: OpenSQLite}}
	if os.Getenv("KEYHOLE_TEST_POSTGRES") != "" {
		bs = append(bs, Backend{Name: "postgres", Open: OpenPostgres})
	} else if os.Getenv("CI") == "true" {
		tb.Fatal("KEYHOLE_TEST_POSTGRES must be set in CI")
	}
	return bs
}

// OpenSQLite opens a store in a new SQLite file under tb.TempDir().
func OpenSQLite(tb testing.TB) store.Store {
	tb.Helper()
	db, err := sqlite.Open(context.Background(), filepath.Join(tb.TempDir(), "keyhole.db"))
	if err != nil {
		tb.Fatalf("open sqlite: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// OpenPostgres opens a store in a new schema of the KEYHOLE_TEST_POSTGRES
// database, dropped when the test ends. It skips when the variable is unset
// (and fails in CI).
func OpenPostgres(tb testing.TB) store.Store {
	tb.Helper()
	return OpenPostgresDSN(tb, PostgresSchema(tb))
}

// OpenPostgresDSN opens the PostgreSQL database at dsn (PostgresSchema's),
// closed when the test ends: opened twice, it stands for two replicas.
func OpenPostgresDSN(tb testing.TB, dsn string) store.Store {
	tb.Helper()
	db, err := postgres.Open(context.Background(), dsn)
	if err != nil {
		tb.Fatalf("open postgres: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// PostgresSchema creates an empty schema in the KEYHOLE_TEST_POSTGRES
// database and returns a URL whose connections use it; the schema is
// dropped when the test ends (after the test's own cleanups). It skips
// when the variable is unset, and fails in CI.
func PostgresSchema(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("KEYHOLE_TEST_POSTGRES")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("KEYHOLE_TEST_POSTGRES must be set in CI")
		}
		tb.Skip("KEYHOLE_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	schema := "kh_test_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("connect to KEYHOLE_TEST_POSTGRES: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		tb.Fatalf("create schema: %v", err)
	}
	tb.Cleanup(func() {
		c, err := pgx.Connect(context.Background(), base)
		if err != nil {
			tb.Errorf("drop schema: %v", err)
			return
		}
		defer c.Close(context.Background())
		if _, err := c.Exec(context.Background(), "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			tb.Errorf("drop schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		tb.Fatalf("parse KEYHOLE_TEST_POSTGRES: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	q.Set("pool_max_conns", "4")
	u.RawQuery = q.Encode()
	return u.String()
}

// Server is a running Keyhole with its parts exposed to the test.
type Server struct {
	*httptest.Server
	Store   store.Store
	Service *service.Service
	// RateLimit is the API's budget.
	RateLimit ratelimit.Budget
	// Keys seals with the server key.
	Keys *secret.Sealer
	// Issuer is the server's public base URL (equal to URL).
	Issuer string
	// Outbox is the folder the server's mail is written to, "" when
	// Options.Mail delivers it elsewhere.
	Outbox  string
	mailbox *Mailbox
}

// Options tune NewServer.
type Options struct {
	// Store is the backend; nil means a new SQLite file. The server puts
	// its cache in front (Server.Store is the cached store); servers that
	// stand for processes of one SQLite deployment share a cached store.
	Store store.Store
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// RateLimit is the bucket size per hour; 0 means Heroku's 4500.
	RateLimit int
	// RefreshGrace is passed to the service; 0 means its default.
	RefreshGrace time.Duration
	// Log receives every log line; nil logs warnings and errors to the test.
	Log *slog.Logger
	// NoSignup turns /signup off.
	NoSignup bool
	// Key is the server key; nil makes a random one. Servers that stand
	// for replicas of one deployment share it.
	Key []byte
	// Limits keeps rate limits and throttles; nil chooses as keyhole serve
	// does: the throttles in the database, the budgets every request
	// spends (the API's rate limit, unknown tokens) in the database on
	// PostgreSQL and in the process on SQLite.
	Limits ratelimit.Limits
	// DeviceInterval is the seconds a device waits between polls; 0 means
	// the service's default (5).
	DeviceInterval int
	// Mail delivers the server's mail; nil writes it to an outbox folder
	// of the test (Server.Outbox), as `keyhole serve` does by default.
	Mail mail.Sender
	// Issuer is the public base URL; "" means the server's own address.
	// Replicas behind one load balancer share the balancer's.
	Issuer string
}

// NewServer starts a Keyhole server for the test, closed when it ends.
func NewServer(tb testing.TB, o Options) *Server {
	tb.Helper()
	if o.Store == nil {
		o.Store = OpenSQLite(tb)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.RateLimit == 0 {
		o.RateLimit = 4500
	}
	key := o.Key
	if key == nil {
		key = make([]byte, 32)
		_, _ = rand.Read(key)
	}
	sealer, err := secret.NewSealer(key)
	if err != nil {
		tb.Fatal(err)
	}
	log := o.Log
	if log == nil {
		log = slog.New(slog.NewTextHandler(testWriter{tb}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	// The cache in front of the store, as keyhole serve has it; on
	// PostgreSQL it watches the database's change notifications until the
	// test ends.
	watch, stopWatch := context.WithCancel(context.Background())
	tb.Cleanup(stopWatch)
	o.Store = server.CacheStore(watch, o.Store, server.DefaultCacheSize, log)
	// The budgets every request spends: bounded by the process's while
	// the store of o.Limits cannot be reached, as keyhole serve has them.
	requests := server.Bounded(o.Limits, o.Now, log)
	if o.Limits == nil {
		var err error
		if o.Limits, requests, _, err = server.Limits(context.Background(), o.Store, "", o.Now, log); err != nil {
			tb.Fatal(err)
		}
	}
	ts := httptest.NewUnstartedServer(nil)
	issuer := "http://" + ts.Listener.Addr().String()
	if o.Issuer != "" {
		issuer = o.Issuer
	}
	var outbox string
	if o.Mail == nil {
		outbox = filepath.Join(tb.TempDir(), "outbox")
		o.Mail = &mail.Outbox{Dir: outbox, From: "Keyhole <keyhole@example.com>"}
	}
	svc, err := service.New(service.Deps{Store: o.Store, Sealer: sealer, Log: log, Now: o.Now, Password: FastPasswords, RefreshGrace: o.RefreshGrace,
		Limits: o.Limits, RequestLimits: requests, DeviceInterval: o.DeviceInterval, Mail: o.Mail, Issuer: issuer})
	if err != nil {
		tb.Fatal(err)
	}
	lim := requests.Budget("api", o.RateLimit, time.Hour)
	ts.Config.Handler = server.New(server.Config{Service: svc, Keys: sealer, Log: log, Issuer: issuer, Signup: !o.NoSignup, RateLimit: lim})
	ts.Config.RegisterOnShutdown(svc.EndWaits) // as keyhole serve does
	ts.Start()
	tb.Cleanup(func() {
		svc.EndWaits()
		ts.Close()
		svc.Close()
	})
	return &Server{Server: ts, Store: o.Store, Service: svc, RateLimit: lim, Keys: sealer, Issuer: issuer, Outbox: outbox}
}

// CreateAccount signs up an account through the service and fails the test
// on error.
func (s *Server) CreateAccount(tb testing.TB, email, password string) string {
	tb.Helper()
	a, err := s.Service.CreateAccount(context.Background(), service.NewAccount{Email: email, Password: password})
	if err != nil {
		tb.Fatalf("create account %s: %v", email, err)
	}
	return a.ID
}

// Login gets a global token for the account the way the Heroku CLI does,
// through the service, and fails the test on error.
func (s *Server) Login(tb testing.TB, email, password string) string {
	tb.Helper()
	info, err := s.Service.Login(context.Background(), service.LoginRequest{
		Email: email, Password: password, IP: "127.0.0.1", Params: service.AuthorizationParams{Description: "test login"},
	})
	if err != nil {
		tb.Fatalf("login %s: %v", email, err)
	}
	return info.Access.Value.Reveal()
}

// APIKey returns the account's API key in clear, read from the store and
// opened with the server key (as the dashboard's Reveal does, without its
// session and re-authentication), and fails the test on error.
func (s *Server) APIKey(tb testing.TB, email, password string) string {
	tb.Helper()
	ctx := context.Background()
	a, err := s.Service.Authenticate(ctx, email, password, service.Origin{IP: "127.0.0.1"})
	if err != nil {
		tb.Fatalf("API key of %s: %v", email, err)
	}
	auth, err := s.Store.DefaultAuthorization(ctx, a.ID)
	if err != nil {
		tb.Fatalf("API key of %s: %v", email, err)
	}
	tokens, err := s.Store.Tokens(ctx, auth.ID)
	if err != nil {
		tb.Fatal(err)
	}
	for _, t := range tokens {
		if t.Kind == keyhole.AccessToken && t.UsedAt.IsZero() && len(t.Sealed) > 0 {
			raw, err := s.Keys.Open(t.Sealed, []byte(auth.ID))
			if err != nil {
				tb.Fatal(err)
			}
			return string(raw)
		}
	}
	tb.Fatalf("%s has no API key", email)
	return ""
}

type testWriter struct{ tb testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.tb.Helper()
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// EnableMFA turns two-factor authentication on for the account the way the
// dashboard does (a browser session, a new seed, the password and a first
// code) and returns the TOTP seed and the recovery codes. The first code
// used the current time step: the next sign-in needs another step's code
// (TOTPCode with an offset).
func (s *Server) EnableMFA(tb testing.TB, email, password string) (seed string, codes []string) {
	tb.Helper()
	ctx := context.Background()
	in, err := s.Service.StartSession(ctx, service.BrowserLogin{Email: email, Password: password, IP: "127.0.0.1"})
	if err != nil || in.Secret == "" {
		tb.Fatalf("enable MFA for %s: sign in: %v", email, err)
	}
	actor, _, err := s.Service.SessionActor(ctx, in.Secret.Reveal())
	if err != nil {
		tb.Fatal(err)
	}
	actor.IP = "127.0.0.1"
	e, err := s.Service.StartMFA(ctx, actor)
	if err != nil {
		tb.Fatal(err)
	}
	secrets, err := s.Service.EnableMFA(ctx, actor, e.Handle, password, TOTPCode(tb, e.Secret.Reveal(), s.Service.Now(), 0))
	if err != nil {
		tb.Fatalf("enable MFA for %s: %v", email, err)
	}
	for _, c := range secrets {
		codes = append(codes, c.Reveal())
	}
	if err := s.Service.EndSession(ctx, in.Secret.Reveal(), service.Origin{}); err != nil {
		tb.Fatal(err)
	}
	return e.Secret.Reveal(), codes
}

// TOTPCode computes the one-time code of seed for the time step `steps`
// steps of 30 seconds away from at, as an authenticator app shows it.
func TOTPCode(tb testing.TB, seed string, at time.Time, steps int) string {
	tb.Helper()
	code, err := totp.GenerateCode(seed, at.Add(time.Duration(steps)*30*time.Second))
	if err != nil {
		tb.Fatal(err)
	}
	return code
}
