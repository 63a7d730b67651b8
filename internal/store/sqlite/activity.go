package sqlite

import (
	"context"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

const eventCols = `id, account_id, type, ip, user_agent, subject, detail, created_at`

func scanEvent(row interface{ Scan(...any) error }) (keyhole.Event, error) {
	var e keyhole.Event
	var typ string
	var created int64
	if err := row.Scan(&e.ID, &e.AccountID, &typ, &e.IP, &e.UserAgent, &e.Subject, &e.Detail, &created); err != nil {
		return keyhole.Event{}, mapErr(err)
	}
	e.Type, e.CreatedAt = keyhole.EventType(typ), fromMicros(created)
	return e, nil
}

// insertEvents records events within q's transaction.
func insertEvents(ctx context.Context, q queryer, ev []keyhole.Event) error {
	for _, e := range ev {
		if _, err := q.ExecContext(ctx, `INSERT INTO events (`+eventCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
			e.ID, e.AccountID, string(e.Type), e.IP, e.UserAgent, e.Subject, e.Detail, micros(e.CreatedAt)); err != nil {
			return mapErr(err)
		}
	}
	return nil
}

// Record inserts events on their own, atomically.
func (s *DB) Record(ctx context.Context, ev ...keyhole.Event) error {
	if len(ev) == 0 {
		return nil
	}
	return s.tx(ctx, func(tx queryer) error { return insertEvents(ctx, tx, ev) })
}

// Events returns the account's events, in r's order.
func (s *DB) Events(ctx context.Context, accountID string, r store.Range) ([]keyhole.Event, error) {
	tail, args, err := page(r, idOnly)
	if err != nil {
		return nil, err
	}
	rows, err := s.run.QueryContext(ctx, `SELECT `+eventCols+` FROM events WHERE account_id = ?`+tail, append([]any{accountID}, args...)...)
	if err != nil {
		return nil, mapErr(err)
	}
	return collect(rows, scanEvent)
}

// DeleteExpiredEvents deletes up to limit events created at or before before.
func (s *DB) DeleteExpiredEvents(ctx context.Context, before time.Time, limit int) (int64, error) {
	return s.deleteBatch(ctx, `DELETE FROM events WHERE id IN (SELECT id FROM events WHERE created_at <= ? LIMIT ?)`, micros(before), limit)
}
