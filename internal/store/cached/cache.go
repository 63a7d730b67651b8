package cached

import (
	"sync"
	"time"
)

// cache holds values under keys, each tagged with the names of what it
// depends on (an authorization, an account, a client…), so that a change
// drops exactly what it affects.
//
// A reader that misses takes a ticket (begin) before reading the
// database and stores what it read only if nothing was invalidated since
// (put): otherwise a change committed between the read and the put could
// leave a stale value behind.
type cache struct {
	mu     sync.RWMutex
	items  map[string]*item
	tags   map[string]map[string]struct{} // tag → keys
	seq    uint64                         // invalidations so far
	max    int
	maxAge time.Duration
	now    func() time.Time
}

type item struct {
	value any
	tags  []string
	born  time.Time
}

func newCache(max int, maxAge time.Duration, now func() time.Time) *cache {
	return &cache{items: map[string]*item{}, tags: map[string]map[string]struct{}{}, max: max, maxAge: maxAge, now: now}
}

func (c *cache) get(key string) (any, bool) {
	c.mu.RLock()
	it, ok := c.items[key]
	c.mu.RUnlock()
	if !ok || c.now().Sub(it.born) > c.maxAge {
		return nil, false
	}
	return it.value, true
}

// begin returns the ticket a later put needs.
func (c *cache) begin() uint64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.seq
}

// put stores value under key with its tags, unless something was
// invalidated since ticket was taken.
func (c *cache) put(ticket uint64, key string, value any, tags ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.seq != ticket {
		return
	}
	if _, ok := c.items[key]; !ok && len(c.items) >= c.max {
		c.evictLocked(c.max / 16)
	}
	c.removeLocked(key)
	c.items[key] = &item{value: value, tags: tags, born: c.now()}
	for _, t := range tags {
		keys := c.tags[t]
		if keys == nil {
			keys = map[string]struct{}{}
			c.tags[t] = keys
		}
		keys[key] = struct{}{}
	}
}

// invalidate drops every value that carries one of tags.
func (c *cache) invalidate(tags ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	for _, t := range tags {
		for key := range c.tags[t] {
			c.removeLocked(key)
		}
		delete(c.tags, t)
	}
}

// update replaces, in place, every value that carries tag with what fn
// returns for it. It is no invalidation: what is being read meanwhile may
// still be put.
func (c *cache) update(tag string, fn func(any) any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for key := range c.tags[tag] {
		// A new item, not a change to the old one: get reads an item's
		// value after letting go of the lock.
		if it := c.items[key]; it != nil {
			c.items[key] = &item{value: fn(it.value), tags: it.tags, born: it.born}
		}
	}
}

// flush drops everything.
func (c *cache) flush() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.seq++
	clear(c.items)
	clear(c.tags)
}

func (c *cache) len() int {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return len(c.items)
}

func (c *cache) removeLocked(key string) {
	it, ok := c.items[key]
	if !ok {
		return
	}
	delete(c.items, key)
	for _, t := range it.tags {
		if keys := c.tags[t]; keys != nil {
			delete(keys, key)
			if len(keys) == 0 {
				delete(c.tags, t)
			}
		}
	}
}

// evictLocked drops n values, whichever the map's iteration yields first:
// about random, which is as good as least-recently-used for tokens that
// are equally likely to come back.
func (c *cache) evictLocked(n int) {
	for key := range c.items {
		if n <= 0 {
			return
		}
		c.removeLocked(key)
		n--
	}
}
