package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"time"

	"github.com/keyhole/keyhole/internal/ratelimit"
)

// Limits keeps rate limits and throttles in the database file
// (ratelimit.Store), so that they survive a restart. Each operation is one
// statement, or one write transaction, decided on the process's clock:
// SQLite is used by one process only. Should that clock be set back, no
// key stays spent for longer than its budget's window: a theoretical
// arrival time further ahead than that counts as that far.
type Limits struct {
	db  *DB
	now func() time.Time
}

// Limits returns the database's rate-limit store on the clock now (nil:
// time.Now).
func (s *DB) Limits(now func() time.Time) *Limits {
	if now == nil {
		now = time.Now
	}
	return &Limits{db: s, now: now}
}

var _ ratelimit.Store = (*Limits)(nil)

func spans(limit int, per time.Duration) (interval, window time.Duration) {
	interval = max(per/time.Duration(limit), time.Microsecond)
	return interval, interval * time.Duration(limit)
}

// Take takes n requests of key's budget if they fit: one conditional
// upsert and, when they do not fit, the read of how long until they
// would, in one write transaction.
func (l *Limits) Take(ctx context.Context, key string, limit int, per time.Duration, n int) (ratelimit.Result, error) {
	interval, window := spans(limit, per)
	var res ratelimit.Result
	err := l.db.tx(ctx, func(tx queryer) error {
		now := l.now()
		var tat int64
		var err error
		if n <= limit {
			err = tx.QueryRowContext(ctx, `INSERT INTO rate_limits (key, tat) VALUES (?1, ?2 + ?3)
				ON CONFLICT (key) DO UPDATE SET tat = max(min(tat, ?2 + ?4), ?2) + ?3 WHERE max(min(tat, ?2 + ?4), ?2) + ?3 <= ?2 + ?4
				RETURNING tat`, key, micros(now), (interval * time.Duration(n)).Microseconds(), window.Microseconds()).Scan(&tat)
			if err == nil {
				res = ratelimit.Result{OK: true, Remaining: ratelimit.Left(fromMicros(tat), now, limit, per)}
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return mapErr(err)
			}
		}
		at := now
		err = tx.QueryRowContext(ctx, `SELECT tat FROM rate_limits WHERE key = ?`, key).Scan(&tat)
		switch {
		case err == nil:
			if at = fromMicros(tat); at.After(now.Add(window)) {
				// The clock was set back: spent from now on, no longer.
				at = now.Add(window)
				if _, err := tx.ExecContext(ctx, `UPDATE rate_limits SET tat = ? WHERE key = ?`, micros(at), key); err != nil {
					return mapErr(err)
				}
			}
		case !errors.Is(err, sql.ErrNoRows):
			return mapErr(err)
		}
		_, res = ratelimit.GCRA(at, now, limit, per, n)
		return nil
	})
	return res, err
}

// Give gives back n requests taken for key, in one statement.
func (l *Limits) Give(ctx context.Context, key string, limit int, per time.Duration, n int) error {
	interval, window := spans(limit, per)
	return l.db.tx(ctx, func(tx queryer) error {
		now := micros(l.now())
		_, err := tx.ExecContext(ctx, `UPDATE rate_limits SET tat = max(min(tat, ?1 + ?2) - ?3, ?1) WHERE key = ?4`,
			now, window.Microseconds(), (interval * time.Duration(n)).Microseconds(), key)
		return mapErr(err)
	})
}

// Remaining says how many requests key could make now, in one read.
func (l *Limits) Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error) {
	var tat int64
	err := l.db.run.QueryRowContext(ctx, `SELECT tat FROM rate_limits WHERE key = ?`, key).Scan(&tat)
	if errors.Is(err, sql.ErrNoRows) {
		return limit, nil
	}
	if err != nil {
		return 0, mapErr(err)
	}
	return ratelimit.Left(fromMicros(tat), l.now(), limit, per), nil // 0 when further ahead than the window
}

// Sweep deletes up to limit rows whose budget is full again (the same as
// no row), in one statement, and returns how many.
func (l *Limits) Sweep(ctx context.Context, limit int) (int64, error) {
	return l.db.deleteBatch(ctx, `DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE tat < ? LIMIT ?)`, micros(l.now()), limit)
}
