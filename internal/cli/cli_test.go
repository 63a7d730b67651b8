package cli_test

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/cli"
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
		done <- cli.Main(ctx, []string{"keyhole", "serve", "--addr", addr, "--data-dir", t.TempDir()}, cli.Env{
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
