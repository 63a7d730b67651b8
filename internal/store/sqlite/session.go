package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const sessionCols = `id, account_id, hash, description, ip, user_agent, created_at, expires_at, parent_id`

func scanSession(row interface{ Scan(...any) error }) (keyhole.Session, error) {
	var ss keyhole.Session
	var hash, parent sql.NullString
	var created, expires int64
	if err := row.Scan(&ss.ID, &ss.AccountID, &hash, &ss.Description, &ss.IP, &ss.UserAgent, &created, &expires, &parent); err != nil {
		return keyhole.Session{}, mapErr(err)
	}
	ss.Hash, ss.CreatedAt, ss.ExpiresAt, ss.ParentID = hash.String, fromMicros(created), fromMicros(expires), parent.String
	return ss, nil
}

// CreateSession is a sign-in: if the credentials version still holds, it
// inserts ss, stamps the account's last login and inserts a, atomically.
func (s *DB) CreateSession(ctx context.Context, ss keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := checkVersion(ctx, tx, ss.AccountID, version); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET last_login = ? WHERE id = ?`, micros(ss.CreatedAt), ss.AccountID); err != nil {
			return mapErr(err)
		}
		if err := insertSession(ctx, tx, ss); err != nil {
			return err
		}
		if a == nil {
			return nil
		}
		return insertAuthorization(ctx, tx, *a, tokens)
	})
}

func insertSession(ctx context.Context, tx queryer, ss keyhole.Session) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.AccountID, nullString(ss.Hash), ss.Description, ss.IP, ss.UserAgent, micros(ss.CreatedAt), micros(ss.ExpiresAt), nullString(ss.ParentID))
	return mapErr(err)
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

// DeleteSession deletes the session; the sessions made through it, the
// authorizations made through any of them and their tokens go with it.
func (s *DB) DeleteSession(ctx context.Context, id string) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `DELETE FROM sessions WHERE id = ?`, id)
	})
}

// DeleteExpiredSessions deletes up to limit sessions expired at or before
// before; what was made through them goes with them.
func (s *DB) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?)`, micros(before), limit)
}
