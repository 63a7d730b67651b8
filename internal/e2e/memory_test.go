//go:build linux

package e2e

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestPasswordHashingMemoryCap fires 100 sign-ins at once at a real
// `keyhole serve` with the production argon2id cost (secret.OWASP, 19 MiB
// per hash): the hashing slots must keep the server's peak resident set
// under 200 MB (without them, 40 parallel sign-ins took 726 MB), and every
// answer must be a check, a throttle or a busy 503, never a 500.
func TestPasswordHashingMemoryCap(t *testing.T) {
	const email, maxPeak = "ada@example.com", 200 << 20
	began := time.Now()
	bin := buildKeyhole(t)
	built := time.Since(began)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	pid, base := startKeyhole(t, ctx, bin, dir)
	create := exec.CommandContext(ctx, bin, "admin:create-account", "--email", email, "--data-dir", dir)
	create.Env, create.Stdin = sqliteEnv(), strings.NewReader(password+"\n")
	if out, err := create.CombinedOutput(); err != nil {
		t.Fatalf("admin:create-account: %v\n%s", err, out)
	}

	// 8 attempts on the account (3 right, 5 wrong) and 92 on unknown emails
	// (checked as slowly, against a dummy hash), at most 5 each: under the
	// per-email budget of 10 and, together, the address's 100.
	tries := make([][2]string, 100)
	for i := range tries {
		tries[i] = [2]string{fmt.Sprintf("nobody%d@example.com", i%20), password}
		if i < 8 {
			tries[i] = [2]string{email, password + strings.Repeat("!", max(i-2, 0))}
		}
	}
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: len(tries)}}
	defer client.CloseIdleConnections()
	answers := make([][]int, len(tries))
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, try := range tries {
		wg.Go(func() {
			<-start
			var err error
			if answers[i], err = signIn(ctx, client, base, try[0], try[1]); err != nil {
				t.Errorf("attempt %d (%s): %v", i, try[0], err)
			}
		})
	}

	// Sample the resident set while the burst runs; VmHWM, read at the end,
	// is the kernel's own peak.
	idle, _ := procStatus(pid, "VmRSS")
	var sampled, samples int
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for ; ; samples++ {
			if rss, err := procStatus(pid, "VmRSS"); err == nil {
				sampled = max(sampled, rss)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	burst := time.Now()
	close(start)
	wg.Wait()
	took := time.Since(burst)
	close(stop)
	<-stopped
	peak, err := procStatus(pid, "VmHWM")
	if err != nil {
		t.Fatalf("read the server's peak RSS: %v", err)
	}
	peak = max(peak, sampled)

	all, checked := map[int]int{}, 0
	for _, a := range answers {
		for _, status := range a {
			all[status]++
		}
		if len(a) > 0 && (a[len(a)-1] == http.StatusCreated || a[len(a)-1] == http.StatusUnauthorized) {
			checked++
		}
	}
	mb := func(n int) string { return fmt.Sprintf("%.1f MB", float64(n)/(1<<20)) }
	t.Logf("peak RSS %s (VmHWM, or the highest of %d samples), %s idle; answers %v (503s retried); burst %v, build %v, whole test %v",
		mb(peak), samples, mb(idle), all, took.Round(time.Millisecond), built.Round(time.Millisecond), time.Since(began).Round(time.Millisecond))
	if peak >= maxPeak {
		t.Errorf("got peak RSS %s, want under %s", mb(peak), mb(maxPeak))
	}
	if checked < 90 {
		t.Errorf("got %d attempts answered by a password check (201 or 401), want at least 90 of %d", checked, len(tries))
	}
}

// signIn makes one CLI sign-in, and makes it again (up to 5 times) after
// the Retry-After of a 503 as a client would, so that the share of real
// checks does not hang on how fast the machine hashes. It returns every
// status it got; an error for a status other than 201, 401, 429 and 503,
// or a 503 without Retry-After.
func signIn(ctx context.Context, c *http.Client, base, email, pass string) ([]int, error) {
	var got []int
	for {
		req, _ := http.NewRequestWithContext(ctx, "POST", base+"/oauth/authorizations", strings.NewReader(`{"scope":["global"]}`))
		req.SetBasicAuth(email, pass)
		req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return got, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
		switch retry, _ := strconv.Atoi(resp.Header.Get("Retry-After")); resp.StatusCode {
		case http.StatusCreated, http.StatusUnauthorized, http.StatusTooManyRequests:
			return got, nil
		case http.StatusServiceUnavailable:
			if retry <= 0 {
				return got, fmt.Errorf("503 with Retry-After %q, want a number of seconds", resp.Header.Get("Retry-After"))
			}
			if len(got) > 5 {
				return got, nil
			}
			select {
			case <-time.After(time.Duration(retry) * time.Second):
			case <-ctx.Done():
				return got, nil
			}
		default:
			return got, fmt.Errorf("got status %d, want 201, 401, 429 or 503", resp.StatusCode)
		}
	}
}

// buildKeyhole builds the keyhole command, from the build cache and without
// the race detector, whose instrumentation would dominate the memory.
func buildKeyhole(t testing.TB) string {
	t.Helper()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
		if _, err := os.Stat(goBin); err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("the go command is needed to build keyhole: %v", err)
			}
			t.Skipf("skipping: the go command is not available to build keyhole: %v", err)
		}
	}
	// Not in the test's 90 s: a cold cache compiles SQLite for a minute.
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	bin := filepath.Join(t.TempDir(), "keyhole")
	out, err := exec.CommandContext(ctx, goBin, "build", "-race=false", "-o", bin, "github.com/keyhole/keyhole/cmd/keyhole").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// startKeyhole runs `keyhole serve` on SQLite in dir, on a loopback port
// the kernel picks, and returns its pid and URL once /healthz answers.
func startKeyhole(t testing.TB, ctx context.Context, bin, dir string) (int, string) {
	t.Helper()
	p := startServe(t, ctx, bin, sqliteEnv(), "--data-dir", dir)
	return p.pid, p.url
}

// proc is a running `keyhole serve`.
type proc struct {
	cmd *exec.Cmd
	pid int
	url string
	log *keyholetest.LogBuffer // what it wrote to stderr
}

// startServe runs `keyhole serve` with args (after --addr 127.0.0.1:0) in
// env, and returns it once /healthz answers. It is killed when the test
// ends, or with the test process if that dies.
func startServe(t testing.TB, ctx context.Context, bin string, env []string, args ...string) *proc {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, args...)...)
	// A folder of its own, for what it writes without --data-dir (the
	// mail outbox).
	cmd.Dir = t.TempDir()
	p := &proc{cmd: cmd, log: &keyholetest.LogBuffer{}}
	cmd.Env, cmd.Stderr = env, p.log
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start keyhole serve: %v", err)
	}
	p.pid = cmd.Process.Pid
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	serving := make(chan string, 1)
	go func() {
		defer close(serving)
		for sc := bufio.NewScanner(stdout); sc.Scan(); {
			if u, ok := strings.CutPrefix(sc.Text(), "Keyhole is serving on "); ok {
				serving <- u
			}
		}
	}()
	select {
	case p.url = <-serving:
	case <-ctx.Done():
	}
	if p.url == "" {
		t.Fatalf("keyhole serve did not say where it listens:\n%s", p.log)
	}
	client := http.DefaultClient
	if strings.HasPrefix(p.url, "https://") {
		client = insecureClient
	}
	for ; ctx.Err() == nil; time.Sleep(20 * time.Millisecond) {
		req, _ := http.NewRequestWithContext(ctx, "GET", p.url+"/healthz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p
			}
		}
	}
	t.Fatalf("keyhole serve at %s: /healthz did not answer 200:\n%s", p.url, p.log)
	return nil
}

// insecureClient reaches a server whose certificate the test made; tests
// that check the certificate make their own client.
var insecureClient = &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}

// sqliteEnv is the environment without the settings that would point
// keyhole at another database or address.
func sqliteEnv() []string {
	return slices.DeleteFunc(os.Environ(), func(kv string) bool {
		return strings.HasPrefix(kv, "KEYHOLE_") || strings.HasPrefix(kv, "DATABASE_URL=")
	})
}

// procStatus reads a memory figure of /proc/PID/status, in bytes.
func procStatus(pid int, field string) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
