package cli_test

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/cli"
)

// serveOrExit starts `keyhole serve` with env and reports how it ended:
// started (it printed that it serves, and was stopped) or the exit code
// and standard error of a refusal to start.
func serveOrExit(t *testing.T, env map[string]string, args ...string) (started bool, code int, stderr string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	out, w := io.Pipe()
	var errb bytes.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"keyhole", "serve", "--drain", "0"}, args...), cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: w, Stderr: &errb,
		})
		w.Close()
	}()
	serving := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "Keyhole is serving") {
				close(serving)
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	select {
	case code = <-done:
		return false, code, errb.String()
	case <-serving:
		cancel()
		code = <-done
		return true, code, errb.String()
	}
}

// TestServeRefusesAGroupReadableKey: an operator whose data folder's
// secret.key can be read by its group (mode 0640, as a careless copy or
// umask leaves it) finds that `keyhole serve` does not start, and is told
// why; set back to 0600, it starts.
func TestServeRefusesAGroupReadableKey(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"KEYHOLE_DATA_DIR": dir}
	if code, _, stderr := run(t, env, "correct horse battery\n", "admin:create-account", "--email", "ada@example.com"); code != 0 {
		t.Fatalf("create account: exit %d: %s", code, stderr)
	}
	key := filepath.Join(dir, "secret.key")
	if err := os.Chmod(key, 0o640); err != nil {
		t.Fatal(err)
	}
	started, code, stderr := serveOrExit(t, env, "--addr", "127.0.0.1:0")
	if started || code != cli.ExitError || !strings.Contains(stderr, "secret.key") || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("serve with a 0640 key: started %t, exit %d, stderr %q; want it refused with exit %d, naming the file and chmod 600", started, code, stderr, cli.ExitError)
	}
	if code, _, stderr := run(t, env, "another passphrase\n", "admin:create-account", "--email", "bob@example.com"); code != cli.ExitError || !strings.Contains(stderr, "chmod 600") {
		t.Errorf("admin:create-account with a 0640 key: exit %d, stderr %q", code, stderr)
	}
	if err := os.Chmod(key, 0o600); err != nil {
		t.Fatal(err)
	}
	if started, code, stderr := serveOrExit(t, env, "--addr", "127.0.0.1:0"); !started || code != 0 {
		t.Errorf("serve with the key back at 0600: started %t, exit %d, stderr %q", started, code, stderr)
	}
}
