package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// lockMFA locks the account's row and reports whether MFA is on, so that
// enrolments and changes of one account run one after the other.
func lockMFA(ctx context.Context, tx pgx.Tx, op, accountID string) (bool, error) {
	var on bool
	if err := tx.QueryRow(ctx, `SELECT mfa_enabled FROM accounts WHERE id = $1 FOR NO KEY UPDATE`, accountID).Scan(&on); err != nil {
		return false, mapErr(op, err)
	}
	return on, nil
}

func queueCodes(b *pgx.Batch, accountID string, codes []string) {
	b.Queue(`DELETE FROM recovery_codes WHERE account_id = $1`, accountID)
	b.Queue(`INSERT INTO recovery_codes (account_id, hash) SELECT $1, unnest($2::text[])`, accountID, codes)
}

// EnableMFA stores the seed and recovery codes and turns MFA on, once.
func (db *DB) EnableMFA(ctx context.Context, accountID string, seed []byte, codes []string, at time.Time, ev ...keyhole.Event) error {
	const op = "enable mfa"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		on, err := lockMFA(ctx, tx, op, accountID)
		if err != nil {
			return err
		}
		if on {
			return fmt.Errorf("postgres: %s: %w: two-factor authentication is already on", op, store.ErrConflict)
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE accounts SET mfa_enabled = TRUE, mfa_seed = $2, credentials_version = credentials_version + 1, updated_at = $3 WHERE id = $1`, accountID, seed, at)
		queueCodes(b, accountID, codes)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// DisableMFA turns MFA off and forgets its seed, codes and used steps.
func (db *DB) DisableMFA(ctx context.Context, accountID string, at time.Time, ev ...keyhole.Event) error {
	const op = "disable mfa"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		on, err := lockMFA(ctx, tx, op, accountID)
		if err != nil {
			return err
		}
		if !on {
			return fmt.Errorf("postgres: %s: %w: two-factor authentication is off", op, store.ErrConflict)
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE accounts SET mfa_enabled = FALSE, mfa_seed = NULL, credentials_version = credentials_version + 1, updated_at = $2 WHERE id = $1`, accountID, at)
		b.Queue(`DELETE FROM recovery_codes WHERE account_id = $1`, accountID)
		b.Queue(`DELETE FROM otp_last_steps WHERE account_id = $1`, accountID)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// MFASeed returns the sealed seed of an account with MFA on.
func (db *DB) MFASeed(ctx context.Context, accountID string) ([]byte, error) {
	var seed []byte
	err := db.pool.QueryRow(ctx, `SELECT mfa_seed FROM accounts WHERE id = $1 AND mfa_enabled AND mfa_seed IS NOT NULL`, accountID).Scan(&seed)
	return seed, mapErr("mfa seed", err)
}

// ReplaceRecoveryCodes replaces the account's recovery codes.
func (db *DB) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []string, at time.Time, ev ...keyhole.Event) error {
	const op = "replace recovery codes"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		on, err := lockMFA(ctx, tx, op, accountID)
		if err != nil {
			return err
		}
		if !on {
			return fmt.Errorf("postgres: %s: %w: two-factor authentication is off", op, store.ErrConflict)
		}
		b := &pgx.Batch{}
		queueCodes(b, accountID, codes)
		queueEvents(b, ev)
		return sendBatch(ctx, tx, op, b)
	})
}

// UseRecoveryCode uses one unused recovery code. The UPDATE's condition
// makes a concurrent caller wait for the row and find it used.
func (db *DB) UseRecoveryCode(ctx context.Context, accountID, hash string, at time.Time, ev ...keyhole.Event) error {
	const op = "use recovery code"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, op, `UPDATE recovery_codes SET used_at = $3 WHERE account_id = $1 AND hash = $2 AND used_at IS NULL`, accountID, hash, at)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(op)
		}
		return insertEvents(ctx, tx, op, ev)
	})
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (db *DB) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	err := db.pool.QueryRow(ctx, `SELECT count(*) FROM recovery_codes WHERE account_id = $1 AND used_at IS NULL`, accountID).Scan(&n)
	return n, mapErr("recovery codes left", err)
}

// UseOTPStep records an accepted time step if it is after the last one,
// in one upsert whose condition refuses the same or an earlier step: a
// concurrent caller, on any replica, waits for the row and finds its step
// taken.
func (db *DB) UseOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error {
	const op = "use otp step"
	n, err := exec(ctx, db.pool, op, `INSERT INTO otp_last_steps AS l (account_id, step, used_at) VALUES ($1, $2, $3)
		ON CONFLICT (account_id) DO UPDATE SET step = excluded.step, used_at = excluded.used_at WHERE l.step < excluded.step`,
		accountID, step, at)
	if err == nil && n == 0 {
		err = fmt.Errorf("postgres: %s: %w: time step %d is not after the last one accepted", op, store.ErrConflict, step)
	}
	return err
}
