package store

import (
	"context"
	"sync"
)

// Group commits the work of concurrent callers together: while one group
// is being written, the callers that arrive wait, and the next group
// writes all of theirs in one transaction. A database pays for each commit
// (SQLite appends and syncs its write-ahead log, PostgreSQL flushes its
// own), so under load many small writes cost about as much as one. The
// backends use it for AddTokens, the write of every client-credentials
// request.
type Group[T any] struct {
	// Max is the most items in one group; 0 means 128.
	Max int

	mu    sync.Mutex
	queue []*groupItem[T]
	busy  bool
}

type groupItem[T any] struct {
	v    T
	err  error
	done chan struct{}
}

// Do hands v to the group and returns its own error once it is written.
// write gets the items of a group and returns one error per item, in
// order; a write that fails as a whole should write each item alone, so
// that one bad item fails only itself.
func (g *Group[T]) Do(ctx context.Context, v T, write func([]T) []error) error {
	it := &groupItem[T]{v: v, done: make(chan struct{})}
	g.mu.Lock()
	g.queue = append(g.queue, it)
	lead := !g.busy
	g.busy = true
	g.mu.Unlock()
	if lead {
		g.lead(write)
	}
	select {
	case <-it.done:
		return it.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// lead writes groups until nobody waits: the caller that found the group
// idle does everyone's writing meanwhile.
func (g *Group[T]) lead(write func([]T) []error) {
	max := g.Max
	if max <= 0 {
		max = 128
	}
	for {
		g.mu.Lock()
		n := min(len(g.queue), max)
		if n == 0 {
			g.busy = false
			g.mu.Unlock()
			return
		}
		batch := g.queue[:n:n]
		g.queue = g.queue[n:]
		g.mu.Unlock()
		vs := make([]T, n)
		for i, it := range batch {
			vs[i] = it.v
		}
		errs := write(vs)
		for i, it := range batch {
			it.err = errs[i]
			close(it.done)
		}
	}
}
