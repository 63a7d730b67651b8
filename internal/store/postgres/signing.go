package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const signingKeyCols = `id, alg, sealed, created_at, activates_at, retires_at`

// SigningKeys returns every signing key, oldest first.
func (db *DB) SigningKeys(ctx context.Context) ([]keyhole.SigningKey, error) {
	const op = "signing keys"
	rows, err := db.pool.Query(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, mapErr(op, err)
	}
	defer rows.Close()
	var out []keyhole.SigningKey
	for rows.Next() {
		var k keyhole.SigningKey
		var retires pgtype.Timestamptz
		if err := rows.Scan(&k.ID, &k.Alg, &k.Sealed, &k.CreatedAt, &k.ActivatesAt, &retires); err != nil {
			return nil, mapErr(op, err)
		}
		k.CreatedAt, k.ActivatesAt, k.RetiresAt = k.CreatedAt.UTC(), k.ActivatesAt.UTC(), fromNullTime(retires)
		out = append(out, k)
	}
	return out, mapErr(op, rows.Err())
}

// AddSigningKey inserts k and retires the keys before it, in one
// transaction. The table is locked against other writers first, so that
// replicas adding a first key at once make one.
func (db *DB) AddSigningKey(ctx context.Context, k keyhole.SigningKey, first bool) error {
	const op = "add signing key"
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE signing_keys IN SHARE ROW EXCLUSIVE MODE`); err != nil {
			return mapErr(op, err)
		}
		if first {
			var exists bool
			if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM signing_keys)`).Scan(&exists); err != nil {
				return mapErr(op, err)
			}
			if exists {
				return fmt.Errorf("postgres: %s: %w: a signing key exists", op, store.ErrConflict)
			}
		}
		b := &pgx.Batch{}
		b.Queue(`UPDATE signing_keys SET retires_at = $1 WHERE retires_at IS NULL`, k.ActivatesAt)
		b.Queue(`INSERT INTO signing_keys (`+signingKeyCols+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			k.ID, k.Alg, k.Sealed, k.CreatedAt, k.ActivatesAt, nullTime(k.RetiresAt))
		return sendBatch(ctx, tx, op, b)
	})
}

// DeleteRetiredSigningKeys deletes the keys retired at or before before.
func (db *DB) DeleteRetiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	return exec(ctx, db.pool, "delete retired signing keys", `DELETE FROM signing_keys WHERE retires_at <= $1`, before)
}
