package sqlite

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const signingKeyCols = `id, alg, sealed, created_at, activates_at, retires_at`

// SigningKeys returns every signing key, oldest first.
func (s *DB) SigningKeys(ctx context.Context) ([]keyhole.SigningKey, error) {
	rows, err := s.run.QueryContext(ctx, `SELECT `+signingKeyCols+` FROM signing_keys ORDER BY created_at, id`)
	if err != nil {
		return nil, mapErr(err)
	}
	defer rows.Close()
	var out []keyhole.SigningKey
	for rows.Next() {
		var k keyhole.SigningKey
		var created, activates int64
		var retires sql.NullInt64
		if err := rows.Scan(&k.ID, &k.Alg, &k.Sealed, &created, &activates, &retires); err != nil {
			return nil, mapErr(err)
		}
		k.CreatedAt, k.ActivatesAt, k.RetiresAt = fromMicros(created), fromMicros(activates), fromNullMicros(retires)
		out = append(out, k)
	}
	return out, mapErr(rows.Err())
}

// AddSigningKey inserts k and retires the keys before it, in one
// transaction (SQLite has one writer, so a first key is made once).
func (s *DB) AddSigningKey(ctx context.Context, k keyhole.SigningKey, first bool) error {
	return s.tx(ctx, func(tx queryer) error {
		if first {
			var n int
			if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM signing_keys`).Scan(&n); err != nil {
				return mapErr(err)
			}
			if n > 0 {
				return fmt.Errorf("%w: a signing key exists", store.ErrConflict)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE signing_keys SET retires_at = ? WHERE retires_at IS NULL`, micros(k.ActivatesAt)); err != nil {
			return mapErr(err)
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+signingKeyCols+`) VALUES (?, ?, ?, ?, ?, ?)`,
			k.ID, k.Alg, k.Sealed, micros(k.CreatedAt), micros(k.ActivatesAt), nullMicros(k.RetiresAt))
		return mapErr(err)
	})
}

// DeleteRetiredSigningKeys deletes the keys retired at or before before.
func (s *DB) DeleteRetiredSigningKeys(ctx context.Context, before time.Time) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM signing_keys WHERE retires_at <= ?`, micros(before))
}
