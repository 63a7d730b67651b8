package postgres

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const accountCols = `id, email, name, password_hash, email_verified, mfa_enabled, credentials_version, last_login, created_at, updated_at`

func scanAccount(row pgx.Row) (keyhole.Account, error) {
	var a keyhole.Account
	var last pgtype.Timestamptz
	if err := row.Scan(&a.ID, &a.Email, &a.Name, &a.PasswordHash, &a.EmailVerified, &a.MFAEnabled, &a.CredentialsVersion, &last, &a.CreatedAt, &a.UpdatedAt); err != nil {
		return keyhole.Account{}, err
	}
	a.LastLogin, a.CreatedAt, a.UpdatedAt = fromNullTime(last), a.CreatedAt.UTC(), a.UpdatedAt.UTC()
	return a, nil
}

// account reads one account with the query's single argument.
func account(ctx context.Context, q querier, op, where string, arg any) (keyhole.Account, error) {
	a, err := scanAccount(q.QueryRow(ctx, `SELECT `+accountCols+` FROM accounts WHERE `+where, arg))
	return a, mapErr(op, err)
}

// CreateAccount inserts a with its API key and the key's tokens, in one
// transaction. The unique index on lower(email) makes one of several
// concurrent sign-ups with one email win and the others conflict.
func (db *DB) CreateAccount(ctx context.Context, a keyhole.Account, key keyhole.Authorization, tokens []keyhole.Token) error {
	const op = "create account"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		b.Queue(`INSERT INTO accounts (`+accountCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			a.ID, a.Email, a.Name, a.PasswordHash, a.EmailVerified, a.MFAEnabled, a.CredentialsVersion, nullTime(a.LastLogin), a.CreatedAt, a.UpdatedAt)
		queueAuthorization(b, key, tokens)
		return sendBatch(ctx, tx, op, b)
	})
}

// Account returns the account with the id.
func (db *DB) Account(ctx context.Context, id string) (keyhole.Account, error) {
	return account(ctx, db.pool, "account", `id = $1`, id)
}

// AccountByEmail returns the account with the email, compared
// case-insensitively through the index on lower(email).
func (db *DB) AccountByEmail(ctx context.Context, email string) (keyhole.Account, error) {
	return account(ctx, db.pool, "account by email", `lower(email) = lower($1)`, email)
}

// UpdateAccount is a read-modify-write of one account under a row lock. It
// returns the account as stored: fn cannot change ID or CreatedAt.
func (db *DB) UpdateAccount(ctx context.Context, id string, fn func(*keyhole.Account) error, ev ...keyhole.Event) (keyhole.Account, error) {
	const op = "update account"
	var out keyhole.Account
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		a, err := account(ctx, tx, op, `id = $1 FOR UPDATE`, id)
		if err != nil {
			return err
		}
		if err := fn(&a); err != nil {
			return err
		}
		out, err = scanAccount(tx.QueryRow(ctx, `UPDATE accounts
			SET email = $2, name = $3, password_hash = $4, email_verified = $5, credentials_version = $6, last_login = $7, updated_at = $8
			WHERE id = $1 RETURNING `+accountCols,
			id, a.Email, a.Name, a.PasswordHash, a.EmailVerified, a.CredentialsVersion, nullTime(a.LastLogin), a.UpdatedAt))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// checkVersion locks the account's row and fails with ErrStale unless its
// credentials version is version; the lock holds it until the transaction
// ends.
func checkVersion(ctx context.Context, tx pgx.Tx, op, accountID string, version int64) error {
	var stored int64
	if err := tx.QueryRow(ctx, `SELECT credentials_version FROM accounts WHERE id = $1 FOR UPDATE`, accountID).Scan(&stored); err != nil {
		return mapErr(op, err)
	}
	if stored != version {
		return fmt.Errorf("postgres: %s: %w: the credentials changed meanwhile", op, store.ErrStale)
	}
	return nil
}

// ResetAccount changes the password if the credentials are still at
// r.Version (and uses the reset link, when one is given), revokes every
// authorization and session but those kept, stores the new API key and
// records the events, in one transaction.
func (db *DB) ResetAccount(ctx context.Context, r store.Reset) (int, error) {
	const op = "reset account"
	a := r.Account
	var n int
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		if err := checkVersion(ctx, tx, op, a.ID, r.Version); err != nil {
			return err
		}
		if r.MailToken != "" {
			m, err := exec(ctx, tx, op, `UPDATE mail_tokens SET used_at = $4 WHERE hash = $1 AND account_id = $2 AND purpose = $3
				AND used_at IS NULL AND expires_at > $4 AND credentials_version = $5`, r.MailToken, a.ID, string(keyhole.MailReset), a.UpdatedAt, r.Version)
			if err != nil {
				return err
			}
			if m == 0 {
				return notFound(op)
			}
		}
		var err error
		if _, err = exec(ctx, tx, op, `UPDATE accounts SET email = $2, name = $3, password_hash = $4, email_verified = $5,
			credentials_version = $6, updated_at = $7 WHERE id = $1`,
			a.ID, a.Email, a.Name, a.PasswordHash, a.EmailVerified, a.CredentialsVersion, a.UpdatedAt); err != nil {
			return err
		}
		if n, err = deleteAccountAuthorizations(ctx, tx, op, a.ID, r.Keep, r.KeepSession); err != nil {
			return err
		}
		b := &pgx.Batch{}
		if r.Key.ID != "" {
			queueAuthorization(b, r.Key, r.Tokens)
		}
		queueEvents(b, r.Events)
		return sendBatch(ctx, tx, op, b)
	})
	return n, err
}
