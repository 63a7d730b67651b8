package postgres

import (
	"context"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const eventCols = `id, account_id, type, ip, user_agent, subject, detail, created_at`

func scanEvent(row pgx.Row) (keyhole.Event, error) {
	var e keyhole.Event
	if err := row.Scan(&e.ID, &e.AccountID, &e.Type, &e.IP, &e.UserAgent, &e.Subject, &e.Detail, &e.CreatedAt); err != nil {
		return keyhole.Event{}, err
	}
	e.CreatedAt = e.CreatedAt.UTC()
	return e, nil
}

// queueEvents adds the inserts of ev to b.
func queueEvents(b *pgx.Batch, ev []keyhole.Event) {
	for _, e := range ev {
		b.Queue(`INSERT INTO events (`+eventCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			e.ID, e.AccountID, string(e.Type), e.IP, e.UserAgent, e.Subject, e.Detail, e.CreatedAt)
	}
}

// insertEvents records ev within tx, in one round trip.
func insertEvents(ctx context.Context, tx pgx.Tx, op string, ev []keyhole.Event) error {
	if len(ev) == 0 {
		return nil
	}
	b := &pgx.Batch{}
	queueEvents(b, ev)
	return sendBatch(ctx, tx, op, b)
}

// deleteOne runs a DELETE of one row by id and records ev, in one
// transaction; ErrNotFound when there was no such row.
func (db *DB) deleteOne(ctx context.Context, op, sql, id string, ev []keyhole.Event) error {
	return db.tx(ctx, op, func(tx pgx.Tx) error {
		n, err := exec(ctx, tx, op, sql, id)
		if err != nil {
			return err
		}
		if n == 0 {
			return notFound(op)
		}
		return insertEvents(ctx, tx, op, ev)
	})
}

// Record inserts events on their own, in one transaction.
func (db *DB) Record(ctx context.Context, ev ...keyhole.Event) error {
	const op = "record events"
	if len(ev) == 0 {
		return nil
	}
	return db.tx(ctx, op, func(tx pgx.Tx) error { return insertEvents(ctx, tx, op, ev) })
}

// Events returns the account's events, in r's order.
func (db *DB) Events(ctx context.Context, accountID string, r store.Range) ([]keyhole.Event, error) {
	tail, args, err := page(r, 1, "id")
	if err != nil {
		return nil, err
	}
	return list(ctx, db.pool, "events", `SELECT `+eventCols+` FROM events WHERE account_id = $1`+tail,
		append([]any{accountID}, args...), scanEvent)
}

// DeleteExpiredEvents deletes up to limit events created at or before before.
func (db *DB) DeleteExpiredEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return exec(ctx, db.pool, "delete expired events",
		`DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at <= $1 LIMIT $2 FOR UPDATE SKIP LOCKED)`, before, limit)
}
