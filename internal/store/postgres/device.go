package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
)

const deviceCols = `id, client_id, scope, device_hash, user_code, poll_interval, polled_at, status, account_id, session_id, expires_at, created_at, description`

func scanDevice(row pgx.Row) (keyhole.DeviceGrant, error) {
	var g keyhole.DeviceGrant
	var polled pgtype.Timestamptz
	var account, session pgtype.Text
	if err := row.Scan(&g.ID, &g.ClientID, &g.Scope, &g.DeviceHash, &g.UserCode, &g.Interval, &polled, &g.Status,
		&account, &session, &g.ExpiresAt, &g.CreatedAt, &g.Description); err != nil {
		return keyhole.DeviceGrant{}, err
	}
	g.Scope, g.PolledAt, g.AccountID, g.SessionID = scope(g.Scope), fromNullTime(polled), account.String, session.String
	g.ExpiresAt, g.CreatedAt = g.ExpiresAt.UTC(), g.CreatedAt.UTC()
	return g, nil
}

// CreateDeviceGrant inserts g.
func (db *DB) CreateDeviceGrant(ctx context.Context, g keyhole.DeviceGrant) error {
	_, err := exec(ctx, db.pool, "create device grant", `INSERT INTO device_grants (`+deviceCols+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)`,
		g.ID, g.ClientID, scope(g.Scope), g.DeviceHash, g.UserCode, g.Interval, nullTime(g.PolledAt), string(g.Status),
		nullText(g.AccountID), nullText(g.SessionID), g.ExpiresAt, g.CreatedAt, g.Description)
	return err
}

// DeviceGrantByHash returns the grant with the device code's hash.
func (db *DB) DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error) {
	g, err := scanDevice(db.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE device_hash = $1`, hash))
	return g, mapErr("device grant by hash", err)
}

// DeviceGrantByUserCode returns the grant with the user code.
func (db *DB) DeviceGrantByUserCode(ctx context.Context, code string) (keyhole.DeviceGrant, error) {
	g, err := scanDevice(db.pool.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE user_code = $1`, code))
	return g, mapErr("device grant by user code", err)
}

// UpdateDeviceGrant is a read-modify-write of one grant under a row lock;
// every field but ID, ClientID, DeviceHash, UserCode and CreatedAt is
// written, and it returns the grant as stored.
func (db *DB) UpdateDeviceGrant(ctx context.Context, id string, fn func(*keyhole.DeviceGrant) error, ev ...keyhole.Event) (keyhole.DeviceGrant, error) {
	const op = "update device grant"
	var out keyhole.DeviceGrant
	err := db.tx(ctx, op, func(tx pgx.Tx) error {
		g, err := scanDevice(tx.QueryRow(ctx, `SELECT `+deviceCols+` FROM device_grants WHERE id = $1 FOR UPDATE`, id))
		if err != nil {
			return mapErr(op, err)
		}
		if err := fn(&g); err != nil {
			return err
		}
		out, err = scanDevice(tx.QueryRow(ctx, `UPDATE device_grants
			SET scope = $2, poll_interval = $3, polled_at = $4, status = $5, account_id = $6, session_id = $7, expires_at = $8
			WHERE id = $1 RETURNING `+deviceCols,
			id, scope(g.Scope), g.Interval, nullTime(g.PolledAt), string(g.Status), nullText(g.AccountID), nullText(g.SessionID), g.ExpiresAt))
		if err != nil {
			return mapErr(op, err)
		}
		return insertEvents(ctx, tx, op, ev)
	})
	return out, err
}

// RedeemDeviceGrant deletes the grant and inserts the session (when not
// nil) and a with its tokens, in one transaction. A concurrent caller's
// DELETE waits for the winner's and then finds no row: ErrNotFound.
func (db *DB) RedeemDeviceGrant(ctx context.Context, id string, sess *keyhole.Session, a keyhole.Authorization, tokens []keyhole.Token) error {
	const op = "redeem device grant"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, op, `DELETE FROM device_grants WHERE id = $1`, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(op)
		}
		b := &pgx.Batch{}
		if sess != nil {
			queueSession(b, *sess)
		}
		queueAuthorization(b, a, tokens)
		return sendBatch(ctx, tx, op, b)
	})
}

// DeleteExpiredDeviceGrants deletes up to limit grants that expire at or
// before before. Rows another replica is sweeping are skipped, not waited
// for.
func (db *DB) DeleteExpiredDeviceGrants(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired device grants",
		`DELETE FROM device_grants WHERE id IN (SELECT id FROM device_grants WHERE expires_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
