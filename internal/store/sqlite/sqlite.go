// Package sqlite implements store.Store on an embedded SQLite database
// (modernc.org/sqlite, pure Go), so that Keyhole runs with nothing
// installed. Its SQL and migrations are its own.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyhole/keyhole/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Keyhole store in one SQLite file.
type DB struct {
	db    *sql.DB
	stmts *stmts
	run   queryer // the database, through kept statements
	// write lets one write transaction at a time begin: SQLite allows one
	// writer, and a writer that finds the database locked sleeps in
	// SQLite's busy handler (a millisecond, then more), where a goroutine
	// waiting here is woken the moment the writer before it commits.
	write sync.Mutex
	adds  store.Group[addition]
	// stop ends the checkpointer, which closes done when it has.
	stop, done chan struct{}
	stopOnce   sync.Once
}

var _ store.Store = (*DB)(nil)

// Open opens (creating if needed) the database file at path and applies
// the migrations it lacks.
func Open(ctx context.Context, path string) (*DB, error) {
	// The file holds password hashes: only its owner may read it. SQLite
	// gives its -wal and -shm files the database file's permissions.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	f.Close()
	q := url.Values{}
	// No connection checkpoints the write-ahead log when it commits (the
	// default, every 1,000 pages, does it inside the commit, while every
	// other writer waits): the checkpointer does it in the background.
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(NORMAL)", "wal_autocheckpoint(0)"} {
		q.Add("_pragma", p)
	}
	// Write transactions take the write lock at BEGIN, so that two of them
	// never deadlock upgrading a read lock; read-modify-writes need no row
	// locks.
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, err
	}
	db.SetMaxOpenConns(8)
	db.SetMaxIdleConns(8)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &DB{db: db, stmts: newStmts(db), stop: make(chan struct{}), done: make(chan struct{})}
	s.run = s.stmts
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	go s.checkpointer(CheckpointEvery)
	return s, nil
}

// CheckpointEvery is how often the checkpointer copies the write-ahead
// log's new pages into the database file.
const CheckpointEvery = 250 * time.Millisecond

// checkpointer checkpoints the write-ahead log every period, off the
// write path: a passive checkpoint copies what no reader still needs,
// waits for nobody and blocks no writer, and SQLite starts the log over
// from the beginning once all of it is in the database file. The last
// connection to close checkpoints the rest (so does a command-line
// process, which has no checkpointer running long).
func (s *DB) checkpointer(period time.Duration) {
	defer close(s.done)
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			// A failure (the database busy or closing) is tried again at
			// the next tick.
			_, _ = s.db.Exec(`PRAGMA wal_checkpoint(PASSIVE)`)
		}
	}
}

func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	// A migration file holds several statements: it runs unprepared (a
	// prepared statement would be only the first one).
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	defer tx.Rollback()
	err = func() error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT version FROM schema_migrations`)
		if err != nil {
			return err
		}
		applied := map[int]bool{}
		for rows.Next() {
			var v int
			if err := rows.Scan(&v); err != nil {
				rows.Close()
				return err
			}
			applied[v] = true
		}
		if err := rows.Close(); err != nil {
			return err
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", base)
			}
			// Every migration not applied yet runs, in order, even one
			// numbered below the newest applied (added on another branch).
			if applied[v] {
				continue
			}
			body, err := migrations.ReadFile(name)
			if err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, string(body)); err != nil {
				return fmt.Errorf("migration %s: %w", base, err)
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)`, v, micros(time.Now())); err != nil {
				return err
			}
		}
		return nil
	}()
	if err != nil {
		return err
	}
	return mapErr(tx.Commit())
}

// mapErr maps driver errors to the store's sentinels by SQLite's extended
// result codes, never by message text.
func mapErr(err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("%w: %w", store.ErrNotFound, err)
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		switch se.Code() {
		case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
			return fmt.Errorf("%w: %w", store.ErrConflict, err)
		case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
			return fmt.Errorf("%w: %w", store.ErrNotFound, err)
		}
	}
	return err
}

// isForeignKey reports whether err is the failure of a foreign key
// constraint, by its extended result code.
func isForeignKey(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
}

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *DB) Close() error {
	s.stopOnce.Do(func() { close(s.stop) })
	<-s.done
	s.stmts.close()
	return s.db.Close()
}

// tx runs fn in a write transaction, one at a time in this process.
func (s *DB) tx(ctx context.Context, fn func(queryer) error) error {
	s.write.Lock()
	defer s.write.Unlock()
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(txStmts{tx, s.stmts}); err != nil {
		tx.Rollback()
		return err
	}
	return mapErr(tx.Commit())
}

// execOne runs a statement that must change exactly one row.
func execOne(ctx context.Context, q interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
}, query string, args ...any) error {
	res, err := q.ExecContext(ctx, query, args...)
	if err != nil {
		return mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return err
	}
	if n == 0 {
		return store.ErrNotFound
	}
	return nil
}

// deleteBatch runs a statement that deletes (or changes) at most a batch
// of rows, and returns how many.
func (s *DB) deleteBatch(ctx context.Context, query string, args ...any) (int64, error) {
	var n int64
	err := s.tx(ctx, func(tx queryer) error {
		res, err := tx.ExecContext(ctx, query, args...)
		if err != nil {
			return mapErr(err)
		}
		n, err = res.RowsAffected()
		return err
	})
	return n, err
}

type queryer interface {
	ExecContext(context.Context, string, ...any) (sql.Result, error)
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
	QueryRowContext(context.Context, string, ...any) *sql.Row
}

// Times are integer microseconds; zero times are NULL.

func micros(t time.Time) int64 { return t.UnixMicro() }

func nullMicros(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMicro(), Valid: true}
}

func fromMicros(n int64) time.Time { return time.UnixMicro(n).UTC() }

func fromNullMicros(n sql.NullInt64) time.Time {
	if !n.Valid {
		return time.Time{}
	}
	return fromMicros(n.Int64)
}

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

// page renders r as SQL after a WHERE clause: the start condition, the
// order and the limit. column maps the range field to a column.
func page(r store.Range, columns map[string]string) (string, []any, error) {
	field := r.Field
	if field == "" {
		field = "id"
	}
	col, ok := columns[field]
	if !ok {
		return "", nil, fmt.Errorf("store: cannot order by %q", field)
	}
	var b strings.Builder
	var args []any
	if r.Start != "" {
		op := map[[2]bool]string{{false, false}: ">=", {false, true}: ">", {true, false}: "<=", {true, true}: "<"}[[2]bool{r.Desc, r.Exclusive}]
		fmt.Fprintf(&b, " AND %s %s ?", col, op)
		args = append(args, r.Start)
	}
	dir := "ASC"
	if r.Desc {
		dir = "DESC"
	}
	fmt.Fprintf(&b, " ORDER BY %s %s", col, dir)
	if r.Max > 0 {
		fmt.Fprintf(&b, " LIMIT %d", r.Max)
	}
	return b.String(), args, nil
}

var idOnly = map[string]string{"id": "id"}

func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, mapErr(rows.Err())
}

func joinScope(s []string) string { return strings.Join(s, " ") }

func splitScope(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

// splitList reads a list of names stored separated by spaces; "" is nil.
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Split(s, " ")
}

// SQL returns the database handle, for its statistics.
func (s *DB) SQL() *sql.DB { return s.db }
