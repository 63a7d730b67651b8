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
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

//go:embed migrations/*.sql
var migrations embed.FS

// DB is a Keyhole store in one SQLite file.
type DB struct {
	db  *sql.DB
	run queryer
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
	for _, p := range []string{"journal_mode(WAL)", "foreign_keys(1)", "busy_timeout(10000)", "synchronous(NORMAL)"} {
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
	s := &DB{db: db, run: db}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, err
	}
	return s, nil
}

func (s *DB) migrate(ctx context.Context) error {
	names, err := fs.Glob(migrations, "migrations/*.sql")
	if err != nil {
		return err
	}
	sort.Strings(names)
	return s.tx(ctx, func(tx queryer) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL)`); err != nil {
			return err
		}
		var current int
		if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&current); err != nil {
			return err
		}
		for _, name := range names {
			base := strings.TrimPrefix(name, "migrations/")
			v, err := strconv.Atoi(strings.SplitN(base, "_", 2)[0])
			if err != nil {
				return fmt.Errorf("migration %s: name must start with a number", base)
			}
			if v <= current {
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
	})
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

// Ping reports whether the database answers.
func (s *DB) Ping(ctx context.Context) error { return s.db.PingContext(ctx) }

// Close closes the database.
func (s *DB) Close() error { return s.db.Close() }

// tx runs fn in a write transaction.
func (s *DB) tx(ctx context.Context, fn func(queryer) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
	if err != nil {
		return mapErr(err)
	}
	if err := fn(tx); err != nil {
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

func joinScope(s []string) string { return strings.Join(s, " ") }

func splitScope(s string) []string {
	if s == "" {
		return []string{}
	}
	return strings.Split(s, " ")
}

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

// ---- accounts

const accountCols = `id, email, name, password_hash, mfa_enabled, last_login, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (keyhole.Account, error) {
	var a keyhole.Account
	var last sql.NullInt64
	var created, updated int64
	if err := row.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &a.MFAEnabled, &last, &created, &updated); err != nil {
		return keyhole.Account{}, mapErr(err)
	}
	a.LastLogin, a.CreatedAt, a.UpdatedAt = fromNullMicros(last), fromMicros(created), fromMicros(updated)
	return a, nil
}

func insertAccount(ctx context.Context, q queryer, a keyhole.Account) error {
	_, err := q.ExecContext(ctx, `INSERT INTO accounts (id, email, email_key, name, password_hash, mfa_enabled, last_login, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.MFAEnabled, nullMicros(a.LastLogin), micros(a.CreatedAt), micros(a.UpdatedAt))
	return mapErr(err)
}

// CreateAccount inserts a with its API key, atomically.
func (s *DB) CreateAccount(ctx context.Context, a keyhole.Account, key keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := insertAccount(ctx, tx, a); err != nil {
			return err
		}
		return insertAuthorization(ctx, tx, key, tokens)
	})
}

// Account returns the account with the id.
func (s *DB) Account(ctx context.Context, id string) (keyhole.Account, error) {
	return scanAccount(s.run.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
}

// AccountByEmail returns the account with the email, case-insensitively.
func (s *DB) AccountByEmail(ctx context.Context, email string) (keyhole.Account, error) {
	return scanAccount(s.run.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE email_key = ?`, strings.ToLower(email)))
}

// UpdateAccount is a read-modify-write of one account.
func (s *DB) UpdateAccount(ctx context.Context, id string, fn func(*keyhole.Account) error) (keyhole.Account, error) {
	var out keyhole.Account
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET email = ?, email_key = ?, name = ?, password_hash = ?, mfa_enabled = ?, last_login = ?, updated_at = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.MFAEnabled, nullMicros(a.LastLogin), micros(a.UpdatedAt), id)
		if err != nil {
			return mapErr(err)
		}
		out = a
		return nil
	})
	return out, err
}

// ---- clients

const clientCols = `id, account_id, name, redirect_uri, secret_hash, secret_sealed, trusted, created_at, updated_at`

func scanClient(row interface{ Scan(...any) error }) (keyhole.Client, error) {
	var c keyhole.Client
	var created, updated int64
	if err := row.Scan(&c.ID, &c.AccountID, &c.Name, &c.RedirectURI, &c.SecretHash, &c.SecretSealed, &c.Trusted, &created, &updated); err != nil {
		return keyhole.Client{}, mapErr(err)
	}
	c.CreatedAt, c.UpdatedAt = fromMicros(created), fromMicros(updated)
	return c, nil
}

// CreateClient inserts c.
func (s *DB) CreateClient(ctx context.Context, c keyhole.Client) error {
	_, err := s.run.ExecContext(ctx, `INSERT INTO clients (`+clientCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		c.ID, c.AccountID, c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, micros(c.CreatedAt), micros(c.UpdatedAt))
	return mapErr(err)
}

// Client returns the client with the id.
func (s *DB) Client(ctx context.Context, id string) (keyhole.Client, error) {
	return scanClient(s.run.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
}

// ListClients returns the account's clients.
func (s *DB) ListClients(ctx context.Context, accountID string, r store.Range) ([]keyhole.Client, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+clientCols+` FROM clients WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanClient)
}

// UpdateClient is a read-modify-write of one client.
func (s *DB) UpdateClient(ctx context.Context, id string, fn func(*keyhole.Client) error) (keyhole.Client, error) {
	var out keyhole.Client
	err := s.tx(ctx, func(tx queryer) error {
		c, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&c); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE clients SET name = ?, redirect_uri = ?, secret_hash = ?, secret_sealed = ?, trusted = ?, updated_at = ? WHERE id = ?`,
			c.Name, c.RedirectURI, c.SecretHash, c.SecretSealed, c.Trusted, micros(c.UpdatedAt), id)
		if err != nil {
			return mapErr(err)
		}
		out = c
		return nil
	})
	return out, err
}

// DeleteClient deletes the client; its authorizations and their tokens go
// with it (ON DELETE CASCADE).
func (s *DB) DeleteClient(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM clients WHERE id = ?`, id)
	})
}

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

// ---- authorizations and tokens

const authorizationCols = `id, account_id, client_id, session_id, scope, description, is_default, created_at, updated_at`

func scanAuthorization(row interface{ Scan(...any) error }) (keyhole.Authorization, error) {
	var a keyhole.Authorization
	var account, client, session sql.NullString
	var scope string
	var created, updated int64
	if err := row.Scan(&a.ID, &account, &client, &session, &scope, &a.Description, &a.Default, &created, &updated); err != nil {
		return keyhole.Authorization{}, mapErr(err)
	}
	a.AccountID, a.ClientID, a.SessionID = account.String, client.String, session.String
	a.Scope, a.CreatedAt, a.UpdatedAt = splitScope(scope), fromMicros(created), fromMicros(updated)
	return a, nil
}

func insertAuthorization(ctx context.Context, q queryer, a keyhole.Authorization, tokens []keyhole.Token) error {
	_, err := q.ExecContext(ctx, `INSERT INTO authorizations (`+authorizationCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, nullString(a.AccountID), nullString(a.ClientID), nullString(a.SessionID), joinScope(a.Scope), a.Description, a.Default,
		micros(a.CreatedAt), micros(a.UpdatedAt))
	if err != nil {
		return mapErr(err)
	}
	return insertTokens(ctx, q, tokens)
}

const tokenCols = `id, authorization_id, kind, hash, hint, sealed, expires_at, created_at, used_at, redirect_uri, code_challenge`

func insertTokens(ctx context.Context, q queryer, tokens []keyhole.Token) error {
	for _, t := range tokens {
		_, err := q.ExecContext(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			t.ID, t.AuthorizationID, string(t.Kind), t.Hash, t.Hint, t.Sealed, nullMicros(t.ExpiresAt), micros(t.CreatedAt),
			nullMicros(t.UsedAt), t.RedirectURI, t.CodeChallenge)
		if err != nil {
			return mapErr(err)
		}
	}
	return nil
}

func scanToken(row interface{ Scan(...any) error }) (keyhole.Token, error) {
	var t keyhole.Token
	var kind string
	var expires, used sql.NullInt64
	var created int64
	if err := row.Scan(&t.ID, &t.AuthorizationID, &kind, &t.Hash, &t.Hint, &t.Sealed, &expires, &created, &used, &t.RedirectURI, &t.CodeChallenge); err != nil {
		return keyhole.Token{}, mapErr(err)
	}
	t.Kind, t.ExpiresAt, t.CreatedAt, t.UsedAt = keyhole.TokenKind(kind), fromNullMicros(expires), fromMicros(created), fromNullMicros(used)
	return t, nil
}

// CreateAuthorization inserts a and its tokens atomically.
func (s *DB) CreateAuthorization(ctx context.Context, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error { return insertAuthorization(ctx, tx, a, tokens) })
}

// Authorization returns the authorization with the id.
func (s *DB) Authorization(ctx context.Context, id string) (keyhole.Authorization, error) {
	return scanAuthorization(s.run.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = ?`, id))
}

// DefaultAuthorization returns the account's API key authorization.
func (s *DB) DefaultAuthorization(ctx context.Context, accountID string) (keyhole.Authorization, error) {
	return scanAuthorization(s.run.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = ? AND is_default`, accountID))
}

// ListAuthorizations returns the account's authorizations.
func (s *DB) ListAuthorizations(ctx context.Context, accountID string, r store.Range) ([]keyhole.Authorization, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanAuthorization)
}

// UpdateAuthorization writes Description, Scope and UpdatedAt.
func (s *DB) UpdateAuthorization(ctx context.Context, id string, fn func(*keyhole.Authorization) error) (keyhole.Authorization, error) {
	var out keyhole.Authorization
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanAuthorization(tx.QueryRowContext(ctx, `SELECT `+authorizationCols+` FROM authorizations WHERE id = ?`, id))
		if err != nil {
			return err
		}
		orig := a
		if err := fn(&a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE authorizations SET description = ?, scope = ?, updated_at = ? WHERE id = ?`,
			a.Description, joinScope(a.Scope), micros(a.UpdatedAt), id); err != nil {
			return mapErr(err)
		}
		orig.Description, orig.Scope, orig.UpdatedAt = a.Description, a.Scope, a.UpdatedAt
		out = orig
		return nil
	})
	return out, err
}

// DeleteAuthorization deletes the authorization and its tokens.
func (s *DB) DeleteAuthorization(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM authorizations WHERE id = ?`, id)
	})
}

// DeleteAccountAuthorizations deletes every authorization of the account but
// keep, and every session but keep's.
func (s *DB) DeleteAccountAuthorizations(ctx context.Context, accountID, keep string) (int, error) {
	var n int
	err := s.tx(ctx, func(tx queryer) error {
		var err error
		n, err = deleteAccountAuthorizations(ctx, tx, accountID, keep)
		return err
	})
	return n, err
}

func deleteAccountAuthorizations(ctx context.Context, tx queryer, accountID, keep string) (int, error) {
	var keepSession sql.NullString
	if keep != "" {
		err := tx.QueryRowContext(ctx, `SELECT session_id FROM authorizations WHERE id = ? AND account_id = ?`, keep, accountID).Scan(&keepSession)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return 0, mapErr(err)
		}
	}
	res, err := tx.ExecContext(ctx, `DELETE FROM authorizations WHERE account_id = ? AND id != ?`, accountID, keep)
	if err != nil {
		return 0, mapErr(err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND id != ?`, accountID, keepSession.String); err != nil {
		return 0, mapErr(err)
	}
	return int(n), nil
}

// ResetAccount changes the password and revokes everything else, atomically.
func (s *DB) ResetAccount(ctx context.Context, a keyhole.Account, oldHash, keep string, key keyhole.Authorization, tokens []keyhole.Token) (int, error) {
	var n int
	err := s.tx(ctx, func(tx queryer) error {
		var stored string
		if err := tx.QueryRowContext(ctx, `SELECT password_hash FROM accounts WHERE id = ?`, a.ID).Scan(&stored); err != nil {
			return mapErr(err)
		}
		if stored != oldHash {
			return fmt.Errorf("%w: the password changed meanwhile", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = ?, email_key = ?, name = ?, password_hash = ?, updated_at = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, micros(a.UpdatedAt), a.ID); err != nil {
			return mapErr(err)
		}
		var err error
		if n, err = deleteAccountAuthorizations(ctx, tx, a.ID, keep); err != nil {
			return err
		}
		if key.ID == "" {
			return nil
		}
		return insertAuthorization(ctx, tx, key, tokens)
	})
	return n, err
}

// Tokens returns every token of the authorizations, oldest first.
func (s *DB) Tokens(ctx context.Context, authorizationIDs ...string) ([]keyhole.Token, error) {
	if len(authorizationIDs) == 0 {
		return []keyhole.Token{}, nil
	}
	args := make([]any, len(authorizationIDs))
	for i, id := range authorizationIDs {
		args[i] = id
	}
	marks := strings.TrimSuffix(strings.Repeat("?, ", len(args)), ", ")
	rows, err := s.run.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE authorization_id IN (`+marks+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanToken)
}

// ReplaceTokens deletes the unused tokens of the kinds given and inserts
// tokens, atomically.
func (s *DB) ReplaceTokens(ctx context.Context, authorizationID string, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		var one int
		if err := tx.QueryRowContext(ctx, `SELECT 1 FROM authorizations WHERE id = ?`, authorizationID).Scan(&one); err != nil {
			return mapErr(err)
		}
		kinds := map[keyhole.TokenKind]bool{}
		for _, t := range tokens {
			if kinds[t.Kind] {
				continue
			}
			kinds[t.Kind] = true
			if _, err := tx.ExecContext(ctx, `DELETE FROM tokens WHERE authorization_id = ? AND kind = ? AND used_at IS NULL`, authorizationID, string(t.Kind)); err != nil {
				return mapErr(err)
			}
		}
		return insertTokens(ctx, tx, tokens)
	})
}

const tokenAuthSelect = `SELECT t.id, t.authorization_id, t.kind, t.hash, t.hint, t.sealed, t.expires_at, t.created_at, t.used_at, t.redirect_uri, t.code_challenge,
	a.id, a.account_id, a.client_id, a.session_id, a.scope, a.description, a.is_default, a.created_at, a.updated_at
	FROM tokens t JOIN authorizations a ON a.id = t.authorization_id WHERE t.hash = ?`

// TokenByHash returns the token with the hash and its authorization.
func (s *DB) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	var t keyhole.Token
	var a keyhole.Authorization
	var kind string
	var expires, used sql.NullInt64
	var tCreated, aCreated, aUpdated int64
	var account, client, session sql.NullString
	var scope string
	err := s.run.QueryRowContext(ctx, tokenAuthSelect, hash).Scan(
		&t.ID, &t.AuthorizationID, &kind, &t.Hash, &t.Hint, &t.Sealed, &expires, &tCreated, &used, &t.RedirectURI, &t.CodeChallenge,
		&a.ID, &account, &client, &session, &scope, &a.Description, &a.Default, &aCreated, &aUpdated)
	if err != nil {
		return keyhole.Token{}, keyhole.Authorization{}, mapErr(err)
	}
	t.Kind, t.ExpiresAt, t.CreatedAt, t.UsedAt = keyhole.TokenKind(kind), fromNullMicros(expires), fromMicros(tCreated), fromNullMicros(used)
	a.AccountID, a.ClientID, a.SessionID = account.String, client.String, session.String
	a.Scope, a.CreatedAt, a.UpdatedAt = splitScope(scope), fromMicros(aCreated), fromMicros(aUpdated)
	return t, a, nil
}

// UseToken marks the token used, once.
func (s *DB) UseToken(ctx context.Context, hash string, kind keyhole.TokenKind, at time.Time) (keyhole.Token, error) {
	t, err := scanToken(s.run.QueryRowContext(ctx, `UPDATE tokens SET used_at = ? WHERE hash = ? AND kind = ? AND used_at IS NULL RETURNING `+tokenCols,
		micros(at), hash, string(kind)))
	if err == nil || !errors.Is(err, store.ErrNotFound) {
		return t, err
	}
	t, err = scanToken(s.run.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ? AND kind = ?`, hash, string(kind)))
	if err != nil {
		return keyhole.Token{}, err
	}
	return t, fmt.Errorf("%w: token already used", store.ErrConflict)
}

// DeleteExpiredTokens deletes tokens that expired at or before before.
func (s *DB) DeleteExpiredTokens(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.run.ExecContext(ctx, `DELETE FROM tokens WHERE expires_at IS NOT NULL AND expires_at <= ?`, micros(before))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}

// ---- sessions

const sessionCols = `id, account_id, hash, description, ip, user_agent, created_at, expires_at`

func scanSession(row interface{ Scan(...any) error }) (keyhole.Session, error) {
	var ss keyhole.Session
	var hash sql.NullString
	var created, expires int64
	if err := row.Scan(&ss.ID, &ss.AccountID, &hash, &ss.Description, &ss.IP, &ss.UserAgent, &created, &expires); err != nil {
		return keyhole.Session{}, mapErr(err)
	}
	ss.Hash, ss.CreatedAt, ss.ExpiresAt = hash.String, fromMicros(created), fromMicros(expires)
	return ss, nil
}

// CreateSession inserts ss and, if a is not nil, a with its tokens.
func (s *DB) CreateSession(ctx context.Context, ss keyhole.Session, a *keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			ss.ID, ss.AccountID, nullString(ss.Hash), ss.Description, ss.IP, ss.UserAgent, micros(ss.CreatedAt), micros(ss.ExpiresAt))
		if err != nil {
			return mapErr(err)
		}
		if a == nil {
			return nil
		}
		return insertAuthorization(ctx, tx, *a, tokens)
	})
}

// Session returns the session with the id.
func (s *DB) Session(ctx context.Context, id string) (keyhole.Session, error) {
	return scanSession(s.run.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = ?`, id))
}

// SessionByHash returns the session with the hash.
func (s *DB) SessionByHash(ctx context.Context, hash string) (keyhole.Session, error) {
	if hash == "" {
		return keyhole.Session{}, store.ErrNotFound
	}
	return scanSession(s.run.QueryRowContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = ?`, hash))
}

// ListSessions returns the account's sessions.
func (s *DB) ListSessions(ctx context.Context, accountID string, r store.Range) ([]keyhole.Session, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+sessionCols+` FROM sessions WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanSession)
}

// DeleteSession deletes the session; the authorizations made through it and
// their tokens go with it.
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM sessions WHERE id = ?`, id)
	})
}

// ---- apps and config vars

const appCols = `id, account_id, name, region, stack, maintenance, created_at, updated_at`

func scanApp(row interface{ Scan(...any) error }) (keyhole.App, error) {
	var a keyhole.App
	var created, updated int64
	if err := row.Scan(&a.ID, &a.AccountID, &a.Name, &a.Region, &a.Stack, &a.Maintenance, &created, &updated); err != nil {
		return keyhole.App{}, mapErr(err)
	}
	a.CreatedAt, a.UpdatedAt = fromMicros(created), fromMicros(updated)
	return a, nil
}

// CreateApp inserts a.
func (s *DB) CreateApp(ctx context.Context, a keyhole.App) error {
	_, err := s.run.ExecContext(ctx, `INSERT INTO apps (`+appCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.AccountID, a.Name, a.Region, a.Stack, a.Maintenance, micros(a.CreatedAt), micros(a.UpdatedAt))
	return mapErr(err)
}

// App returns the app with the id.
func (s *DB) App(ctx context.Context, id string) (keyhole.App, error) {
	return scanApp(s.run.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
}

// AppByName returns the app with the name.
func (s *DB) AppByName(ctx context.Context, name string) (keyhole.App, error) {
	return scanApp(s.run.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE name = ?`, name))
}

// ListApps returns the account's apps.
func (s *DB) ListApps(ctx context.Context, accountID string, r store.Range) ([]keyhole.App, error) {
	tail, args, err := page(r, map[string]string{"id": "id", "name": "name"})
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+appCols+` FROM apps WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanApp)
}

// UpdateApp is a read-modify-write of one app.
func (s *DB) UpdateApp(ctx context.Context, id string, fn func(*keyhole.App) error) (keyhole.App, error) {
	var out keyhole.App
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanApp(tx.QueryRowContext(ctx, `SELECT `+appCols+` FROM apps WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE apps SET name = ?, region = ?, stack = ?, maintenance = ?, updated_at = ? WHERE id = ?`,
			a.Name, a.Region, a.Stack, a.Maintenance, micros(a.UpdatedAt), id); err != nil {
			return mapErr(err)
		}
		out = a
		return nil
	})
	return out, err
}

// DeleteApp deletes the app and its config vars.
func (s *DB) DeleteApp(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM apps WHERE id = ?`, id)
	})
}

func configVars(ctx context.Context, q queryer, appID string) (map[string]string, error) {
	var one int
	if err := q.QueryRowContext(ctx, `SELECT 1 FROM apps WHERE id = ?`, appID).Scan(&one); err != nil {
		return nil, mapErr(err)
	}
	rows, err := q.QueryContext(ctx, `SELECT key, value FROM config_vars WHERE app_id = ?`, appID)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	vars := map[string]string{}
	for rows.Next() {
		var k, v string
		if err := rows.Scan(&k, &v); err != nil {
			return nil, mapErr(err)
		}
		vars[k] = v
	}
	return vars, mapErr(rows.Err())
}

// ConfigVars returns the app's config vars.
func (s *DB) ConfigVars(ctx context.Context, appID string) (map[string]string, error) {
	return configVars(ctx, s.run, appID)
}

// UpdateConfigVars applies changes atomically and returns the result.
func (s *DB) UpdateConfigVars(ctx context.Context, appID string, changes map[string]*string, at time.Time) (map[string]string, error) {
	var out map[string]string
	err := s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `UPDATE apps SET updated_at = ? WHERE id = ?`, micros(at), appID); err != nil {
			return err
		}
		for k, v := range changes {
			var err error
			if v == nil {
				_, err = tx.ExecContext(ctx, `DELETE FROM config_vars WHERE app_id = ? AND key = ?`, appID, k)
			} else {
				_, err = tx.ExecContext(ctx, `INSERT INTO config_vars (app_id, key, value) VALUES (?, ?, ?)
					ON CONFLICT (app_id, key) DO UPDATE SET value = excluded.value`, appID, k, *v)
			}
			if err != nil {
				return mapErr(err)
			}
		}
		var err error
		out, err = configVars(ctx, tx, appID)
		return err
	})
	return out, err
}

// ---- device grants

const deviceCols = `id, client_id, scope, device_hash, user_code, poll_interval, polled_at, status, account_id, session_id, expires_at, created_at`

func scanDevice(row interface{ Scan(...any) error }) (keyhole.DeviceGrant, error) {
	var g keyhole.DeviceGrant
	var scope, status string
	var polled sql.NullInt64
	var account, session sql.NullString
	var expires, created int64
	if err := row.Scan(&g.ID, &g.ClientID, &scope, &g.DeviceHash, &g.UserCode, &g.Interval, &polled, &status, &account, &session, &expires, &created); err != nil {
		return keyhole.DeviceGrant{}, mapErr(err)
	}
	g.Scope, g.PolledAt, g.Status = splitScope(scope), fromNullMicros(polled), keyhole.DeviceStatus(status)
	g.AccountID, g.SessionID, g.ExpiresAt, g.CreatedAt = account.String, session.String, fromMicros(expires), fromMicros(created)
	return g, nil
}

// CreateDeviceGrant inserts g.
func (s *DB) CreateDeviceGrant(ctx context.Context, g keyhole.DeviceGrant) error {
	_, err := s.run.ExecContext(ctx, `INSERT INTO device_grants (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		g.ID, g.ClientID, joinScope(g.Scope), g.DeviceHash, g.UserCode, g.Interval, nullMicros(g.PolledAt), string(g.Status),
		nullString(g.AccountID), nullString(g.SessionID), micros(g.ExpiresAt), micros(g.CreatedAt))
	return mapErr(err)
}

// DeviceGrantByHash returns the grant with the device code hash.
func (s *DB) DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error) {
	return scanDevice(s.run.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE device_hash = ?`, hash))
}

// DeviceGrantByUserCode returns the grant with the user code.
func (s *DB) DeviceGrantByUserCode(ctx context.Context, code string) (keyhole.DeviceGrant, error) {
	return scanDevice(s.run.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE user_code = ?`, code))
}

// UpdateDeviceGrant is a read-modify-write of one grant.
func (s *DB) UpdateDeviceGrant(ctx context.Context, id string, fn func(*keyhole.DeviceGrant) error) (keyhole.DeviceGrant, error) {
	var out keyhole.DeviceGrant
	err := s.tx(ctx, func(tx queryer) error {
		g, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&g); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_grants SET scope = ?, poll_interval = ?, polled_at = ?, status = ?, account_id = ?, session_id = ?, expires_at = ? WHERE id = ?`,
			joinScope(g.Scope), g.Interval, nullMicros(g.PolledAt), string(g.Status), nullString(g.AccountID), nullString(g.SessionID), micros(g.ExpiresAt), id); err != nil {
			return mapErr(err)
		}
		out = g
		return nil
	})
	return out, err
}

// RedeemDeviceGrant deletes the grant and inserts the authorization.
func (s *DB) RedeemDeviceGrant(ctx context.Context, id string, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM device_grants WHERE id = ?`, id); err != nil {
			return err
		}
		return insertAuthorization(ctx, tx, a, tokens)
	})
}

// DeleteExpiredDeviceGrants deletes grants expired at or before before.
func (s *DB) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.run.ExecContext(ctx, `DELETE FROM device_grants WHERE expires_at <= ?`, micros(before))
	if err != nil {
		return 0, mapErr(err)
	}
	return res.RowsAffected()
}
