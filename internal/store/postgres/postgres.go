// Package postgres opens Keyhole's store on PostgreSQL through pgx, for
// several stateless replicas sharing one database.
package postgres

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/keyhole/keyhole/internal/store/sqlstore"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key under which replicas migrate one
// at a time ("keyhole" in ASCII).
const migrationLock = 0x6b6579686f6c65

// Open connects to the database at url (a postgres:// URL; pool settings
// such as pool_max_conns and run-time parameters such as search_path are
// honoured) and applies the migrations it lacks.
func Open(ctx context.Context, url string) (*sqlstore.DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may repeat the URL, password included.
		return nil, fmt.Errorf("postgres: the database URL is malformed")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	db := stdlib.OpenDBFromPool(pool)
	sub, err := fs.Sub(migrations, "migrations")
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	s, err := sqlstore.New(ctx, db, sqlstore.Dialect{
		Numbered:       true,
		ForUpdate:      " FOR UPDATE",
		Migrations:     sub,
		LockMigrations: fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrationLock),
		AfterClose:     pool.Close,
	})
	if err != nil {
		db.Close()
		pool.Close()
		return nil, err
	}
	return s, nil
}
