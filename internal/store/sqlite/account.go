package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const accountCols = `id, email, name, password_hash, email_verified, mfa_enabled, credentials_version, last_login, created_at, updated_at`

func scanAccount(row interface{ Scan(...any) error }) (keyhole.Account, error) {
	var a keyhole.Account
	var last sql.NullInt64
	var created, updated int64
	if err := row.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &a.EmailVerified, &a.MFAEnabled, &a.CredentialsVersion, &last, &created, &updated); err != nil {
		return keyhole.Account{}, mapErr(err)
	}
	a.LastLogin, a.CreatedAt, a.UpdatedAt = fromNullMicros(last), fromMicros(created), fromMicros(updated)
	return a, nil
}

func insertAccount(ctx context.Context, q queryer, a keyhole.Account) error {
	_, err := q.ExecContext(ctx, `INSERT INTO accounts (id, email, email_key, name, password_hash, email_verified, mfa_enabled, credentials_version, last_login, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		a.ID, a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.EmailVerified, a.MFAEnabled, a.CredentialsVersion, nullMicros(a.LastLogin), micros(a.CreatedAt), micros(a.UpdatedAt))
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
func (s *DB) UpdateAccount(ctx context.Context, id string, fn func(*keyhole.Account) error, ev ...keyhole.Event) (keyhole.Account, error) {
	var out keyhole.Account
	err := s.tx(ctx, func(tx queryer) error {
		a, err := scanAccount(tx.QueryRowContext(ctx, `SELECT `+accountCols+` FROM accounts WHERE id = ?`, id))
		if err != nil {
			return err
		}
		mfa := a.MFAEnabled
		if err := fn(&a); err != nil {
			return err
		}
		a.MFAEnabled = mfa
		_, err = tx.ExecContext(ctx, `UPDATE accounts SET email = ?, email_key = ?, name = ?, password_hash = ?, email_verified = ?,
			credentials_version = ?, last_login = ?, updated_at = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.EmailVerified, a.CredentialsVersion, nullMicros(a.LastLogin), micros(a.UpdatedAt), id)
		if err != nil {
			return mapErr(err)
		}
		out = a
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// checkVersion fails with ErrStale unless the account's credentials
// version is version; inside a write transaction, that holds until commit.
func checkVersion(ctx context.Context, tx queryer, accountID string, version int64) error {
	var stored int64
	if err := tx.QueryRowContext(ctx, `SELECT credentials_version FROM accounts WHERE id = ?`, accountID).Scan(&stored); err != nil {
		return mapErr(err)
	}
	if stored != version {
		return fmt.Errorf("%w: the credentials changed meanwhile", store.ErrStale)
	}
	return nil
}

// bumpVersion moves the account's credentials version on from version,
// or from whatever it is when version is 0: ErrStale when it is no longer
// version, ErrNotFound when there is no such account.
func bumpVersion(ctx context.Context, tx queryer, accountID string, version int64) error {
	if version != 0 {
		if err := checkVersion(ctx, tx, accountID, version); err != nil {
			return err
		}
	}
	return execOne(ctx, tx, `UPDATE accounts SET credentials_version = credentials_version + 1 WHERE id = ?`, accountID)
}

// ResetAccount changes the password and revokes everything else, atomically.
func (s *DB) ResetAccount(ctx context.Context, r store.Reset) (int, error) {
	a := r.Account
	var n int
	err := s.tx(ctx, func(tx queryer) error {
		if err := checkVersion(ctx, tx, a.ID, r.Version); err != nil {
			return err
		}
		if r.MailToken != "" {
			if err := execOne(ctx, tx, `UPDATE mail_tokens SET used_at = ? WHERE hash = ? AND account_id = ? AND purpose = ?
				AND used_at IS NULL AND expires_at > ? AND credentials_version = ?`,
				micros(a.UpdatedAt), r.MailToken, a.ID, string(keyhole.MailReset), micros(a.UpdatedAt), r.Version); err != nil {
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET email = ?, email_key = ?, name = ?, password_hash = ?, email_verified = ?,
			credentials_version = ?, updated_at = ? WHERE id = ?`,
			a.Email, strings.ToLower(a.Email), a.Name, a.PasswordHash, a.EmailVerified, a.CredentialsVersion, micros(a.UpdatedAt), a.ID); err != nil {
			return mapErr(err)
		}
		var err error
		if n, err = deleteAccountAuthorizations(ctx, tx, a.ID, r.Keep, r.KeepSession); err != nil {
			return err
		}
		if r.Key.ID != "" {
			if err := insertAuthorization(ctx, tx, r.Key, r.Tokens); err != nil {
				return err
			}
		}
		return insertEvents(ctx, tx, r.Events)
	})
	return n, err
}
