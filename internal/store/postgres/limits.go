package postgres

import (
	"context"
	"errors"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/ratelimit"
)

// Limits keeps rate limits and throttles in the database, so that every
// replica spends from one budget (ratelimit.Store). Each operation is one
// statement decided on the database's clock, so replicas with skewed
// clocks agree.
type Limits struct{ db *DB }

// Limits returns the database's rate-limit store.
func (db *DB) Limits() *Limits { return &Limits{db: db} }

var _ ratelimit.Store = (*Limits)(nil)

func micros(d time.Duration) int64 { return d.Microseconds() }

func spans(limit int, per time.Duration) (interval, window time.Duration) {
	interval = max(per/time.Duration(limit), time.Microsecond)
	return interval, interval * time.Duration(limit)
}

// Take takes n requests of key's budget if they fit, in one conditional
// upsert.
func (l *Limits) Take(ctx context.Context, key string, limit int, per time.Duration, n int) (ratelimit.Result, error) {
	const op = "take from rate limit"
	interval, window := spans(limit, per)
	var tat, now time.Time
	err := l.db.pool.QueryRow(ctx, `INSERT INTO rate_limits AS r (key, tat) VALUES ($1, now() + $2 * INTERVAL '1 microsecond')
		ON CONFLICT (key) DO UPDATE SET tat = GREATEST(r.tat, now()) + $2 * INTERVAL '1 microsecond'
		WHERE GREATEST(r.tat, now()) + $2 * INTERVAL '1 microsecond' <= now() + $3 * INTERVAL '1 microsecond'
		RETURNING tat, now()`, key, micros(interval*time.Duration(n)), micros(window)).Scan(&tat, &now)
	if err == nil {
		return ratelimit.Result{OK: true, Remaining: ratelimit.Left(tat, now, limit, per)}, nil
	}
	if !errors.Is(err, pgx.ErrNoRows) {
		return ratelimit.Result{}, mapErr(op, err)
	}
	if err := l.db.pool.QueryRow(ctx, `SELECT tat, now() FROM rate_limits WHERE key = $1`, key).Scan(&tat, &now); err != nil {
		return ratelimit.Result{}, mapErr(op, err)
	}
	_, res := ratelimit.GCRA(tat, now, limit, per, n)
	return res, nil
}

// Give gives back n requests taken for key.
func (l *Limits) Give(ctx context.Context, key string, limit int, per time.Duration, n int) error {
	interval, _ := spans(limit, per)
	_, err := exec(ctx, l.db.pool, "give to rate limit", `UPDATE rate_limits SET tat = GREATEST(tat - $2 * INTERVAL '1 microsecond', now()) WHERE key = $1`,
		key, micros(interval*time.Duration(n)))
	return err
}

// Remaining says how many requests key could make now.
func (l *Limits) Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error) {
	var tat, now time.Time
	err := l.db.pool.QueryRow(ctx, `SELECT tat, now() FROM rate_limits WHERE key = $1`, key).Scan(&tat, &now)
	if errors.Is(err, pgx.ErrNoRows) {
		return limit, nil
	}
	if err != nil {
		return 0, mapErr("rate limit remaining", err)
	}
	return ratelimit.Left(tat, now, limit, per), nil
}

// Sweep deletes up to limit rows whose budget is full again (the same as
// no row), and returns how many.
func (l *Limits) Sweep(ctx context.Context, limit int) (int64, error) {
	return exec(ctx, l.db.pool, "sweep rate limits",
		`DELETE FROM rate_limits WHERE key IN (SELECT key FROM rate_limits WHERE tat < now() LIMIT $1 FOR UPDATE SKIP LOCKED)`, limit)
}
