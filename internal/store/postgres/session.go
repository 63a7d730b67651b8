package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const sessionCols = `id, account_id, hash, description, ip, user_agent, created_at, expires_at, parent_id`

func scanSession(row pgx.Row) (keyhole.Session, error) {
	var s keyhole.Session
	var hash, parent pgtype.Text
	if err := row.Scan(&s.ID, &s.AccountID, &hash, &s.Description, &s.IP, &s.UserAgent, &s.CreatedAt, &s.ExpiresAt, &parent); err != nil {
		return keyhole.Session{}, err
	}
	s.Hash, s.CreatedAt, s.ExpiresAt, s.ParentID = hash.String, s.CreatedAt.UTC(), s.ExpiresAt.UTC(), parent.String
	return s, nil
}

// CreateSession is a sign-in: under a lock on the account's row, if its
// credentials are still at version, it inserts s, stamps the account's
// last login and inserts a with its tokens, in one transaction. A session
// without a hash (a CLI login) stores NULL, which the unique index lets
// many sessions share.
func (db *DB) CreateSession(ctx context.Context, s keyhole.Session, version int64, a *keyhole.Authorization, tokens []keyhole.Token) error {
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
		return sendBatch(ctx, tx, op, b)
	})
}

func queueSession(b *pgx.Batch, s keyhole.Session) {
	b.Queue(`INSERT INTO sessions (`+sessionCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
		s.ID, s.AccountID, nullText(s.Hash), s.Description, s.IP, s.UserAgent, s.CreatedAt, s.ExpiresAt, nullText(s.ParentID))
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
func (db *DB) DeleteSession(ctx context.Context, id string) error {
	const op = "delete session"
	n, err := exec(ctx, db.pool, op, `DELETE FROM sessions WHERE id = $1`, id)
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
