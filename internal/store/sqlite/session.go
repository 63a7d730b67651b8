package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const sessionCols = `id, account_id, hash, description, ip, user_agent, created_at, expires_at, parent_id, last_seen_at, reauth_at, amr`

func scanSession(row interface{ Scan(...any) error }) (keyhole.Session, error) {
	var ss keyhole.Session
	var hash, parent sql.NullString
	var created, expires int64
	var seen, reauth sql.NullInt64
	var amr string
	if err := row.Scan(&ss.ID, &ss.AccountID, &hash, &ss.Description, &ss.IP, &ss.UserAgent, &created, &expires, &parent, &seen, &reauth, &amr); err != nil {
		return keyhole.Session{}, mapErr(err)
	}
	ss.Hash, ss.CreatedAt, ss.ExpiresAt, ss.ParentID = hash.String, fromMicros(created), fromMicros(expires), parent.String
	ss.LastSeenAt, ss.ReauthAt, ss.AMR = fromNullMicros(seen), fromNullMicros(reauth), splitList(amr)
	return ss, nil
}

// CreateSession is a sign-in: if the credentials version still holds, it
// inserts ss, stamps the account's last login and inserts a, atomically.
func (s *DB) CreateSession(ctx context.Context, ss keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
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
		if a != nil {
			if err := insertAuthorization(ctx, tx, *a, tokens); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, ev)
	})
}

func insertSession(ctx context.Context, tx queryer, ss keyhole.Session) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		ss.ID, ss.AccountID, nullString(ss.Hash), ss.Description, ss.IP, ss.UserAgent, micros(ss.CreatedAt), micros(ss.ExpiresAt), nullString(ss.ParentID),
		nullMicros(ss.LastSeenAt), nullMicros(ss.ReauthAt), joinScope(ss.AMR))
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
func (s *DB) DeleteSession(ctx context.Context, id string, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM sessions WHERE id = ?`, id); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// DeleteOtherSessions deletes every session of the account but keep and
// moves its credentials version on.
func (s *DB) DeleteOtherSessions(ctx context.Context, accountID, keep string, ev ...keyhole.Event) (int, error) {
	var n int64
	err := s.tx(ctx, func(tx queryer) error {
		res, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE account_id = ? AND id != ?`, accountID, keep)
		if err != nil {
			return mapErr(err)
		}
		if n, err = res.RowsAffected(); err != nil {
			return err
		}
		if err := bumpVersion(ctx, tx, accountID, 0); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
	return int(n), err
}

// TouchSession stamps the session's last use, at most once every `every`.
func (s *DB) TouchSession(ctx context.Context, id string, at time.Time, every time.Duration) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `UPDATE sessions SET last_seen_at = ? WHERE id = ? AND (last_seen_at IS NULL OR last_seen_at <= ?)`,
			micros(at), id, micros(at.Add(-every)))
		return mapErr(err)
	})
}

// Reauthenticated stamps the session's re-authentication.
func (s *DB) Reauthenticated(ctx context.Context, id string, at time.Time) error {
	return s.tx(ctx, func(tx queryer) error {
		return execOne(ctx, tx, `UPDATE sessions SET reauth_at = ? WHERE id = ?`, micros(at), id)
	})
}

// DeleteExpiredSessions deletes up to limit sessions expired at or before
// before; what was made through them goes with them.
func (s *DB) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= ? LIMIT ?)`, micros(before), limit)
}
