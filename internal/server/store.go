package server

import (
	"context"
	"log/slog"

	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/cached"
	"github.com/keyhole/keyhole/internal/store/postgres"
)

// CacheStore puts the in-process cache in front of st. On PostgreSQL,
// which other replicas change too, it also starts watching the database's
// change notifications until ctx ends: the cache is used only while they
// flow. A store that already has the cache is returned as it is.
func CacheStore(ctx context.Context, st store.Store, log *slog.Logger) *cached.Store {
	if c, ok := st.(*cached.Store); ok {
		return c
	}
	pg, shared := st.(*postgres.DB)
	c := cached.New(st, cached.Options{Shared: shared})
	if shared {
		go pg.WatchChanges(ctx, c, log)
	}
	return c
}
