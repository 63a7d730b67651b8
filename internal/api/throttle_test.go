package api_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/ratelimit/redisstore"
	"github.com/keyhole/keyhole/internal/store"
	"github.com/keyhole/keyhole/internal/store/postgres"
	"github.com/keyhole/keyhole/internal/token"
)

// from sends a Platform API request to the server's handler as if from
// the address ip, with the token (Bearer) or Basic credentials.
func from(ts *keyholetest.Server, method, path, ip string, auth func(*http.Request)) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, nil)
	req.RemoteAddr = net.JoinHostPort(ip, "40000")
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	if auth != nil {
		auth(req)
	}
	w := httptest.NewRecorder()
	ts.Config.Handler.ServeHTTP(w, req)
	return w
}

func withToken(tok string) func(*http.Request) {
	return func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+tok) }
}

func withPassword(email, pw string) func(*http.Request) {
	return func(r *http.Request) { r.SetBasicAuth(email, pw) }
}

// wantID checks an answer's status and Heroku error id; 429 and 503 also
// carry Retry-After in seconds.
func wantID(t *testing.T, what string, w *httptest.ResponseRecorder, status int, id string) {
	t.Helper()
	var body struct{ ID, Message string }
	_ = json.Unmarshal(w.Body.Bytes(), &body)
	if w.Code != status || status >= 400 && body.ID != id {
		t.Fatalf("%s: %d %s, want %d %s", what, w.Code, w.Body, status, id)
	}
	if status == 429 || status == 503 {
		if n, err := strconv.Atoi(w.Header().Get("Retry-After")); err != nil || n < 1 {
			t.Errorf("%s: Retry-After %q, want seconds", what, w.Header().Get("Retry-After"))
		}
	}
}

// readCounter counts the reads of tokens that reach the database behind
// the cache, after the guard let them through.
type readCounter struct {
	store.Store
	reads atomic.Int64
}

func (s *readCounter) TokenByHashGuarded(ctx context.Context, hash, key string, g store.Guard) (keyhole.Token, keyhole.Authorization, error) {
	if g != nil {
		if err := g.Before(ctx, key); err != nil {
			return keyhole.Token{}, keyhole.Authorization{}, err
		}
	}
	s.reads.Add(1)
	t, a, err := s.Store.TokenByHash(ctx, hash)
	if g != nil {
		g.After(ctx, key, err)
	}
	return t, a, err
}

func (s *readCounter) TokenByHash(ctx context.Context, hash string) (keyhole.Token, keyhole.Authorization, error) {
	return s.TokenByHashGuarded(ctx, hash, "", nil)
}

// TestUnknownTokensThrottledPerAddress: well-formed tokens that name
// nothing are looked up in the database 60 times a minute per address;
// the 61st is refused (429) before the database is read. A token the
// cache answers is not counted, even from an address whose budget is
// spent; one the database knows gives its attempt back. 20 sent at once
// with 10 left: exactly 10 reach the database.
func TestUnknownTokensThrottledPerAddress(t *testing.T) {
	for _, be := range keyholetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			inner := be.Open(t)
			rc := &readCounter{Store: inner}
			now := time.Now()
			o := keyholetest.Options{Store: rc, Now: func() time.Time { return now }}
			if pg, ok := inner.(*postgres.DB); ok {
				// The counter hides the database from the server's choice:
				// name it, as keyhole serve on PostgreSQL has it.
				o.Limits = ratelimit.Shared{Store: pg.Limits()}
			}
			ts := keyholetest.NewServer(t, o)
			ts.CreateAccount(t, "ada@example.com", password)
			valid := ts.Login(t, "ada@example.com", password)
			unknown := func() func(*http.Request) { return withToken(token.New(token.Access).Reveal()) }

			for i := range 60 {
				wantID(t, "unknown token "+strconv.Itoa(i+1), from(ts, "GET", "/account", "198.51.100.1", unknown()), 401, "unauthorized")
			}
			if n := rc.reads.Load(); n != 60 {
				t.Fatalf("60 unknown tokens: %d database reads, want 60", n)
			}
			w := from(ts, "GET", "/account", "198.51.100.1", unknown())
			wantID(t, "the 61st unknown token", w, 429, "rate_limit")
			if !strings.Contains(w.Body.String(), "unknown tokens for your network address") {
				t.Errorf("the refusal does not say whose budget: %s", w.Body)
			}
			if n := rc.reads.Load(); n != 60 {
				t.Errorf("the refused token was read from the database: %d reads", n)
			}
			// The valid token, once the cache holds it (read from another
			// address; twice, as its first use stamps its authorization's
			// last use), is answered from the spent address too, unread.
			for range 2 {
				wantID(t, "a valid token", from(ts, "GET", "/account", "203.0.113.7", withToken(valid)), 200, "")
			}
			reads := rc.reads.Load()
			for range 3 {
				wantID(t, "the valid token from the spent address", from(ts, "GET", "/account", "198.51.100.1", withToken(valid)), 200, "")
			}
			if n := rc.reads.Load(); n != reads {
				t.Errorf("a cached token was read from the database again: %d reads, want %d", n, reads)
			}

			// A token the database knows gives its attempt back: after one,
			// the address still has all 60.
			other := ts.Login(t, "ada@example.com", password)
			wantID(t, "another valid token, first read", from(ts, "GET", "/account", "198.51.100.4", withToken(other)), 200, "")
			for i := range 60 {
				wantID(t, "unknown token "+strconv.Itoa(i+1)+" after a found one", from(ts, "GET", "/account", "198.51.100.4", unknown()), 401, "unauthorized")
			}
			wantID(t, "the 61st after a found one", from(ts, "GET", "/account", "198.51.100.4", unknown()), 429, "rate_limit")

			// 20 at once with 10 left.
			for range 50 {
				from(ts, "GET", "/account", "198.51.100.3", unknown())
			}
			before := rc.reads.Load()
			got := map[int]int{}
			var mu sync.Mutex
			var wg sync.WaitGroup
			start := make(chan struct{})
			for range 20 {
				wg.Go(func() {
					<-start
					code := from(ts, "GET", "/account", "198.51.100.3", unknown()).Code
					mu.Lock()
					got[code]++
					mu.Unlock()
				})
			}
			close(start)
			wg.Wait()
			if got[401] != 10 || got[429] != 10 || rc.reads.Load()-before != 10 {
				t.Errorf("20 unknown tokens at once with 10 left: %v and %d reads; want 10 × 401 (read), 10 × 429", got, rc.reads.Load()-before)
			}

			// Other addresses have their own budget; an IPv6 /64 has one.
			wantID(t, "another address", from(ts, "GET", "/account", "198.51.100.2", unknown()), 401, "unauthorized")
			for range 60 {
				from(ts, "GET", "/account", "2001:db8:5:5::1", unknown())
			}
			wantID(t, "another host of the /64", from(ts, "GET", "/account", "2001:db8:5:5::2", unknown()), 429, "rate_limit")
		})
	}
}

// TestAPIBudgetKeysIPv6On64: the Platform API's per-address budget (before
// a sign-in) counts an IPv6 /64 as one address.
func TestAPIBudgetKeysIPv6On64(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	remaining := func(ip string) string {
		return from(ts, "POST", "/oauth/authorizations", ip, withPassword("nobody@example.com", "wrong")).Header().Get("RateLimit-Remaining")
	}
	if a, b, c := remaining("2001:db8:1:2::1"), remaining("2001:db8:1:2::2"), remaining("::ffff:198.51.100.9"); a != "4499" || b != "4498" || c != "4499" {
		t.Errorf("RateLimit-Remaining from two hosts of one /64 and an IPv4 address: %s, %s, %s; want 4499, 4498, 4499", a, b, c)
	}
	if a, b := remaining("198.51.100.9"), remaining("2001:db8:1:3::1"); a != "4498" || b != "4499" {
		t.Errorf("the IPv4 address as itself, and the next /64: %s, %s; want 4498, 4499", a, b)
	}
}

// proxy forwards TCP connections to addr until it is stopped, which
// closes the listener and every connection: a store that goes down.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func newProxy(t *testing.T, addr string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &proxy{ln: ln}
	t.Cleanup(p.stop)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	return p
}

func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

// TestAPIRateLimitStoreDown: when the shared store of the rate limit goes
// down mid-test (Redis, or PostgreSQL's rate_limits table), API calls are
// rationed from the process at the same limit — served up to it, then
// 429 — and the log says so; secret checks answer 503 with Retry-After,
// and unknown tokens are still answered 401.
func TestAPIRateLimitStoreDown(t *testing.T) {
	for _, c := range []struct {
		name  string
		start func(t *testing.T) (keyholetest.Options, func())
	}{
		{"redis", func(t *testing.T) (keyholetest.Options, func()) {
			raw := os.Getenv("KEYHOLE_TEST_REDIS")
			if raw == "" {
				if os.Getenv("CI") == "true" {
					t.Fatal("KEYHOLE_TEST_REDIS must be set in CI")
				}
				t.Skip("KEYHOLE_TEST_REDIS not set")
			}
			u, err := url.Parse(raw)
			if err != nil {
				t.Fatal(err)
			}
			p := newProxy(t, u.Host)
			u.Host = p.ln.Addr().String()
			rs, err := redisstore.Open(context.Background(), u.String(), "keyhole-test:"+uuid.NewString()+":")
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { rs.Close() })
			return keyholetest.Options{Limits: ratelimit.Shared{Store: rs}}, p.stop
		}},
		{"postgres", func(t *testing.T) (keyholetest.Options, func()) {
			db, err := postgres.Open(context.Background(), keyholetest.PostgresSchema(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { db.Close() })
			return keyholetest.Options{Store: db}, func() {
				if _, err := db.Pool().Exec(context.Background(), `ALTER TABLE rate_limits RENAME TO rate_limits_gone`); err != nil {
					t.Fatal(err)
				}
			}
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			o, down := c.start(t)
			var logs keyholetest.LogBuffer
			o.Log = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
			o.RateLimit = 5
			ts := keyholetest.NewServer(t, o)
			ts.CreateAccount(t, "ada@example.com", password)
			tok := ts.Login(t, "ada@example.com", password)
			for i := range 2 {
				w := from(ts, "GET", "/account", "203.0.113.7", withToken(tok))
				wantID(t, "a call with the store up", w, 200, "")
				if got := w.Header().Get("RateLimit-Remaining"); got != strconv.Itoa(4-i) {
					t.Errorf("RateLimit-Remaining = %s, want %d", got, 4-i)
				}
			}
			down()
			for i := range 5 {
				w := from(ts, "GET", "/account", "203.0.113.7", withToken(tok))
				wantID(t, "a call with the store down", w, 200, "")
				if got := w.Header().Get("RateLimit-Remaining"); got != strconv.Itoa(4-i) {
					t.Errorf("RateLimit-Remaining with the store down = %s, want %d (the process's budget)", got, 4-i)
				}
			}
			wantID(t, "the 6th call with the store down", from(ts, "GET", "/account", "203.0.113.7", withToken(tok)), 429, "rate_limit")
			if !strings.Contains(logs.String(), "rate limit store unreachable") {
				t.Errorf("the log does not say the store is down:\n%s", logs.String())
			}
			wantID(t, "a sign-in with the store down", from(ts, "POST", "/oauth/authorizations", "203.0.113.8", withPassword("ada@example.com", password)), 503, "unavailable")
			wantID(t, "an unknown token with the store down", from(ts, "GET", "/account", "203.0.113.9", withToken(token.New(token.Access).Reveal())), 401, "unauthorized")
		})
	}
}
