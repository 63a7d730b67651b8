package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const sessionCols = `id, account_id, hash, description, ip, user_agent, created_at, expires_at, parent_id, last_seen_at, reauth_at, amr`

func scanSession(row pgx.Row) (keyhole.Session, error) {
	var s keyhole.Session
	var hash, parent pgtype.Text
	var seen, reauth pgtype.Timestamptz
	if err := row.Scan(&s.ID, &s.AccountID, &hash, &s.Description, &s.IP, &s.UserAgent, &s.CreatedAt, &s.ExpiresAt, &parent, &seen, &reauth, &s.AMR); err != nil {
		return keyhole.Session{}, err
	}
	s.Hash, s.CreatedAt, s.ExpiresAt, s.ParentID = hash.String, s.CreatedAt.UTC(), s.ExpiresAt.UTC(), parent.String
	s.LastSeenAt, s.ReauthAt = fromNullTime(seen), fromNullTime(reauth)
	return s, nil
}

// CreateSession is a sign-in: under a lock on the account's row, if its
// credentials are still at version, it inserts s, stamps the account's
// last login and inserts a with its tokens, in one transaction. A session
// without a hash (a CLI login) stores NULL, which the unique index lets
// many sessions share.
func (db *DB) CreateSession(ctx context.Context, s keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token, ev ...keyhole.Event) error {
	const op = "create session"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := checkVersion(ctx, tx, op, s.AccountID, version); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE accounts SET last_login = $2 WHERE id = $1`, s.AccountID, s.CreatedAt)
		queueSession(b, s)
		if a != nil {
			queueAuthorization(b, *a, tokens)
		}
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

func queueSession(b *pgx.Batch, s keyhole.Session) {
	b.Queue(`INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		s.ID, s.AccountID, nullText(s.Hash), s.Description, s.IP, s.UserAgent, s.CreatedAt, s.ExpiresAt, nullText(s.ParentID),
		nullTime(s.LastSeenAt), nullTime(s.ReauthAt), s.AMR)
}

// Session returns the session with the id.
func (db *DB) Session(ctx context.Context, id string) (keyhole.Session, error) {
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE id = $1`, id))
	return s, mapErr("session", err)
}

// SessionByHash returns the session with the hash; "" finds none.
func (db *DB) SessionByHash(ctx context.Context, hash string) (keyhole.Session, error) {
	const op = "session by hash"
	if hash == "" {
		return keyhole.Session{}, notFound(op)
	}
	s, err := scanSession(db.pool.QueryRow(ctx, `SELECT `+sessionCols+` FROM sessions WHERE hash = $1`, hash))
	return s, mapErr(op, err)
}

// ListSessions returns the account's sessions, in r's order.
func (db *DB) ListSessions(ctx context.Context, accountID string, r store.Range) ([]keyhole.Session, error) {
	tail, args, err := page(r, 1, "id")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "list sessions", `SELECT `+sessionCols+` FROM sessions WHERE account_id = $1`+tail,
		append([]any{accountID}, args...), scanSession)
}

// DeleteSession deletes the session; the sessions made through it, the
// authorizations made through any of them and their tokens go with it (ON DELETE CASCADE, within the one
// statement).
func (db *DB) DeleteSession(ctx context.Context, id string, ev ...keyhole.Event) error {
	return db.deleteOne(ctx, "delete session", `DELETE FROM sessions WHERE id = $1`, id, ev)
}

// DeleteOtherSessions deletes every session of the account but keep, with
// what was made through them, moves its credentials version on and
// records ev, in one transaction.
func (db *DB) DeleteOtherSessions(ctx context.Context, accountID, keep string, ev ...keyhole.Event) (int, error) {
	const op = "delete other sessions"
	var n int64
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		var err error
		if n, err = exec(ctx, tx, op, `DELETE FROM sessions WHERE account_id = $1 AND id <> $2`, accountID, keep); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE accounts SET credentials_version = credentials_version + 1 WHERE id = $1`, accountID)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
	return int(n), err
}

// TouchSession stamps the session's last use, at most once every `every`.
func (db *DB) TouchSession(ctx context.Context, id string, at time.Time, every time.Duration) error {
	_, err := exec(ctx, db.pool, "touch session",
		`UPDATE sessions SET last_seen_at = $2 WHERE id = $1 AND (last_seen_at IS NULL OR last_seen_at <= $3)`, id, at, at.Add(-every))
	return err
}

// Reauthenticated stamps the session's re-authentication.
func (db *DB) Reauthenticated(ctx context.Context, id string, at time.Time) error {
	const op = "reauthenticated"
	n, err := exec(ctx, db.pool, op, `UPDATE sessions SET reauth_at = $2 WHERE id = $1`, id, at)
	if err == nil && n == 0 {
		err = notFound(op)
	}
	return err
}

// DeleteExpiredSessions deletes up to limit sessions that expire at or
// before before, with what was made through them.
func (db *DB) DeleteExpiredSessions(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired sessions",
		`DELETE FROM sessions WHERE id IN (SELECT id FROM sessions WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
