// Package redisstore keeps rate limits and throttles in Redis
// (ratelimit.Store), so that every replica spends from one budget. Each
// operation is one Lua script, run atomically by Redis on its own clock.
package redisstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/keyhole/keyhole/internal/ratelimit"
)

// Store is a ratelimit.Store in Redis. A key's value is its GCRA
// theoretical arrival time in microseconds on Redis's clock; it expires
// when the budget is full again.
type Store struct {
	rdb    redis.UniversalClient
	prefix string
}

var _ ratelimit.Store = (*Store)(nil)

// Open connects to the Redis at url (redis:// or rediss://) and checks
// that it answers. Keys are written under prefix.
func Open(ctx context.Context, url, prefix string) (*Store, error) {
	opt, err := redis.ParseURL(url)
	if err != nil {
		// The parser's message may repeat the URL, password included.
		return nil, errors.New("redis: the URL is malformed")
	}
	rdb := redis.NewClient(opt)
	if err := rdb.Ping(ctx).Err(); err != nil {
		rdb.Close()
		return nil, fmt.Errorf("redis: %w", err)
	}
	return &Store{rdb: rdb, prefix: prefix}, nil
}

// Close closes the connections.
func (s *Store) Close() error { return s.rdb.Close() }

// now returns Redis's clock, in microseconds.
const now = `local t = redis.call('TIME') local now = tonumber(t[1]) * 1000000 + tonumber(t[2]) `

// take: KEYS[1]; ARGV[1] the requests' span (n × interval, µs), ARGV[2]
// the window (µs). Answers {1, tat, now} when they fit, {0, tat, now} not.
var take = redis.NewScript(now + `
local tat = tonumber(redis.call('GET', KEYS[1]) or now)
if tat < now then tat = now end
local nxt = tat + tonumber(ARGV[1])
if nxt - now > tonumber(ARGV[2]) then return {0, tat, now} end
redis.call('SET', KEYS[1], nxt, 'PX', math.ceil((nxt - now) / 1000))
return {1, nxt, now}`)

// give: KEYS[1]; ARGV[1] the span to give back (µs).
var give = redis.NewScript(now + `
local tat = tonumber(redis.call('GET', KEYS[1]))
if not tat then return 0 end
tat = tat - tonumber(ARGV[1])
if tat <= now then redis.call('DEL', KEYS[1]) return 0 end
redis.call('SET', KEYS[1], tat, 'PX', math.ceil((tat - now) / 1000))
return 0`)

// peek: KEYS[1]. Answers {tat or now, now}.
var peek = redis.NewScript(now + `
return {tonumber(redis.call('GET', KEYS[1]) or now), now}`)

func spans(limit int, per time.Duration) (interval, window time.Duration) {
	interval = max(per/time.Duration(limit), time.Microsecond)
	return interval, interval * time.Duration(limit)
}

func times(v any) (ok bool, tat, now time.Time, err error) {
	a, _ := v.([]any)
	if len(a) < 2 {
		return false, tat, now, fmt.Errorf("redis: unexpected answer %v", v)
	}
	i := 0
	if len(a) == 3 {
		ok, i = a[0].(int64) == 1, 1
	}
	t, _ := a[i].(int64)
	n, _ := a[i+1].(int64)
	return ok, time.UnixMicro(t), time.UnixMicro(n), nil
}

// Take takes n requests of key's budget if they fit.
func (s *Store) Take(ctx context.Context, key string, limit int, per time.Duration, n int) (ratelimit.Result, error) {
	interval, window := spans(limit, per)
	v, err := take.Run(ctx, s.rdb, []string{s.prefix + key}, (interval * time.Duration(n)).Microseconds(), window.Microseconds()).Result()
	if err != nil {
		return ratelimit.Result{}, fmt.Errorf("redis: take: %w", err)
	}
	ok, tat, now, err := times(v)
	if err != nil {
		return ratelimit.Result{}, err
	}
	if ok {
		return ratelimit.Result{OK: true, Remaining: ratelimit.Left(tat, now, limit, per)}, nil
	}
	_, res := ratelimit.GCRA(tat, now, limit, per, n)
	return res, nil
}

// Give gives back n requests taken for key.
func (s *Store) Give(ctx context.Context, key string, limit int, per time.Duration, n int) error {
	interval, _ := spans(limit, per)
	if err := give.Run(ctx, s.rdb, []string{s.prefix + key}, (interval * time.Duration(n)).Microseconds()).Err(); err != nil {
		return fmt.Errorf("redis: give: %w", err)
	}
	return nil
}

// Remaining says how many requests key could make now.
func (s *Store) Remaining(ctx context.Context, key string, limit int, per time.Duration) (int, error) {
	v, err := peek.Run(ctx, s.rdb, []string{s.prefix + key}).Result()
	if err != nil {
		return 0, fmt.Errorf("redis: remaining: %w", err)
	}
	_, tat, now, err := times(v)
	if err != nil {
		return 0, err
	}
	return ratelimit.Left(tat, now, limit, per), nil
}
