package sqlite

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

const mailTokenCols = `hash, account_id, purpose, email, credentials_version, created_at, expires_at, used_at`

func scanMailToken(row interface{ Scan(...any) error }) (keyhole.MailToken, error) {
	var t keyhole.MailToken
	var purpose string
	var created, expires int64
	var used sql.NullInt64
	if err := row.Scan(&t.Hash, &t.AccountID, &purpose, &t.Email, &t.Version, &created, &expires, &used); err != nil {
		return keyhole.MailToken{}, mapErr(err)
	}
	t.Purpose, t.CreatedAt, t.ExpiresAt, t.UsedAt = keyhole.MailPurpose(purpose), fromMicros(created), fromMicros(expires), fromNullMicros(used)
	return t, nil
}

func insertMailToken(ctx context.Context, tx queryer, t keyhole.MailToken) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO mail_tokens (`+mailTokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.Hash, t.AccountID, string(t.Purpose), t.Email, t.Version, micros(t.CreatedAt), micros(t.ExpiresAt), nullMicros(t.UsedAt))
	return mapErr(err)
}

// CreateMailToken inserts t.
func (s *DB) CreateMailToken(ctx context.Context, t keyhole.MailToken) error {
	return s.tx(ctx, func(tx queryer) error { return insertMailToken(ctx, tx, t) })
}

// RequestEmailChange moves the credentials version on and inserts the
// change's link, atomically.
func (s *DB) RequestEmailChange(ctx context.Context, accountID string, version int64, t *keyhole.MailToken, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := bumpVersion(ctx, tx, accountID, version); err != nil {
			return err
		}
		if t != nil {
			if err := insertMailToken(ctx, tx, *t); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, ev)
	})
}

// MailToken returns the link with the hash.
func (s *DB) MailToken(ctx context.Context, hash string) (keyhole.MailToken, error) {
	return scanMailToken(s.run.QueryRowContext(ctx, `SELECT `+mailTokenCols+` FROM mail_tokens WHERE hash = ?`, hash))
}

// VerifyEmail uses a verification link and confirms its address, atomically.
func (s *DB) VerifyEmail(ctx context.Context, hash string, at time.Time, ev ...keyhole.Event) (keyhole.Account, error) {
	var out keyhole.Account
	err := s.tx(ctx, func(tx queryer) error {
		t, err := scanMailToken(tx.QueryRowContext(ctx, `UPDATE mail_tokens SET used_at = ? WHERE hash = ? AND purpose = ? AND used_at IS NULL AND expires_at > ?
			AND credentials_version = (SELECT credentials_version FROM accounts WHERE id = mail_tokens.account_id)
			RETURNING `+mailTokenCols, micros(at), hash, string(keyhole.MailVerify), micros(at)))
		if err != nil {
			return err
		}
		a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, t.AccountID))
		if err != nil {
			return err
		}
		if a.Email != t.Email {
			a.Email, a.CredentialsVersion, a.UpdatedAt = t.Email, a.CredentialsVersion+1, at
		}
		a.EmailVerified = true
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = ?, email_key = ?, email_verified = 1, credentials_version = ?, updated_at = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.CredentialsVersion, micros(a.UpdatedAt), a.ID); err != nil {
			return mapErr(err)
		}
		out = a
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// DeleteExpiredMailTokens deletes up to limit links expired at or before before.
func (s *DB) DeleteExpiredMailTokens(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM mail_tokens WHERE hash IN (SELECT hash FROM mail_tokens WHERE expires_at <= ? LIMIT ?)`, micros(before), limit)
}
