package sqlite

import (
	"context"
	"database/sql"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

const deviceCols = `id, client_id, scope, device_hash, user_code, poll_interval, polled_at, status, account_id, session_id, expires_at, created_at, description`

func scanDevice(row interface{ Scan(...any) error }) (keyhole.DeviceGrant, error) {
	var g keyhole.DeviceGrant
	var scope, status string
	var polled sql.NullInt64
	var account, session sql.NullString
	var expires, created int64
	if err := row.Scan(&g.ID, &g.ClientID, &scope, &g.DeviceHash, &g.UserCode, &g.Interval, &polled, &status, &account, &session, &expires, &created, &g.Description); err != nil {
		return keyhole.DeviceGrant{}, mapErr(err)
	}
	g.Scope, g.PolledAt, g.Status = splitScope(scope), fromNullMicros(polled), keyhole.DeviceStatus(status)
	g.AccountID, g.SessionID, g.ExpiresAt, g.CreatedAt = account.String, session.String, fromMicros(expires), fromMicros(created)
	return g, nil
}

// CreateDeviceGrant inserts g.
func (s *DB) CreateDeviceGrant(ctx context.Context, g keyhole.DeviceGrant) error {
	return s.tx(ctx, func(tx queryer) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO device_grants (`+deviceCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			g.ID, g.ClientID, joinScope(g.Scope), g.DeviceHash, g.UserCode, g.Interval, nullMicros(g.PolledAt), string(g.Status),
			nullString(g.AccountID), nullString(g.SessionID), micros(g.ExpiresAt), micros(g.CreatedAt), g.Description)
		return mapErr(err)
	})
}

// DeviceGrantByHash returns the grant with the device code hash.
func (s *DB) DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error) {
	return scanDevice(s.run.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE device_hash = ?`, hash))
}

// DeviceGrantByUserCode returns the grant with the user code.
func (s *DB) DeviceGrantByUserCode(ctx context.Context, code string) (keyhole.DeviceGrant, error) {
	return scanDevice(s.run.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE user_code = ?`, code))
}

// UpdateDeviceGrant is a read-modify-write of one grant.
func (s *DB) UpdateDeviceGrant(ctx context.Context, id string, fn func(*keyhole.DeviceGrant) error, ev ...keyhole.Event) (keyhole.DeviceGrant, error) {
	var out keyhole.DeviceGrant
	err := s.tx(ctx, func(tx queryer) error {
		g, err := scanDevice(tx.QueryRowContext(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE id = ?`, id))
		if err != nil {
			return err
		}
		if err := fn(&g); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE device_grants SET scope = ?, poll_interval = ?, polled_at = ?, status = ?, account_id = ?, session_id = ?, expires_at = ? WHERE id = ?`,
			joinScope(g.Scope), g.Interval, nullMicros(g.PolledAt), string(g.Status), nullString(g.AccountID), nullString(g.SessionID), micros(g.ExpiresAt), id); err != nil {
			return mapErr(err)
		}
		out = g
		return insertEvents(ctx, tx, ev)
	})
	return out, err
}

// RedeemDeviceGrant deletes the grant and inserts the session (when not
// nil) and the authorization.
func (s *DB) RedeemDeviceGrant(ctx context.Context, id string, sess *keyhole.Session, a keyhole.Authorization, tokens []keyhole.Token) error {
	return s.tx(ctx, func(tx queryer) error {
		if err := execOne(ctx, tx, `DELETE FROM device_grants WHERE id = ?`, id); err != nil {
			return err
		}
		if sess != nil {
			if err := insertSession(ctx, tx, *sess); err != nil {
				return err
			}
		}
		return insertAuthorization(ctx, tx, a, tokens)
	})
}

// DeleteExpiredDeviceGrants deletes up to limit grants expired at or
// before before.
func (s *DB) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM device_grants WHERE id IN (SELECT id FROM device_grants WHERE expires_at <= ? LIMIT ?)`, micros(before), limit)
}
