package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
)

// changesChannel is where the database announces changes (migration 0010).
const changesChannel = "keyhole_changes"

// Watcher receives what WatchChanges sees.
type Watcher interface {
	// Invalidate is called with the tag of each change committed on the
	// database, by any replica ("tok:<id>", "auth:<id>", "acct:<id>",
	// "client:<id>").
	Invalidate(tags ...string)
	// SetLive(true) is called once the watch is listening (changes made
	// before may have been missed), SetLive(false) when the connection is
	// lost.
	SetLive(live bool)
	// Alive is called on every sign of life of the connection: a
	// notification, or a ping answered, at least every pingEvery.
	Alive()
}

// ListenerName is the application_name of the connection that listens
// for changes.
const ListenerName = "keyhole-changes"

// pingEvery is how often a quiet watch proves its connection alive.
const pingEvery = 250 * time.Millisecond

// WatchChanges listens to the changes other replicas commit and reports
// them to w, until ctx ends. It holds one connection of its own (not from
// the pool) and reconnects, with a growing pause, when it is lost; log
// hears about each loss.
func (db *DB) WatchChanges(ctx context.Context, w Watcher, log *slog.Logger) {
	pause := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := db.watch(ctx, w)
		w.SetLive(false)
		if ctx.Err() != nil {
			return
		}
		log.Warn("change notifications lost; the cache is off until they are back", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-time.After(pause):
		}
		pause = min(pause*2, 5*time.Second)
	}
}

func (db *DB) watch(ctx context.Context, w Watcher) error {
	connCfg := db.pool.Config().ConnConfig.Copy()
	// Named, so that an operator can tell it in pg_stat_activity.
	connCfg.RuntimeParams["application_name"] = ListenerName
	conn, err := pgx.ConnectConfig(ctx, connCfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+changesChannel); err != nil {
		return err
	}
	w.SetLive(true)
	for {
		wait, cancel := context.WithTimeout(ctx, pingEvery)
		n, err := conn.WaitForNotification(wait)
		cancel()
		switch {
		case err == nil:
			w.Invalidate(n.Payload)
			w.Alive()
		case ctx.Err() != nil:
			return ctx.Err()
		case errors.Is(err, context.DeadlineExceeded):
			// Quiet: prove the connection alive, within the same bound.
			ping, cancel := context.WithTimeout(ctx, pingEvery)
			err := conn.Ping(ping)
			cancel()
			if err != nil {
				return err
			}
			w.Alive()
		default:
			return err
		}
	}
}
