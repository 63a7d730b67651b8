package postgres_test

import (
	"context"
	"errors"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/ratelimit/ratelimittest"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

// These tests need a server: KEYHOLE_TEST_POSTGRES names a database in
// which each test gets a schema of its own (keyholetest.PostgresSchema).
// They skip without it, except in CI (CI=true), where they fail.

func schemaURL(tb testing.TB) string { return keyholetest.PostgresSchema(tb) }

// connect returns a pool of its own on url, which may hold pool settings.
func connect(tb testing.TB, url string) *pgxpool.Pool {
	tb.Helper()
	pool, err := pgxpool.New(context.Background(), url)
	if err != nil {
		tb.Fatalf("connect: %v", err)
	}
	return pool
}

// exec runs statements on a connection of its own.
func exec(tb testing.TB, url string, sql string, args ...any) {
	tb.Helper()
	pool := connect(tb, url)
	defer pool.Close()
	if _, err := pool.Exec(context.Background(), sql, args...); err != nil {
		tb.Fatalf("%.60s: %v", sql, err)
	}
}

func open(tb testing.TB, url string) *postgres.DB {
	tb.Helper()
	db, err := postgres.Open(context.Background(), url)
	if err != nil {
		tb.Fatalf("open: %v", err)
	}
	tb.Cleanup(func() { db.Close() })
	return db
}

// TestConformance runs the store suite, each case in a fresh schema.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store { return open(t, schemaURL(t)) })
}

var (
	ctx = context.Background()
	t0  = time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
)

func newAccount(t *testing.T, db *postgres.DB, id, email string) (keyhole.Account, keyhole.Token) {
	t.Helper()
	a := keyhole.Account{ID: id, Email: email, PasswordHash: "$argon2id$x", CreatedAt: t0, UpdatedAt: t0}
	key := keyhole.Authorization{ID: "key-" + id, AccountID: id, Scope: []string{"global"}, Default: true, CreatedAt: t0, UpdatedAt: t0}
	tk := keyhole.Token{ID: "tk-" + id, AuthorizationID: key.ID, Kind: keyhole.AccessToken, Hash: "hash-" + id, CreatedAt: t0}
	if err := db.CreateAccount(ctx, a, key, []keyhole.Token{tk}); err != nil {
		t.Fatalf("create account: %v", err)
	}
	return a, tk
}

// TestReopen opens one schema twice: the second Open finds every migration
// applied, and the data is kept.
func TestReopen(t *testing.T) {
	u := schemaURL(t)
	db := open(t, u)
	newAccount(t, db, "a1", "ada@example.com")
	db.Close()
	db = open(t, u)
	if _, err := db.AccountByEmail(ctx, "ADA@example.com"); err != nil {
		t.Fatalf("after reopen: %v", err)
	}
	conn := connect(t, u)
	defer conn.Close()
	rows, _ := conn.Query(ctx, `SELECT version FROM schema_migrations ORDER BY version`)
	versions, err := pgx.CollectRows(rows, pgx.RowTo[int32])
	var want []int32
	files, _ := os.ReadDir("migrations")
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		want = append(want, int32(v))
	}
	if err != nil || len(want) < 3 || !slices.Equal(versions, want) {
		t.Errorf("schema_migrations = %v, %v; want every migration, %v", versions, err, want)
	}
	// Nothing lands outside the schema the URL names.
	var schema string
	if err := conn.QueryRow(ctx, `SELECT table_schema FROM information_schema.tables WHERE table_name = 'accounts' AND table_schema = current_schema()`).Scan(&schema); err != nil {
		t.Errorf("accounts is not in the search_path schema: %v", err)
	}
}

// TestConcurrentMigrations opens several stores on one fresh schema at
// once, as replicas starting together do: the advisory lock lets exactly
// one migrate and the others find the schema ready.
func TestConcurrentMigrations(t *testing.T) {
	u := schemaURL(t)
	var wg sync.WaitGroup
	errs := make([]error, 4)
	for i := range errs {
		wg.Go(func() {
			db, err := postgres.Open(ctx, u)
			if err == nil {
				err = db.Ping(ctx)
				db.Close()
			}
			errs[i] = err
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

// TestUpgradeFromVersion1 starts from a database the previous binary made
// (migration 0001 alone: times in microseconds, space-separated scopes)
// and checks that opening it converts the data in place.
func TestUpgradeFromVersion1(t *testing.T) {
	u := schemaURL(t)
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	us := t0.UnixMicro()
	exec(t, u, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at BIGINT NOT NULL)`)
	exec(t, u, string(v1))
	exec(t, u, `INSERT INTO schema_migrations VALUES (1, $1)`, us)
	exec(t, u, `INSERT INTO accounts (id, email, email_key, name, password_hash, last_login, created_at, updated_at)
		VALUES ('a1', 'Ada@Example.com', 'ada@example.com', 'Ada', 'h', NULL, $1, $1)`, us)
	exec(t, u, `INSERT INTO sessions (id, account_id, hash, created_at, expires_at) VALUES ('s1', 'a1', NULL, $1, $1::BIGINT + 3600000000)`, us)
	exec(t, u, `INSERT INTO authorizations (id, account_id, session_id, scope, created_at, updated_at)
		VALUES ('z1', 'a1', 's1', 'read identity', $1, $1), ('z2', 'a1', NULL, '', $1, $1)`, us)
	exec(t, u, `INSERT INTO tokens (id, authorization_id, kind, hash, expires_at, created_at, used_at)
		VALUES ('t1', 'z1', 'refresh', 'h1', $1::BIGINT + 1, $1, $1::BIGINT + 2)`, us)
	// A CLI login's token that never expires, and a consent to a client
	// given in that session (version 3 separates them).
	exec(t, u, `INSERT INTO tokens (id, authorization_id, kind, hash, expires_at, created_at) VALUES ('t2', 'z1', 'access', 'h2', NULL, $1)`, us)
	exec(t, u, `INSERT INTO clients (id, account_id, name, redirect_uri, created_at, updated_at) VALUES ('c1', 'a1', 'App', 'https://app.example/cb', $1, $1)`, us)
	exec(t, u, `INSERT INTO authorizations (id, account_id, client_id, session_id, scope, created_at, updated_at)
		VALUES ('z3', 'a1', 'c1', 's1', 'identity', $1, $1)`, us)
	exec(t, u, `INSERT INTO apps (id, account_id, name, region, stack, created_at, updated_at) VALUES ('p1', 'a1', 'app', 'us', 'heroku-24', $1, $1)`, us)

	db := open(t, u)
	a, err := db.AccountByEmail(ctx, "ADA@example.com")
	if err != nil || !a.CreatedAt.Equal(t0) || !a.LastLogin.IsZero() {
		t.Errorf("account = %+v, %v", a, err)
	}
	tk, auth, err := db.TokenByHash(ctx, "h1")
	if err != nil {
		t.Fatalf("TokenByHash: %v", err)
	}
	if !tk.ExpiresAt.Equal(t0.Add(time.Microsecond)) || !tk.UsedAt.Equal(t0.Add(2*time.Microsecond)) || !tk.CreatedAt.Equal(t0) {
		t.Errorf("token times = %v, %v, %v", tk.ExpiresAt, tk.UsedAt, tk.CreatedAt)
	}
	if !slices.Equal(auth.Scope, []string{"read", "identity"}) || auth.SessionID != "s1" {
		t.Errorf("authorization = %+v", auth)
	}
	if z2, err := db.Authorization(ctx, "z2"); err != nil || len(z2.Scope) != 0 {
		t.Errorf("empty scope = %#v, %v", z2.Scope, err)
	}
	if s, err := db.Session(ctx, "s1"); err != nil || !s.ExpiresAt.Equal(t0.Add(time.Hour)) || s.Hash != "" {
		t.Errorf("session = %+v, %v", s, err)
	}
	if a.CredentialsVersion != 1 {
		t.Errorf("credentials version = %d, want 1", a.CredentialsVersion)
	}
	if cli, _, err := db.TokenByHash(ctx, "h2"); err != nil || !cli.ExpiresAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("CLI login token expires %v (%v), want with its session at %v", cli.ExpiresAt, err, t0.Add(time.Hour))
	}
	if z3, err := db.Authorization(ctx, "z3"); err != nil || z3.SessionID != "" {
		t.Errorf("consent to a client = %+v, %v; want no longer tied to the session", z3, err)
	}
	// The email's uniqueness survives the move to an expression index.
	dup := keyhole.Account{ID: "a2", Email: "ada@EXAMPLE.com", CreatedAt: t0, UpdatedAt: t0}
	err = db.CreateAccount(ctx, dup, keyhole.Authorization{ID: "k2", AccountID: "a2", Default: true, CreatedAt: t0, UpdatedAt: t0}, nil)
	if !errors.Is(err, store.ErrConflict) {
		t.Errorf("duplicate email after upgrade: %v", err)
	}
}

// TestErrorMapping checks that driver errors become the store's sentinels
// by SQLSTATE, and that the driver's error stays reachable for logs.
func TestErrorMapping(t *testing.T) {
	db := open(t, schemaURL(t))
	a, _ := newAccount(t, db, "a1", "ada@example.com")
	c := keyhole.Client{ID: "c1", AccountID: a.ID, Name: "x", RedirectURI: "https://x.example/cb", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	var pg *pgconn.PgError
	err := db.CreateClient(ctx, c)
	if !errors.Is(err, store.ErrConflict) || !errors.As(err, &pg) || pg.Code != "23505" {
		t.Errorf("duplicate client: %v", err)
	}
	c.ID, c.AccountID = "c2", "no-such-account"
	err = db.CreateClient(ctx, c)
	if !errors.Is(err, store.ErrNotFound) || !errors.As(err, &pg) || pg.Code != "23503" {
		t.Errorf("client of a missing account: %v", err)
	}
	_, err = db.Account(ctx, "nobody")
	if !errors.Is(err, store.ErrNotFound) || errors.Is(err, store.ErrConflict) {
		t.Errorf("missing account: %v", err)
	}
	err = db.ReplaceTokens(ctx, "no-such-authorization", nil)
	if !errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceTokens of a missing authorization: %v", err)
	}
	if _, err := db.ListApps(ctx, a.ID, store.Range{Field: "name; DROP TABLE apps"}); err == nil {
		t.Error("an unknown range field was accepted")
	}
}

// TestUseTokenAcrossReplicas redeems one code from two pools at once, as
// two replicas would: exactly one wins and the others see the stored token.
func TestUseTokenAcrossReplicas(t *testing.T) {
	u := schemaURL(t)
	dbs := []*postgres.DB{open(t, u), open(t, u)}
	_, tk := newAccount(t, dbs[0], "a1", "ada@example.com")
	const n = 16
	errs := make([]error, n)
	got := make([]keyhole.Token, n)
	var start, done sync.WaitGroup
	start.Add(1)
	for i := range n {
		done.Go(func() {
			start.Wait()
			got[i], errs[i] = dbs[i%2].UseToken(ctx, tk.Hash, tk.Kind, t0.Add(time.Duration(i+1)*time.Second))
		})
	}
	start.Done()
	done.Wait()
	won := -1
	for i, err := range errs {
		switch {
		case err == nil && won == -1:
			won = i
		case err == nil:
			t.Errorf("callers %d and %d both used the token", won, i)
		case !errors.Is(err, store.ErrConflict):
			t.Errorf("caller %d: %v", i, err)
		}
	}
	if won == -1 {
		t.Fatal("nobody used the token")
	}
	for i, g := range got {
		if !g.UsedAt.Equal(got[won].UsedAt) || g.ID != tk.ID {
			t.Errorf("caller %d got %+v, want the token as the winner stored it (used %v)", i, g, got[won].UsedAt)
		}
	}
}

func TestMalformedURLIsNotEchoed(t *testing.T) {
	_, err := postgres.Open(ctx, "postgres://user:hunter2@[bad/x")
	if err == nil {
		t.Fatal("malformed URL accepted")
	}
	if got := err.Error(); strings.Contains(got, "hunter2") {
		t.Errorf("error repeats the password: %s", got)
	}
}

// BenchmarkTokenByHash measures the lookup every authenticated request
// makes.
func BenchmarkTokenByHash(b *testing.B) {
	db, err := postgres.Open(ctx, schemaURL(b))
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	a := keyhole.Account{ID: "a1", Email: "ada@example.com", PasswordHash: "h", CreatedAt: t0, UpdatedAt: t0}
	key := keyhole.Authorization{ID: "k1", AccountID: "a1", Scope: []string{"global"}, Default: true, CreatedAt: t0, UpdatedAt: t0}
	tk := keyhole.Token{ID: "t1", AuthorizationID: "k1", Kind: keyhole.AccessToken, Hash: "hash", Hint: "kha_abcd**********wxyz", CreatedAt: t0}
	if err := db.CreateAccount(ctx, a, key, []keyhole.Token{tk}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, _, err := db.TokenByHash(ctx, "hash"); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLimitsConformance runs the rate-limit store suite on the database's
// rate_limits table.
func TestLimitsConformance(t *testing.T) {
	u := schemaURL(t)
	db := open(t, u)
	ratelimittest.Run(t, func(t *testing.T) ratelimit.Store { return db.Limits() })
	n, err := db.Limits().Sweep(ctx, 1000)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("swept %d rate-limit rows whose budget was full again", n)
}

// TestUpgradeToTeams applies every migration before 0053 (teams) to a
// fresh schema, stores an app with config vars, then opens it: the apps
// and their vars are kept, personal, unlocked; an app has one owner.
func TestUpgradeToTeams(t *testing.T) {
	u := schemaURL(t)
	exec(t, u, `CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())`)
	files, err := os.ReadDir("migrations")
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, f := range files {
		v, _ := strconv.Atoi(strings.SplitN(f.Name(), "_", 2)[0])
		if v >= 53 {
			continue
		}
		body, err := os.ReadFile("migrations/" + f.Name())
		if err != nil {
			t.Fatal(err)
		}
		exec(t, u, string(body))
		exec(t, u, `INSERT INTO schema_migrations (version) VALUES ($1)`, v)
		applied++
	}
	if applied < 10 {
		t.Fatalf("applied %d migrations before 0053, want every one", applied)
	}
	exec(t, u, `INSERT INTO accounts (id, email, name, password_hash, created_at, updated_at) VALUES ('a1', 'ada@example.com', '', 'h', $1, $1)`, t0)
	exec(t, u, `INSERT INTO apps (id, account_id, name, region, stack, maintenance, created_at, updated_at) VALUES ('p1', 'a1', 'app', 'eu', 'heroku-24', TRUE, $1, $1)`, t0)
	exec(t, u, `INSERT INTO config_vars (app_id, key, value) VALUES ('p1', 'A', '1'), ('p1', 'B', '2')`)

	db := open(t, u)
	want := keyhole.App{ID: "p1", AccountID: "a1", Name: "app", Region: "eu", Stack: "heroku-24", Maintenance: true, CreatedAt: t0, UpdatedAt: t0}
	if got, err := db.App(ctx, "p1"); err != nil || got != want {
		t.Errorf("app after the upgrade = %+v, %v; want %+v", got, err, want)
	}
	if vars, err := db.ConfigVars(ctx, "p1"); err != nil || len(vars) != 2 || vars["A"] != "1" {
		t.Errorf("config vars after the upgrade = %v, %v", vars, err)
	}
	both := keyhole.App{ID: "p3", AccountID: "a1", TeamID: "t1", Name: "both", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateApp(ctx, both); err == nil {
		t.Error("an app with an account and a team as owners was stored")
	}
	none := keyhole.App{ID: "p4", Name: "none", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateApp(ctx, none); err == nil {
		t.Error("an app without an owner was stored")
	}
	if err := db.DeleteApp(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.ConfigVars(ctx, "p1"); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("config vars of the deleted app: %v", err)
	}
}
