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

// Limits chooses where rate limits and throttles keep their counts: Redis
// when redisURL is set, else the database when it is PostgreSQL (which
// replicas share), else this process (SQLite). The closer releases what
// was opened.
func Limits(ctx context.Context, st store.Store, redisURL string, now func() time.Time) (ratelimit.Limits, func() error, error) {
	if redisURL != "" {
		rs, err := redisstore.Open(ctx, redisURL, "keyhole:")
		if err != nil {
			return nil, nil, err
		}
		return ratelimit.Shared{Store: rs, Now: now}, rs.Close, nil
	}
	if c, ok := st.(*cached.Store); ok {
		st = c.Inner()
	}
	if pg, ok := st.(*postgres.DB); ok {
		return ratelimit.Shared{Store: pg.Limits(), Now: now}, func() error { return nil }, nil
	}
	return ratelimit.Local{Now: now}, func() error { return nil }, nil
}
