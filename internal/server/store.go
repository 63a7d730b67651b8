package server

import (
	"context"
	"log/slog"
	"time"

	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/ratelimit/redisstore"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/cached"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/store/sqlite"
)

// CacheStore puts the in-process cache of size values in front of st (0:
// the cache is off, and every read goes to the database). On PostgreSQL,
// which other replicas change too, it also starts watching the database's
// change notifications until ctx ends: the cache is used only while they
// flow. A store that already has the cache is returned as it is.
// DefaultCacheSize is how many values the cache holds unless told.
const DefaultCacheSize = 100_000

func CacheStore(ctx context.Context, st store.Store, size int, log *slog.Logger) *cached.Store {
	if c, ok := st.(*cached.Store); ok {
		return c
	}
	pg, shared := st.(*postgres.DB)
	c := cached.New(st, cached.Options{Shared: shared, Max: size, Off: size == 0})
	if shared && size > 0 {
		go pg.WatchChanges(ctx, c, log)
	}
	return c
}

// Limits chooses where rate limits and throttles keep their counts:
// Redis when redisURL is set, else the database — PostgreSQL, which the
// replicas share, or the SQLite file, so that a restart resets none of
// them. It returns two kinds. checks keep the secret checks' throttles,
// which answer 503 when their store cannot be reached. requests keep the
// budgets every request spends (the Platform API's rate limit, unknown
// tokens per address): on SQLite in the process, as a write to the file
// now and then on every request's path would cost more than they guard;
// on a shared store ratelimit.Bounded, which rations from the process
// while the store cannot be reached, logging it on log. The closer
// releases what was opened.
func Limits(ctx context.Context, st store.Store, redisURL string, now func() time.Time, log *slog.Logger) (checks, requests ratelimit.Limits, closer func() error, err error) {
	if c, ok := st.(*cached.Store); ok {
		st = c.Inner()
	}
	var shared ratelimit.Store
	closer = func() error { return nil }
	switch db := st.(type) {
	case *sqlite.DB:
		// On the process's own clock, as PostgreSQL decides on the
		// database's: an injected clock (a test's replicas) moves only
		// the leases.
		shared = db.Limits(time.Now)
	case *postgres.DB:
		shared = db.Limits()
	}
	if redisURL != "" {
		rs, err := redisstore.Open(ctx, redisURL, "keyhole:")
		if err != nil {
			return nil, nil, nil, err
		}
		shared, closer = rs, rs.Close
	}
	if shared == nil {
		local := ratelimit.Local{Now: now}
		return local, local, closer, nil
	}
	checks = ratelimit.Shared{Store: shared, Now: now}
	if _, onFile := shared.(*sqlite.Limits); onFile {
		return checks, ratelimit.Local{Now: now}, closer, nil
	}
	return checks, Bounded(checks, now, log), closer, nil
}

// Bounded is shared limits as the budgets every request spends use them:
// rationed from the process while the store cannot be reached, and said
// so in log (nil: not logged), once per budget every
// ratelimit.DefaultRetry.
func Bounded(shared ratelimit.Limits, now func() time.Time, log *slog.Logger) ratelimit.Limits {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return ratelimit.Bounded{Limits: shared, Now: now, Down: func(ctx context.Context, name string, err error) {
		log.WarnContext(ctx, "rate limit store unreachable: rationing from this process", "budget", name, "retry", ratelimit.DefaultRetry, "err", err)
	}}
}
