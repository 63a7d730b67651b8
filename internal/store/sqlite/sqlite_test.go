package sqlite_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/sqlite"
	"github.com/keyhole/keyhole/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		db, err := sqlite.Open(context.Background(), filepath.Join(t.TempDir(), "keyhole.db"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { db.Close() })
		return db
	})
}

// TestReopen opens the same file twice: the second open finds the schema
// migrated and keeps the data; the file is readable by its owner only.
func TestReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhole.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.CreateClient(ctx, storeClient()); err == nil {
		t.Fatal("a client without its account was stored: foreign keys are off")
	}
	db.Close()
	db, err = sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("reopen: %v", err)
	}
	defer db.Close()
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("database file mode %v, %v; want 0600", fi.Mode().Perm(), err)
	}
}

// TestUpgradeFromVersion1 builds a database as the first version of the
// schema left it, then opens it: version 2 keeps every row, starts the
// credentials versions at 1, ends a CLI login's tokens with its session,
// and unties a consent to a client from the browser session it was given in.
func TestUpgradeFromVersion1(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhole.db")
	v1, err := os.ReadFile("migrations/0001_init.sql")
	if err != nil {
		t.Fatal(err)
	}
	raw, err := sql.Open("sqlite", "file:"+path)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	us, hour := t0.UnixMicro(), time.Hour.Microseconds()
	for _, q := range []string{
		`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`,
		string(v1),
		fmt.Sprintf(`INSERT INTO schema_migrations VALUES (1, %d)`, us),
		fmt.Sprintf(`INSERT INTO accounts (id, email, email_key, name, password_hash, created_at, updated_at) VALUES ('a1', 'ada@example.com', 'ada@example.com', '', 'h', %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO sessions (id, account_id, created_at, expires_at) VALUES ('s1', 'a1', %d, %d)`, us, us+hour),
		fmt.Sprintf(`INSERT INTO clients (id, account_id, name, redirect_uri, created_at, updated_at) VALUES ('c1', 'a1', 'App', 'https://app.example/cb', %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO authorizations (id, account_id, session_id, scope, created_at, updated_at) VALUES ('z1', 'a1', 's1', 'global', %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO authorizations (id, account_id, client_id, session_id, scope, created_at, updated_at) VALUES ('z2', 'a1', 'c1', 's1', 'identity', %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO tokens (id, authorization_id, kind, hash, expires_at, created_at) VALUES ('t1', 'z1', 'access', 'h1', NULL, %d)`, us),
		fmt.Sprintf(`INSERT INTO tokens (id, authorization_id, kind, hash, expires_at, created_at) VALUES ('t2', 'z2', 'access', 'h2', %d, %d)`, us+2*hour, us),
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer db.Close()
	if a, err := db.Account(ctx, "a1"); err != nil || a.CredentialsVersion != 1 {
		t.Errorf("account = %+v, %v; want credentials version 1", a, err)
	}
	if tk, _, err := db.TokenByHash(ctx, "h1"); err != nil || !tk.ExpiresAt.Equal(t0.Add(time.Hour)) || tk.Scope != nil {
		t.Errorf("CLI login token = %+v, %v; want it to expire with its session at %v", tk, err, t0.Add(time.Hour))
	}
	tk, auth, err := db.TokenByHash(ctx, "h2")
	if err != nil || auth.SessionID != "" || !tk.ExpiresAt.Equal(t0.Add(2*time.Hour)) {
		t.Errorf("consent to a client = %+v, %+v, %v; want untied from the session, expiry kept", auth, tk, err)
	}
}

// TestBackgroundCheckpoint: no commit checkpoints the write-ahead log (the
// writers would wait for it); the checkpointer copies it into the database
// file in the background, while the database stays open.
func TestBackgroundCheckpoint(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhole.db")
	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	size := func(p string) int64 {
		fi, err := os.Stat(p)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	// Let the migrations reach the file first.
	time.Sleep(3 * sqlite.CheckpointEvery)
	before := size(path)

	now := time.Now()
	acct := keyhole.Account{ID: uuid.NewString(), Email: "ada@example.com", PasswordHash: "h", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateAccount(ctx, acct, keyhole.Authorization{}, nil); err != nil {
		t.Fatal(err)
	}
	c := keyhole.Client{ID: uuid.NewString(), AccountID: acct.ID, Name: "App", RedirectURI: "https://app.example/cb", SecretHash: "sh", CreatedAt: now, UpdatedAt: now}
	if err := db.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	auth := keyhole.Authorization{ID: uuid.NewString(), ClientID: c.ID, Scope: []string{"identity"}, CreatedAt: now, UpdatedAt: now}
	// About 1 MB in 5 commits: less than the 1,000 pages after which a
	// commit would checkpoint by default.
	for range 5 {
		tokens := make([]keyhole.Token, 400)
		for i := range tokens {
			tokens[i] = keyhole.Token{ID: uuid.NewString(), AuthorizationID: auth.ID, Kind: keyhole.AccessToken, Hash: uuid.NewString() + uuid.NewString(), Sealed: make([]byte, 300), CreatedAt: now}
		}
		if err := db.AddTokens(ctx, auth, tokens); err != nil {
			t.Fatal(err)
		}
	}
	if wal := size(path + "-wal"); wal < 512<<10 || wal > 3<<20 {
		t.Fatalf("the write-ahead log holds %d bytes; the test meant to write about 1 MB", wal)
	}
	for deadline := time.Now().Add(5 * time.Second); size(path) < before+512<<10; {
		if time.Now().After(deadline) {
			t.Fatalf("the database file stayed at %d bytes (%d before the writes): nothing checkpointed the log", size(path), before)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestUpgradeToTeams builds a database with every migration before 0053
// (teams), with an app and its config vars, then opens it: 0053 rebuilds
// apps and config_vars inside the migrations' transaction, with foreign
// keys on, and keeps both; config_vars still refers to apps.
func TestUpgradeToTeams(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keyhole.db")
	raw, err := sql.Open("sqlite", "file:"+path+"?_pragma=foreign_keys(1)")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := raw.Exec(`CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
		t.Fatal(err)
	}
	files, err := filepath.Glob("migrations/*.sql")
	if err != nil {
		t.Fatal(err)
	}
	applied := 0
	for _, f := range files {
		var v int
		fmt.Sscanf(filepath.Base(f), "%d_", &v)
		if v >= 53 {
			continue
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := raw.Exec(string(body)); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		if _, err := raw.Exec(`INSERT INTO schema_migrations VALUES (?, 0)`, v); err != nil {
			t.Fatal(err)
		}
		applied++
	}
	if applied < 10 {
		t.Fatalf("applied %d migrations before 0053, want every one", applied)
	}
	t0 := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
	us := t0.UnixMicro()
	for _, q := range []string{
		fmt.Sprintf(`INSERT INTO accounts (id, email, email_key, name, password_hash, created_at, updated_at) VALUES ('a1', 'ada@example.com', 'ada@example.com', '', 'h', %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO apps (id, account_id, name, region, stack, maintenance, created_at, updated_at) VALUES ('p1', 'a1', 'app', 'eu', 'heroku-24', 1, %d, %d)`, us, us),
		fmt.Sprintf(`INSERT INTO apps (id, account_id, name, region, stack, created_at, updated_at) VALUES ('p2', 'a1', 'other', 'us', 'heroku-24', %d, %d)`, us, us),
		`INSERT INTO config_vars (app_id, key, value) VALUES ('p1', 'A', '1'), ('p1', 'B', '2'), ('p2', 'C', '3')`,
	} {
		if _, err := raw.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	raw.Close()

	db, err := sqlite.Open(ctx, path)
	if err != nil {
		t.Fatalf("upgrade: %v", err)
	}
	defer db.Close()
	want := keyhole.App{ID: "p1", AccountID: "a1", Name: "app", Region: "eu", Stack: "heroku-24", Maintenance: true, CreatedAt: t0, UpdatedAt: t0}
	if got, err := db.App(ctx, "p1"); err != nil || got != want {
		t.Errorf("app after the upgrade = %+v, %v; want %+v", got, err, want)
	}
	if apps, err := db.ListApps(ctx, "a1", store.Range{Field: "name"}); err != nil || len(apps) != 2 {
		t.Errorf("ListApps after the upgrade = %+v, %v", apps, err)
	}
	if vars, err := db.ConfigVars(ctx, "p1"); err != nil || len(vars) != 2 || vars["A"] != "1" || vars["B"] != "2" {
		t.Errorf("config vars after the upgrade = %v, %v", vars, err)
	}
	// config_vars refers to the new apps table: deleting an app takes its
	// vars, and the database holds no dangling reference.
	if err := db.DeleteApp(ctx, "p1"); err != nil {
		t.Fatal(err)
	}
	var parent string
	var left, dangling int
	check := db.SQL()
	if err := check.QueryRow(`SELECT "table" FROM pragma_foreign_key_list('config_vars')`).Scan(&parent); err != nil || parent != "apps" {
		t.Errorf("config_vars refers to %q (%v), want apps", parent, err)
	}
	if err := check.QueryRow(`SELECT count(*) FROM config_vars WHERE app_id = 'p1'`).Scan(&left); err != nil || left != 0 {
		t.Errorf("%d config vars outlived their app (%v)", left, err)
	}
	if err := check.QueryRow(`SELECT count(*) FROM pragma_foreign_key_check`).Scan(&dangling); err != nil || dangling != 0 {
		t.Errorf("foreign key check: %d dangling references (%v)", dangling, err)
	}
	if vars, err := db.ConfigVars(ctx, "p2"); err != nil || vars["C"] != "3" {
		t.Errorf("the other app's vars = %v, %v", vars, err)
	}
	// An app has exactly one owner.
	both := keyhole.App{ID: "p3", AccountID: "a1", TeamID: "t1", Name: "both", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateApp(ctx, both); err == nil {
		t.Error("an app with an account and a team as owners was stored")
	}
	none := keyhole.App{ID: "p4", Name: "none", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	if err := db.CreateApp(ctx, none); err == nil {
		t.Error("an app without an owner was stored")
	}
}
