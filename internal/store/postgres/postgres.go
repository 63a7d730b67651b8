// Package postgres implements store.Store on PostgreSQL through pgx, for
// several stateless replicas sharing one database. Its SQL is its own;
// it shares nothing with the SQLite backend but the interface and the
// conformance suite.
//
// Table names are unqualified, so the connection's search_path (set in the
// URL, as search_path=… or options=-csearch_path=…) chooses the schema.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyhole/keyhole/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// migrationLock is the advisory lock key under which replicas migrate one
// at a time ("keyhole" in ASCII). Earlier versions of this package used the
// same key.
const migrationLock int64 = 0x6b6579686f6c65

// DB is Keyhole's store on PostgreSQL.
type DB struct {
	pool *pgxpool.Pool
	adds store.Group[addition]
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a postgres:// URL; pool settings
// such as pool_max_conns and run-time parameters such as search_path are
// honoured), checks that it answers and applies the migrations it lacks.
// Replicas may open one database at the same time: they migrate one after
// the other, and the later ones find nothing to do.
func Open(ctx context.Context, url string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may repeat the URL, password included.
		return nil, errors.New("postgres: the database URL is malformed")
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("postgres: %w", err)
	}
	if err := migrate(ctx, pool); err != nil {
		pool.Close()
		return nil, err
	}
	return &DB{pool: pool}, nil
}

// migrate applies, in one transaction under an advisory lock, every
// embedded migration whose version is not in schema_migrations.
func migrate(ctx context.Context, pool *pgxpool.Pool) error {
	type migration struct {
		version int
		name    string
	}
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	var all []migration
	for _, name := range names {
		v, err := strconv.Atoi(strings.SplitN(path.Base(name), "_", 2)[0])
		if err != nil || v <= 0 {
			return fmt.Errorf("postgres: migration %s: the name must start with a positive number", name)
		}
		all = append(all, migration{v, name})
	}
	slices.SortFunc(all, func(a, b migration) int { return a.version - b.version })
	for i := 1; i < len(all); i++ {
		if all[i].version == all[i-1].version {
			return fmt.Errorf("postgres: migrations %s and %s have one version", all[i-1].name, all[i].name)
		}
	}
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// The lock is held until the transaction ends, so a replica that
		// waited for it sees the migrations the first one committed.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, migrationLock); err != nil {
			return fmt.Errorf("lock: %w", err)
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version    INTEGER PRIMARY KEY,
			applied_at TIMESTAMPTZ NOT NULL DEFAULT now()
		)`); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied, err := pgx.CollectRows(rows, pgx.RowTo[int32])
		if err != nil {
			return err
		}
		for _, m := range all {
			if slices.Contains(applied, int32(m.version)) {
				continue
			}
			body, err := fs.ReadFile(migrations, m.name)
			if err != nil {
				return err
			}
			// Without arguments pgx sends the file as one simple query, so
			// it may hold several statements.
			if _, err := tx.Exec(ctx, string(body)); err != nil {
				return fmt.Errorf("%s: %w", path.Base(m.name), err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_migrations (version) VALUES ($1)`, m.version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	return nil
}

// Ping reports whether the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

// Close closes every connection of the pool, waiting for those in use.
func (db *DB) Close() error {
	db.pool.Close()
	return nil
}

// querier is what a pool and a transaction both run.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// tx runs fn in a transaction, committed if fn returns nil. An error of fn
// comes back as is; only those of BEGIN and COMMIT are mapped here.
func (db *DB) tx(ctx context.Context, op string, fn func(pgx.Tx) error) error {
	var fnErr error
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		fnErr = fn(tx)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return mapErr(op, err)
}

// SQLSTATE codes (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	uniqueViolation     = "23505"
	foreignKeyViolation = "23503"
)

// mapErr turns driver errors into the store's sentinels by code, wrapping
// both the sentinel and the driver's error with op for context.
func mapErr(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound)
	}
	var pg *pgconn.PgError
	if errors.As(err, &pg) {
		switch pg.Code {
		case uniqueViolation:
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrConflict, err)
		case foreignKeyViolation:
			// An insert or update violates a foreign key when what it
			// refers to does not exist. A delete violates one only where
			// the key restricts it (a team's apps), which the method
			// deleting maps itself (isForeignKey).
			return fmt.Errorf("postgres: %s: %w: %w", op, store.ErrNotFound, err)
		}
	}
	return fmt.Errorf("postgres: %s: %w", op, err)
}

// isForeignKey reports whether err is a foreign key violation, by its
// SQLSTATE.
func isForeignKey(err error) bool {
	var pg *pgconn.PgError
	return errors.As(err, &pg) && pg.Code == foreignKeyViolation
}

// notFound is the error of a statement that found no row to change.
func notFound(op string) error { return fmt.Errorf("postgres: %s: %w", op, store.ErrNotFound) }

// exec runs one statement on q and maps its error.
func exec(ctx context.Context, q querier, op, sql string, args ...any) (int64, error) {
	tag, err := q.Exec(ctx, sql, args...)
	if err != nil {
		return 0, mapErr(op, err)
	}
	return tag.RowsAffected(), nil
}

// sendBatch runs the statements of b in one round trip and returns the
// first error, mapped.
func sendBatch(ctx context.Context, q querier, op string, b *pgx.Batch) error {
	br := q.SendBatch(ctx, b)
	var first error
	for range b.Len() {
		if _, err := br.Exec(); err != nil && first == nil {
			first = err
		}
	}
	if err := br.Close(); err != nil && first == nil {
		first = err
	}
	return mapErr(op, first)
}

// page renders r as the end of a query whose WHERE clause binds n
// parameters: the start condition, the order and the limit. columns lists
// the fields r may order by; anything else is refused, so Field never
// reaches the SQL.
func page(r store.Range, n int, columns ...string) (string, []any, error) {
	field := r.Field
	if field == "" {
		field = "id"
	}
	if !slices.Contains(columns, field) {
		return "", nil, fmt.Errorf("postgres: cannot order by %q", r.Field)
	}
	var b strings.Builder
	var args []any
	if r.Start != "" {
		op := ">="
		switch {
		case r.Desc && r.Exclusive:
			op = "<"
		case r.Desc:
			op = "<="
		case r.Exclusive:
			op = ">"
		}
		fmt.Fprintf(&b, " AND %s %s $%d", field, op, n+1)
		args = append(args, r.Start)
	}
	dir := "ASC"
	if r.Desc {
		dir = "DESC"
	}
	fmt.Fprintf(&b, " ORDER BY %s %s", field, dir)
	if r.Max > 0 {
		fmt.Fprintf(&b, " LIMIT %d", r.Max)
	}
	return b.String(), args, nil
}

// list runs a query and scans every row with scan; never nil.
func list[T any](ctx context.Context, q querier, op, sql string, args []any, scan func(pgx.Row) (T, error)) ([]T, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, mapErr(op, err)
		}
		out = append(out, v)
	}
	return out, mapErr(op, rows.Err())
}

// Optional values: "" and the zero time are NULL.

func nullText(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func fromNullTime(t pgtype.Timestamptz) time.Time {
	if !t.Valid {
		return time.Time{}
	}
	return t.Time.UTC()
}

// scope keeps a nil scope from becoming NULL.
func scope(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Pool returns the connection pool, for its statistics.
func (db *DB) Pool() *pgxpool.Pool { return db.pool }
