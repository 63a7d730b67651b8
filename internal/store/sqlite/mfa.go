package sqlite

import (
	"context"
	"fmt"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// mfaState reads whether the account has MFA on, within tx.
func mfaState(ctx context.Context, tx queryer, accountID string) (bool, error) {
	var on bool
	if err := tx.QueryRowContext(ctx, `SELECT mfa_enabled FROM accounts WHERE id = ?`, accountID).Scan(&on); err != nil {
		return false, mapErr(err)
	}
	return on, nil
}

func insertCodes(ctx context.Context, tx queryer, accountID string, codes []string) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM recovery_codes WHERE account_id = ?`, accountID); err != nil {
		return mapErr(err)
	}
	for _, c := range codes {
		if _, err := tx.ExecContext(ctx, `INSERT INTO recovery_codes (account_id, hash) VALUES (?, ?)`, accountID, c); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// EnableMFA stores the seed and recovery codes and turns MFA on, once.
func (s *DB) EnableMFA(ctx context.Context, accountID string, seed []byte, codes []string, at time.Time, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		on, err := mfaState(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if on {
			return fmt.Errorf("%w: two-factor authentication is already on", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET mfa_enabled = 1, mfa_seed = ?, credentials_version = credentials_version + 1, updated_at = ? WHERE id = ?`, seed, micros(at), accountID); err != nil {
			return mapErr(err)
		}
		if err := insertCodes(ctx, tx, accountID, codes); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// DisableMFA turns MFA off and forgets its seed, codes and used steps.
func (s *DB) DisableMFA(ctx context.Context, accountID string, at time.Time, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		on, err := mfaState(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !on {
			return fmt.Errorf("%w: two-factor authentication is off", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE accounts SET mfa_enabled = 0, mfa_seed = NULL, credentials_version = credentials_version + 1, updated_at = ? WHERE id = ?`, micros(at), accountID); err != nil {
			return mapErr(err)
		}
		for _, table := range []string{"recovery_codes", "otp_last_steps"} {
			if _, err := tx.ExecContext(ctx, `DELETE FROM `+table+` WHERE account_id = ?`, accountID); err != nil {
				return mapErr(err)
			}
		}
		return insertEvents(ctx, tx, ev)
	})
}

// MFASeed returns the sealed seed of an account with MFA on.
func (s *DB) MFASeed(ctx context.Context, accountID string) ([]byte, error) {
	var seed []byte
	if err := s.run.QueryRowContext(ctx, `SELECT mfa_seed FROM accounts WHERE id = ? AND mfa_enabled AND mfa_seed IS NOT NULL`, accountID).Scan(&seed); err != nil {
		return nil, mapErr(err)
	}
	return seed, nil
}

// ReplaceRecoveryCodes replaces the account's recovery codes.
func (s *DB) ReplaceRecoveryCodes(ctx context.Context, accountID string, codes []string, at time.Time, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		on, err := mfaState(ctx, tx, accountID)
		if err != nil {
			return err
		}
		if !on {
			return fmt.Errorf("%w: two-factor authentication is off", store.ErrConflict)
		}
		if err := insertCodes(ctx, tx, accountID, codes); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// UseRecoveryCode uses one unused recovery code, once.
func (s *DB) UseRecoveryCode(ctx context.Context, accountID, hash string, at time.Time, ev ...keyhole.Event) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `UPDATE recovery_codes SET used_at = ? WHERE account_id = ? AND hash = ? AND used_at IS NULL`,
			micros(at), accountID, hash); err != nil {
			return err
		}
		return insertEvents(ctx, tx, ev)
	})
}

// RecoveryCodesLeft counts the account's unused recovery codes.
func (s *DB) RecoveryCodesLeft(ctx context.Context, accountID string) (int, error) {
	var n int
	err := s.run.QueryRowContext(ctx, `SELECT count(*) FROM recovery_codes WHERE account_id = ? AND used_at IS NULL`, accountID).Scan(&n)
	return n, mapErr(err)
}

// UseOTPStep records an accepted time step if it is after the last one,
// in one upsert whose condition refuses the same or an earlier step.
func (s *DB) UseOTPStep(ctx context.Context, accountID string, step int64, at time.Time) error {
	return s.tx(ctx, func(tx queryer) error {
		res, err := tx.ExecContext(ctx, `INSERT INTO otp_last_steps (account_id, step, used_at) VALUES (?, ?, ?)
			ON CONFLICT (account_id) DO UPDATE SET step = excluded.step, used_at = excluded.used_at WHERE otp_last_steps.step < excluded.step`,
			accountID, step, micros(at))
		if err != nil {
			return mapErr(err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("%w: time step %d is not after the last one accepted", store.ErrConflict, step)
		}
		return nil
	})
}
