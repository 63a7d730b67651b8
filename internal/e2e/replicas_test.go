//go:build linux

package e2e

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/store/postgres"
)

const pass = "correct horse battery"

// deployment is the environment of replicas sharing one PostgreSQL schema
// and one server key.
func deployment(t *testing.T) (env []string, dbURL string) {
	t.Helper()
	dbURL = keyholetest.PostgresSchema(t)
	return append(sqliteEnv(), "KEYHOLE_SECRET_KEY="+secret.NewKey()), dbURL
}

// createAccount runs admin:create-account with the password on stdin.
func createAccount(t *testing.T, bin string, env []string, email string, args ...string) {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"admin:create-account", "--email", email}, args...)...)
	cmd.Env, cmd.Stdin = env, strings.NewReader(pass+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("create account: %v\n%s", err, out)
	}
}

// api sends a Platform API request and returns the status, a header and
// the decoded body.
func api(t *testing.T, method, url, tok string, body any, xff ...string) (int, http.Header, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, rd)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	if strings.Contains(tok, ":") {
		user, pw, _ := strings.Cut(tok, ":")
		req.SetBasicAuth(user, pw)
	} else if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if len(xff) > 0 {
		req.Header.Set("X-Forwarded-For", xff[0])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, resp.Header, m
}

func token(m map[string]any) string {
	at, _ := m["access_token"].(map[string]any)
	s, _ := at["token"].(string)
	return s
}

// TestReplicasShareRevocationsAndBudgets starts two `keyhole serve`
// processes on one PostgreSQL: a token revoked on one is refused by the
// other within the bound (cached tokens are dropped through the database's
// change notifications), also while the other's notification connection
// is cut; and the rate-limit budget spent on one is seen on the other.
func TestReplicasShareRevocationsAndBudgets(t *testing.T) {
	env, dbURL := deployment(t)
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--database", dbURL, "--drain", "0", "--rate-limit", "100/hour"}
	a := startServe(t, ctx, bin, env, args...)
	b := startServe(t, ctx, bin, env, args...)
	createAccount(t, bin, env, "ada@example.com", "--database", dbURL)

	st, _, login := api(t, "POST", a.url+"/oauth/authorizations", "ada@example.com:"+pass, map[string]any{"scope": []string{"global"}})
	if st != 201 {
		t.Fatalf("login on A: %d %v", st, login)
	}
	global := token(login)

	// Revocation: B has the token cached (two reads), A revokes it.
	for name, cut := range map[string]bool{"notifications flowing": false, "notifications cut": true} {
		t.Run(name, func(t *testing.T) {
			st, _, made := api(t, "POST", a.url+"/oauth/authorizations", global, map[string]any{"description": name})
			if st != 201 {
				t.Fatalf("create: %d %v", st, made)
			}
			tok := token(made)
			for range 2 {
				if st, _, _ := api(t, "GET", b.url+"/account", tok, nil); st != 200 {
					t.Fatalf("B before the revocation: %d", st)
				}
			}
			if cut {
				// Both replicas' LISTEN connections die: B must stop
				// trusting its cache at once, and take it up again only
				// after reconnecting (flushed).
				terminateListeners(t, dbURL)
			}
			start := time.Now()
			if st, _, _ := api(t, "DELETE", a.url+"/oauth/authorizations/"+made["id"].(string), global, nil); st != 200 {
				t.Fatalf("revoke on A: %d", st)
			}
			for {
				st, _, _ := api(t, "GET", b.url+"/account", tok, nil)
				if st == 401 {
					break
				}
				if time.Since(start) > 3*time.Second {
					t.Fatalf("B still accepts the revoked token after %v (status %d)", time.Since(start), st)
				}
				time.Sleep(5 * time.Millisecond)
			}
			t.Logf("B refused the token revoked on A after %v", time.Since(start).Round(time.Millisecond))
		})
	}

	// The rate limit: 30 calls on A, then B's RateLimit-Remaining.
	for range 30 {
		if st, _, _ := api(t, "GET", a.url+"/account", global, nil); st != 200 {
			t.Fatalf("A: %d", st)
		}
	}
	_, h, _ := api(t, "GET", b.url+"/account", global, nil)
	if rem, _ := strconv.Atoi(h.Get("RateLimit-Remaining")); h.Get("RateLimit-Remaining") == "" || rem > 70 {
		t.Errorf("B's RateLimit-Remaining after A spent 30+ of 100: %q, want at most 70", h.Get("RateLimit-Remaining"))
	}
}

// terminateListeners ends every connection of the database that listens
// for changes.
func terminateListeners(t *testing.T, dbURL string) {
	t.Helper()
	cfg, err := pgxpool.ParseConfig(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.ConnectConfig(context.Background(), cfg.ConnConfig)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	var n int
	err = conn.QueryRow(context.Background(), `SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name = $1`, postgres.ListenerName).Scan(&n)
	if err != nil || n < 2 {
		t.Fatalf("terminated %d listeners (%v), want both replicas'", n, err)
	}
}

// TestReplicasShareBudgetsInRedis: with --redis-url, the rate-limit budget
// and the sign-in throttle are kept in Redis, shared by the replicas.
func TestReplicasShareBudgetsInRedis(t *testing.T) {
	redisURL := os.Getenv("KEYHOLE_TEST_REDIS")
	if redisURL == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("KEYHOLE_TEST_REDIS must be set in CI")
		}
		t.Skip("KEYHOLE_TEST_REDIS not set")
	}
	env, dbURL := deployment(t)
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	args := []string{"--database", dbURL, "--redis-url", redisURL, "--drain", "0", "--rate-limit", "100/hour"}
	a := startServe(t, ctx, bin, env, args...)
	b := startServe(t, ctx, bin, env, args...)
	// A fresh email each run: the budgets outlive the test in Redis.
	email := fmt.Sprintf("ada-%d@example.com", time.Now().UnixNano())
	createAccount(t, bin, env, email, "--database", dbURL)
	_, _, login := api(t, "POST", a.url+"/oauth/authorizations", email+":"+pass, map[string]any{"scope": []string{"global"}})
	global := token(login)
	for range 30 {
		api(t, "GET", a.url+"/account", global, nil)
	}
	_, h, _ := api(t, "GET", b.url+"/account", global, nil)
	if rem, _ := strconv.Atoi(h.Get("RateLimit-Remaining")); h.Get("RateLimit-Remaining") == "" || rem > 70 {
		t.Errorf("B's RateLimit-Remaining after A spent 30+ of 100: %q, want at most 70", h.Get("RateLimit-Remaining"))
	}
	// Ten wrong passwords, alternating replicas, spend the email's budget
	// on both.
	for i := range 10 {
		base := []string{a.url, b.url}[i%2]
		if st, _, _ := api(t, "POST", base+"/oauth/authorizations", email+":wrong password", map[string]any{}); st != 401 {
			t.Fatalf("wrong password %d: %d", i+1, st)
		}
	}
	for _, base := range []string{a.url, b.url} {
		if st, h, _ := api(t, "POST", base+"/oauth/authorizations", email+":"+pass, map[string]any{}); st != 429 || h.Get("Retry-After") == "" {
			t.Errorf("%s after 10 wrong passwords across replicas: %d, Retry-After %q; want 429", base, st, h.Get("Retry-After"))
		}
	}
}

// TestServeTLSReloadsOnHangup: --tls-cert/--tls-key serve https; a new
// certificate written to the files is served after SIGHUP, and a broken one
// leaves the current one serving.
func TestServeTLSReloadsOnHangup(t *testing.T) {
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	writeCert(t, certFile, keyFile, 1)
	p := startServe(t, ctx, bin, sqliteEnv(), "--data-dir", dir, "--drain", "0", "--tls-cert", certFile, "--tls-key", keyFile)
	if !strings.HasPrefix(p.url, "https://") {
		t.Fatalf("serving on %s, want https", p.url)
	}
	if got := servedSerial(t, p.url); got != 1 {
		t.Fatalf("serial %d, want 1", got)
	}
	writeCert(t, certFile, keyFile, 2)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return servedSerial(t, p.url) == 2 }, "the new certificate after SIGHUP")
	os.WriteFile(certFile, []byte("not a certificate"), 0o600)
	p.cmd.Process.Signal(syscall.SIGHUP)
	waitFor(t, func() bool { return strings.Contains(p.log.String(), "not reloaded") }, "the failed reload in the log")
	if got := servedSerial(t, p.url); got != 2 {
		t.Errorf("after a broken certificate: serial %d, want 2 still", got)
	}
}

func writeCert(t *testing.T, certFile, keyFile string, serial int64) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kb, _ := x509.MarshalECPrivateKey(key)
	os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kb}), 0o600)
	os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600)
}

func servedSerial(t *testing.T, url string) int64 {
	t.Helper()
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.Int64()
}

func waitFor(t *testing.T, ok func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("waited 10 s for %s", what)
}

// TestGracefulShutdown: on SIGTERM readiness answers 503 at once, the
// sign-ins in flight finish with their answers, and the process exits 0.
func TestGracefulShutdown(t *testing.T) {
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	createAccount(t, bin, sqliteEnv(), "ada@example.com", "--data-dir", dir)
	p := startServe(t, ctx, bin, sqliteEnv(), "--data-dir", dir, "--drain", "1s", "--shutdown-timeout", "20s")
	// Sign-ins (argon2id, two at a time) keep the server busy.
	var wg sync.WaitGroup
	statuses := make([]int, 8) // within the email's sign-in budget of 10
	for i := range statuses {
		wg.Go(func() {
			st, _, _ := api(t, "POST", p.url+"/oauth/authorizations", "ada@example.com:"+pass, map[string]any{})
			statuses[i] = st
		})
	}
	time.Sleep(50 * time.Millisecond)
	p.cmd.Process.Signal(syscall.SIGTERM)
	waitFor(t, func() bool {
		resp, err := http.Get(p.url + "/readyz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusServiceUnavailable
	}, "/readyz to answer 503 while draining")
	wg.Wait()
	for i, st := range statuses {
		if st != 201 {
			t.Errorf("sign-in %d in flight at SIGTERM: %d, want 201", i, st)
		}
	}
	done := make(chan error, 1)
	go func() { done <- p.cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("keyhole serve exited with %v:\n%s", err, p.log)
		}
	case <-ctx.Done():
		t.Fatal("keyhole serve did not stop")
	}
	if !strings.Contains(p.log.String(), "stopped") {
		t.Errorf("no clean stop in the log:\n%s", p.log)
	}
}

// TestMetricsAndProxy: /metrics counts requests by route, the cache and
// failed sign-ins; --metrics-addr moves it off the main listener; and
// --behind-proxy keys the per-address throttle on X-Forwarded-For.
func TestMetricsAndProxy(t *testing.T) {
	bin := buildKeyhole(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	createAccount(t, bin, sqliteEnv(), "ada@example.com", "--data-dir", dir)
	p := startServe(t, ctx, bin, sqliteEnv(), "--data-dir", dir, "--drain", "0")
	_, _, login := api(t, "POST", p.url+"/oauth/authorizations", "ada@example.com:"+pass, map[string]any{})
	for range 3 {
		api(t, "GET", p.url+"/account", token(login), nil)
	}
	api(t, "POST", p.url+"/oauth/authorizations", "ada@example.com:wrong password", map[string]any{})
	body := get(t, p.url+"/metrics")
	for _, want := range []string{
		`keyhole_http_requests_total{code="200",route="GET /account"} 3`,
		`keyhole_http_request_duration_seconds_bucket{route="GET /account"`,
		`keyhole_tokens_issued_total{grant="login"} 1`,
		`keyhole_signin_failures_total 1`,
		`keyhole_cache_hits_total`,
		`go_sql_open_connections{db_name="keyhole"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}

	// On its own address, and not on the main one.
	ln, _ := net.Listen("tcp", "127.0.0.1:0")
	maddr := ln.Addr().String()
	ln.Close()
	dir2 := t.TempDir()
	q := startServe(t, ctx, bin, sqliteEnv(), "--data-dir", dir2, "--drain", "0", "--metrics-addr", maddr, "--behind-proxy")
	if !strings.Contains(get(t, "http://"+maddr+"/metrics"), "keyhole_http_requests_total") {
		t.Error("no metrics on --metrics-addr")
	}
	if resp, err := http.Get(q.url + "/metrics"); err == nil {
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("/metrics on the main listener with --metrics-addr: %d, want 404", resp.StatusCode)
		}
	}
	// Behind the proxy, 100 failures from one client address spend that
	// address's budget only.
	for i := range 100 {
		if st, _, _ := api(t, "POST", q.url+"/oauth/authorizations", fmt.Sprintf("nobody%d@example.com:wrong password", i), map[string]any{}, "10.0.0.1"); st != 401 {
			t.Fatalf("failure %d: %d", i+1, st)
		}
	}
	if st, _, _ := api(t, "POST", q.url+"/oauth/authorizations", "nobody-x@example.com:wrong password", map[string]any{}, "10.0.0.1"); st != 429 {
		t.Errorf("101st failure from 10.0.0.1: %d, want 429", st)
	}
	if st, _, _ := api(t, "POST", q.url+"/oauth/authorizations", "nobody-y@example.com:wrong password", map[string]any{}, "10.0.0.2"); st != 401 {
		t.Errorf("another client address behind the proxy: %d, want 401", st)
	}
}

func get(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
