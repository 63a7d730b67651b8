package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
)

const mailTokenCols = `hash, account_id, purpose, email, credentials_version, created_at, expires_at, used_at`

func scanMailToken(row pgx.Row) (keyhole.MailToken, error) {
	var t keyhole.MailToken
	var used pgtype.Timestamptz
	if err := row.Scan(&t.Hash, &t.AccountID, &t.Purpose, &t.Email, &t.Version, &t.CreatedAt, &t.ExpiresAt, &used); err != nil {
		return keyhole.MailToken{}, err
	}
	t.CreatedAt, t.ExpiresAt, t.UsedAt = t.CreatedAt.UTC(), t.ExpiresAt.UTC(), fromNullTime(used)
	return t, nil
}

const insertMailToken = `INSERT INTO mail_tokens (` + mailTokenCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`

func mailTokenArgs(t keyhole.MailToken) []any {
	return []any{t.Hash, t.AccountID, string(t.Purpose), t.Email, t.Version, t.CreatedAt, t.ExpiresAt, nullTime(t.UsedAt)}
}

// CreateMailToken inserts t.
func (db *DB) CreateMailToken(ctx context.Context, t keyhole.MailToken) error {
	_, err := exec(ctx, db.pool, "create mail token", insertMailToken, mailTokenArgs(t)...)
	return err
}

// RequestEmailChange moves the credentials version on and inserts the
// change's link, in one transaction.
func (db *DB) RequestEmailChange(ctx context.Context, accountID string, version int64, t *keyhole.MailToken, ev ...keyhole.Event) error {
	const op = "request email change"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := checkVersion(ctx, tx, op, accountID, version); err != nil {
			return err
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE accounts SET credentials_version = credentials_version + 1 WHERE id = $1`, accountID)
		if t != nil {
			b.Queue(insertMailToken, mailTokenArgs(*t)...)
		}
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// MailToken returns the link with the hash.
func (db *DB) MailToken(ctx context.Context, hash string) (keyhole.MailToken, error) {
	t, err := scanMailToken(db.pool.QueryRow(ctx, `SELECT `+mailTokenCols+` FROM mail_tokens WHERE hash = $1`, hash))
	return t, mapErr("mail token", err)
}

// VerifyEmail uses a verification link and confirms its address, in one
// transaction. The UPDATE's condition makes a concurrent caller wait for
// the link's row and find it used.
func (db *DB) VerifyEmail(ctx context.Context, hash string, at time.Time, ev ...keyhole.Event) (keyhole.Account, error) {
	const op = "verify email"
	var out keyhole.Account
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		// The account's row is locked first, as every change of its
		// credentials does, so that the version compared below is the
		// one this change commits against.
		if _, err := exec(ctx, tx, op, `SELECT 1 FROM accounts WHERE id = (SELECT account_id FROM mail_tokens WHERE hash = $1) FOR UPDATE`, hash); err != nil {
			return err
		}
		t, err := scanMailToken(tx.QueryRow(ctx, `UPDATE mail_tokens SET used_at = $2
			WHERE hash = $1 AND purpose = $3 AND used_at IS NULL AND expires_at > $2
				AND credentials_version = (SELECT credentials_version FROM accounts WHERE id = mail_tokens.account_id)
			RETURNING `+mailTokenCols,
			hash, at, string(keyhole.MailVerify)))
		if err != nil {
			return mapErr(op, err)
		}
		out, err = scanAccount(tx.QueryRow(ctx, `UPDATE accounts SET
				credentials_version = credentials_version + CASE WHEN email = $2 THEN 0 ELSE 1 END,
				updated_at = CASE WHEN email = $2 THEN updated_at ELSE $3 END,
				email = $2, email_verified = TRUE
			WHERE id = $1 RETURNING `+accountCols, t.AccountID, t.Email, at))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// DeleteExpiredMailTokens deletes up to limit links expired at or before before.
func (db *DB) DeleteExpiredMailTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired mail tokens",
		`DELETE FROM mail_tokens WHERE hash IN (SELECT hash FROM mail_tokens WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
