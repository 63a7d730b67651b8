package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// database is where one table's Keyhole keeps its data: a fresh SQLite
// folder, or a fresh schema of a PostgreSQL database.
type database struct {
	name string // SQLite or PostgreSQL
	// env and args are what every keyhole command (serve and admin) gets.
	env  []string
	args []string
	// open opens the store directly, for --tokens.
	open func(ctx context.Context) (store.Store, error)
	// drop removes the schema (PostgreSQL); the SQLite folder goes with
	// the harness's temporary folder.
	drop func() error
}

// cleanEnv is the harness's environment without the settings that would
// point keyhole at another database, address or key.
func cleanEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KEYHOLE_") || strings.HasPrefix(kv, "DATABASE_URL=")
	})
}

// newSQLite is a SQLite database in a new folder under dir.
func newSQLite(dir string) (*database, error) {
	dataDir := filepath.Join(dir, "sqlite-data")
	if err := os.MkdirAll(dataDir, 0o700); err != nil {
		return nil, err
	}
	return &database{
		name: "SQLite",
		env:  cleanEnv(),
		args: []string{"--data-dir", dataDir},
		open: func(ctx context.Context) (store.Store, error) {
			return sqlite.Open(ctx, filepath.Join(dataDir, "keyhole.db"))
		},
		drop: func() error { return nil },
	}, nil
}

// newPostgres creates an empty schema in the database base names, and
// returns a database whose connections use it (search_path in the URL),
// with a new server key. drop removes the schema and everything in it.
func newPostgres(ctx context.Context, base string) (*database, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return nil, fmt.Errorf("--postgres must be a postgres:// URL")
	}
	schema := "kh_bench_" + strings.ToLower(rand.Text()[:12])
	conn, err := pgx.Connect(ctx, base)
	if err != nil {
		return nil, fmt.Errorf("connect to --postgres: %w", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		return nil, fmt.Errorf("create schema: %w", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	dsn := u.String()
	key := make([]byte, 32)
	rand.Read(key)
	return &database{
		name: "PostgreSQL",
		// The URL and the key go by the environment, out of the process list.
		env: append(cleanEnv(), "KEYHOLE_DATABASE="+dsn, "KEYHOLE_SECRET_KEY="+base64.StdEncoding.EncodeToString(key)),
		open: func(ctx context.Context) (store.Store, error) {
			return postgres.Open(ctx, dsn)
		},
		drop: func() error {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			c, err := pgx.Connect(ctx, base)
			if err != nil {
				return fmt.Errorf("drop schema %s: %w", schema, err)
			}
			defer c.Close(ctx)
			if _, err := c.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
				return fmt.Errorf("drop schema %s: %w", schema, err)
			}
			return nil
		},
	}, nil
}
