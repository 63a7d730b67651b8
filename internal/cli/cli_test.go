package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/cli"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

// run runs the keyhole command with args, stdin and environment vars.
func run(t *testing.T, env map[string]string, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), append([]string{"keyhole"}, args...), cli.Env{
		Getenv: func(k string) string { return env[k] },
		Stdin:  strings.NewReader(stdin),
		Stdout: &out,
		Stderr: &errb,
	})
	return code, out.String(), errb.String()
}

func TestInvalidConfigListsEveryProblem(t *testing.T) {
	code, _, stderr := run(t, nil, "", "serve", "--addr", "nowhere", "--database", "mysql://x", "--issuer", "ftp://x")
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want %d; stderr %s", code, cli.ExitUsage, stderr)
	}
	for _, want := range []string{"--addr", "--database", "--issuer"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("stderr does not mention %s:\n%s", want, stderr)
		}
	}
	if code, _, _ := run(t, nil, "", "serve", "--no-such-flag"); code != cli.ExitUsage {
		t.Errorf("unknown flag: exit %d", code)
	}
	if code, _, _ := run(t, nil, "", "frobnicate"); code != cli.ExitUsage {
		t.Errorf("unknown command: exit %d", code)
	}
	// A database URL with a password is never echoed back.
	_, _, stderr = run(t, nil, "", "serve", "--database", "mysql://user:hunter2@db/x")
	if strings.Contains(stderr, "hunter2") {
		t.Errorf("password echoed: %s", stderr)
	}
	code, _, stderr = run(t, map[string]string{"KEYHOLE_SMTP_URL": "http://user:hunter2@mail.example.com"}, "", "serve", "--mail-from", "not an address")
	if code != cli.ExitUsage || !strings.Contains(stderr, "--smtp-url") || !strings.Contains(stderr, "--mail-from") || strings.Contains(stderr, "hunter2") {
		t.Errorf("bad mail settings: exit %d, stderr %s", code, stderr)
	}
}

// TestServeSendsMail starts `keyhole serve` with the default outbox and
// with --smtp-url (a real SMTP server), signs up through the page, and
// finds the verification mail where it should be.
func TestServeSendsMail(t *testing.T) {
	for _, viaSMTP := range []bool{false, true} {
		t.Run(map[bool]string{false: "outbox", true: "smtp"}[viaSMTP], func(t *testing.T) {
			dir := t.TempDir()
			args := []string{"--data-dir", dir}
			mailbox := keyholetest.NewMailbox(filepath.Join(dir, "outbox"))
			if viaSMTP {
				srv := keyholetest.StartSMTP(t, "", "")
				args = append(args, "--smtp-url", "smtp://"+srv.Addr, "--mail-from", "Keyhole <id@example.com>")
				mailbox = srv.Mailbox
			}
			base := serve(t, args...)
			jar, _ := cookiejar.New(nil)
			c := &http.Client{Jar: jar}
			resp, err := c.Get(base + "/signup")
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`).FindStringSubmatch(string(body))
			if csrf == nil {
				t.Fatalf("no form token: %s", body)
			}
			resp, err = c.PostForm(base+"/signup", url.Values{"csrf": {csrf[1]}, "email": {"ada@example.com"}, "password": {"correct horse battery"}})
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			m := mailbox.Take(t, "ada@example.com", "confirm your email address")
			if !strings.HasPrefix(m.Link("/email/verify"), base+"/email/verify?token=khe_") {
				t.Errorf("link = %q, want one to %s", m.Link("/email/verify"), base)
			}
			if !viaSMTP {
				fi, err := os.Stat(m.File)
				if err != nil || fi.Mode().Perm() != 0o600 {
					t.Errorf("%s: %v %v, want mode 0600", m.File, fi.Mode(), err)
				}
			} else if from := m.Header.Get("From"); !strings.Contains(from, "id@example.com") {
				t.Errorf("From = %q", from)
			}
		})
	}
}

// serve runs `keyhole serve` with args on a free port until the test
// ends, and returns its base URL once it answers.
func serve(t *testing.T, args ...string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var out, errb bytes.Buffer
	go func() {
		defer close(done)
		cli.Main(ctx, append([]string{"keyhole", "serve", "--addr", addr}, args...), cli.Env{
			Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		})
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/readyz"); err == nil {
			resp.Body.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server never answered:\n%s", errb.String())
	return ""
}

func TestCreateAccount(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KEYHOLE_DATA_DIR": dir}
	code, stdout, stderr := run(t, env, "correct horse battery\n", "admin:create-account", "--email", "ada@example.com", "--name", "Ada")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	id := strings.TrimSpace(stdout)
	if len(id) != 36 {
		t.Errorf("stdout = %q, want the account id", stdout)
	}
	fi, err := os.Stat(filepath.Join(dir, "secret.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("secret.key: %v %v", fi, err)
	}
	code, _, stderr = run(t, env, "another password\n", "admin:create-account", "--email", "ADA@example.com")
	if code != cli.ExitError || !strings.Contains(stderr, "already exists") {
		t.Errorf("duplicate: exit %d, stderr %q", code, stderr)
	}
	if code, _, stderr := run(t, env, "", "admin:create-account", "--email", "bob@example.com"); code == 0 || !strings.Contains(stderr, "standard input") {
		t.Errorf("no password: exit %d, %s", code, stderr)
	}
	if code, _, stderr := run(t, env, "short\n", "admin:create-account", "--email", "bob@example.com"); code == 0 || !strings.Contains(stderr, "8 characters") {
		t.Errorf("short password: exit %d, %s", code, stderr)
	}
	if code, _, _ := run(t, env, "x\n", "admin:create-account"); code != cli.ExitUsage {
		t.Errorf("no email: exit %d", code)
	}
}

// TestServe starts `keyhole serve` on a free port with SQLite and checks it
// answers, then stops it by cancelling its context.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var out, errb bytes.Buffer
	go func() {
		done <- cli.Main(ctx, []string{"keyhole", "serve", "--addr", addr, "--data-dir", t.TempDir(), "--drain", "0"}, cli.Env{
			Getenv: func(string) string { return "" }, Stdin: strings.NewReader(""), Stdout: &out, Stderr: &errb,
		})
	}()
	var resp *http.Response
	for i := 0; i < 100; i++ {
		resp, err = http.Get("http://" + addr + "/readyz")
		if err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		cancel()
		t.Fatalf("server never answered: %v\n%s", err, errb.String())
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.Header.Get("Request-Id") == "" {
		t.Errorf("/readyz = %d", resp.StatusCode)
	}
	cancel()
	select {
	case code := <-done:
		if code != 0 {
			t.Errorf("serve exit %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestPostgresNeedsTheSharedKey: serving PostgreSQL, which replicas share,
// without KEYHOLE_SECRET_KEY would let each replica make its own key and
// fail to read the others' secrets: refused, with how to make one.
func TestPostgresNeedsTheSharedKey(t *testing.T) {
	code, _, stderr := run(t, nil, "", "serve", "--database", "postgres://keyhole@db.example/keyhole")
	if code != cli.ExitUsage || !strings.Contains(stderr, "KEYHOLE_SECRET_KEY") || !strings.Contains(stderr, "every replica") ||
		!strings.Contains(stderr, "admin:generate-key") {
		t.Errorf("exit %d, stderr %s", code, stderr)
	}
	code, _, stderr = run(t, map[string]string{"KEYHOLE_SECRET_KEY": "too-short"}, "", "serve", "--database", "postgres://db.example/k")
	if code != cli.ExitUsage || !strings.Contains(stderr, "32 bytes") || strings.Contains(stderr, "too-short") {
		t.Errorf("malformed key: exit %d, stderr %s", code, stderr)
	}
	code, out, _ := run(t, nil, "", "admin:generate-key")
	if code != 0 {
		t.Fatalf("generate-key: exit %d", code)
	}
	key := strings.TrimSpace(out)
	// A generated key is accepted, from the environment or from a file;
	// only the database being unreachable is left to complain about.
	file := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(file, []byte(key+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for name, env := range map[string]map[string]string{
		"env":  {"KEYHOLE_SECRET_KEY": key},
		"file": {"KEYHOLE_SECRET_KEY_FILE": file},
	} {
		code, _, stderr := run(t, env, "", "serve", "--addr", "127.0.0.1:0", "--database", "postgres://nobody@127.0.0.1:1/none?connect_timeout=1")
		if code != cli.ExitError || strings.Contains(stderr, "invalid configuration") {
			t.Errorf("%s: exit %d, stderr %s", name, code, stderr)
		}
	}
	_, help, _ := runHelp(t, "serve")
	if !strings.Contains(help, "KEYHOLE_SECRET_KEY") {
		t.Errorf("serve --help does not name KEYHOLE_SECRET_KEY:\n%s", help)
	}
}

func runHelp(t *testing.T, cmd string) (int, string, string) {
	t.Helper()
	code, stdout, stderr := run(t, nil, "", cmd, "--help")
	return code, stdout + stderr, stderr
}

// TestBooleanSettings: the usual spellings of true and false work in the
// environment and in flags; anything else is refused with exit 2 rather
// than read as "on".
func TestBooleanSettings(t *testing.T) {
	for _, bad := range []map[string]string{{"KEYHOLE_SIGNUP": "nope"}, {"KEYHOLE_LOG_JSON": "maybe"}, {"KEYHOLE_SIGNUP": "2"}} {
		code, _, stderr := run(t, bad, "", "serve", "--data-dir", t.TempDir())
		if code != cli.ExitUsage || !strings.Contains(stderr, "must be true or false") {
			t.Errorf("%v: exit %d, %s", bad, code, stderr)
		}
	}
	if code, _, stderr := run(t, nil, "", "serve", "--signup=perhaps"); code != cli.ExitUsage {
		t.Errorf("--signup=perhaps: exit %d %s", code, stderr)
	}
	// "no" turns sign-up off: the server answers 404 on /signup.
	for _, off := range []string{"no", "false", "0", "off", "NO"} {
		addr := serveFor(t, map[string]string{"KEYHOLE_SIGNUP": off})
		resp, err := http.Get("http://" + addr + "/signup")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 404 {
			t.Errorf("KEYHOLE_SIGNUP=%s: /signup answers %d, want 404 (closed)", off, resp.StatusCode)
		}
	}
}

// serveFor starts `keyhole serve` with env on a free port and returns its
// address; it stops when the test ends.
func serveFor(t *testing.T, env map[string]string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var errb bytes.Buffer
	go func() {
		defer close(done)
		args := []string{"keyhole", "serve", "--addr", addr, "--drain", "0"}
		if env["KEYHOLE_DATA_DIR"] == "" {
			args = append(args, "--data-dir", t.TempDir())
		}
		cli.Main(ctx, args, cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: &errb,
		})
	}()
	t.Cleanup(func() { cancel(); <-done })
	for range 100 {
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server never answered: %s", errb.String())
	return ""
}

// TestRateLimitSetting: --rate-limit (or KEYHOLE_RATE_LIMIT) sets the
// per-account budget the API answers in RateLimit-Remaining.
func TestRateLimitSetting(t *testing.T) {
	for _, bad := range []string{"0", "-5", "lots", "10/minute"} {
		if code, _, stderr := run(t, nil, "", "serve", "--rate-limit", bad); code != cli.ExitUsage {
			t.Errorf("--rate-limit %s: exit %d %s", bad, code, stderr)
		}
	}
	if code, _, stderr := run(t, map[string]string{"KEYHOLE_RATE_LIMIT": "many"}, "", "serve"); code != cli.ExitUsage || !strings.Contains(stderr, "KEYHOLE_RATE_LIMIT") {
		t.Errorf("KEYHOLE_RATE_LIMIT=many: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, nil, "", "serve", "--cache-size", "-1"); code != cli.ExitUsage || !strings.Contains(stderr, "--cache-size") {
		t.Errorf("--cache-size -1: exit %d %s", code, stderr)
	}
	if code, _, stderr := run(t, map[string]string{"KEYHOLE_CACHE_SIZE": "big"}, "", "serve"); code != cli.ExitUsage || !strings.Contains(stderr, "KEYHOLE_CACHE_SIZE") {
		t.Errorf("KEYHOLE_CACHE_SIZE=big: exit %d %s", code, stderr)
	}
	dir := t.TempDir()
	env := map[string]string{"KEYHOLE_RATE_LIMIT": "250/hour", "KEYHOLE_DATA_DIR": dir}
	if code, _, stderr := run(t, env, "correct horse battery\n", "admin:create-account", "--email", "ada@example.com"); code != 0 {
		t.Fatalf("create account: %s", stderr)
	}
	addr := serveFor(t, env)
	req, _ := http.NewRequest("POST", "http://"+addr+"/oauth/authorizations", strings.NewReader(`{"scope":["global"]}`))
	req.SetBasicAuth("ada@example.com", "correct horse battery")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken struct{ Token string } `json:"access_token"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	req, _ = http.NewRequest("GET", "http://"+addr+"/account", nil)
	req.Header.Set("Authorization", "Bearer "+body.AccessToken.Token)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if got := resp.Header.Get("RateLimit-Remaining"); resp.StatusCode != 200 || got != "249" {
		t.Errorf("GET /account: %d, RateLimit-Remaining = %q, want 249 of the 250/hour budget", resp.StatusCode, got)
	}
}

// TestRotateSigningKey rotates the ID tokens' signing key of a data
// directory twice, with the default lead and with none, and checks that
// the server started on it then publishes the first key and both new ones.
func TestRotateSigningKey(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KEYHOLE_DATA_DIR": dir}
	line := regexp.MustCompile(`^(\S+) signs from (\S+)\n$`)
	rotate := func(lead string, want time.Duration) string {
		t.Helper()
		before := time.Now().Add(want).Truncate(time.Second)
		code, stdout, stderr := run(t, env, "", "admin:rotate-signing-key", "--lead", lead)
		after := time.Now().Add(want)
		m := line.FindStringSubmatch(stdout)
		if code != 0 || m == nil {
			t.Fatalf("--lead %s: exit %d, stdout %q, stderr %q", lead, code, stdout, stderr)
		}
		at, err := time.Parse(time.RFC3339, m[2])
		if err != nil || at.Before(before) || at.After(after) {
			t.Errorf("--lead %s: signs from %s, want between %s and %s", lead, m[2], before, after)
		}
		return m[1]
	}
	second := rotate("10m", 10*time.Minute)
	third := rotate("0s", 0)
	for _, bad := range []string{"-1s", "24h1s", "soon"} {
		if code, stdout, stderr := run(t, env, "", "admin:rotate-signing-key", "--lead", bad); code != cli.ExitUsage || stdout != "" {
			t.Errorf("--lead %s: exit %d, stdout %q, stderr %q; want a usage error", bad, code, stdout, stderr)
		}
	}

	resp, err := http.Get("http://" + serveFor(t, env) + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct {
			Kid string `json:"kid"`
			Use string `json:"use"`
			D   string `json:"d"`
		} `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var kids []string
	for _, k := range set.Keys {
		if k.D != "" || k.Use != "sig" {
			t.Errorf("published key %s: use %q, private part present %v", k.Kid, k.Use, k.D != "")
		}
		kids = append(kids, k.Kid)
	}
	if len(kids) != 3 || kids[1] != second || kids[2] != third {
		t.Errorf("published kids %v, want the first key, %s and %s", kids, second, third)
	}
}
