package cli_test

import (
	"bytes"
	"context"
	"math"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/cli"
)

// serveUntil starts `keyhole serve` in this process with env and args on
// a free port, and returns once /healthz answers; stop cancels its context
// and returns its exit code and standard error.
func serveUntil(t *testing.T, env map[string]string, args ...string) (base string, stop func() (int, string)) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	var errb bytes.Buffer
	go func() {
		done <- cli.Main(ctx, append([]string{"keyhole", "serve", "--addr", addr, "--drain", "0", "--data-dir", t.TempDir()}, args...), cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(""), Stdout: &bytes.Buffer{}, Stderr: &errb,
		})
	}()
	var code int
	stopped := false
	stop = func() (int, string) {
		if !stopped {
			stopped = true
			cancel()
			code = <-done
		}
		return code, errb.String()
	}
	t.Cleanup(func() { stop() })
	for range 200 {
		select {
		case code := <-done:
			t.Fatalf("serve exited %d before answering:\n%s", code, errb.String())
		default:
		}
		if resp, err := http.Get("http://" + addr + "/healthz"); err == nil {
			resp.Body.Close()
			return "http://" + addr, stop
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("server never answered:\n%s", errb.String())
	return "", nil
}

// TestMemoryLimitSetting: --memory-limit (or KEYHOLE_MEMORY_LIMIT) sets
// the runtime's soft memory limit while serve runs and puts the previous
// one back when it returns; the default, auto, follows --cache-size; off
// lifts it; a GOMEMLIMIT of the environment is kept unless the setting is
// given; malformed and too small sizes are refused like the other
// settings.
func TestMemoryLimitSetting(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		args []string
		want string
	}{
		{nil, []string{"--memory-limit", "lots"}, "-memory-limit"},
		{nil, []string{"--memory-limit", "96MB"}, "must be a size such as 256MiB"},
		{nil, []string{"--memory-limit", "1.5GiB"}, "must be a size"},
		{nil, []string{"--memory-limit", "-1"}, "must be a size"},
		{nil, []string{"--memory-limit", "63MiB"}, "under 64MiB"},
		{map[string]string{"KEYHOLE_MEMORY_LIMIT": "tiny"}, nil, "KEYHOLE_MEMORY_LIMIT"},
	} {
		code, _, stderr := run(t, c.env, "", append([]string{"serve", "--data-dir", t.TempDir()}, c.args...)...)
		if code != cli.ExitUsage || !strings.Contains(stderr, c.want) {
			t.Errorf("%v %v: exit %d, stderr %q; want exit %d naming %q", c.env, c.args, code, stderr, cli.ExitUsage, c.want)
		}
	}

	const before = 5 << 30
	prev := debug.SetMemoryLimit(before)
	t.Cleanup(func() { debug.SetMemoryLimit(prev) })
	for _, c := range []struct {
		name string
		env  map[string]string
		args []string
		want int64
	}{
		{"flag", nil, []string{"--memory-limit", "200MiB"}, 200 << 20},
		{"environment", map[string]string{"KEYHOLE_MEMORY_LIMIT": "1GiB"}, nil, 1 << 30},
		{"flag over environment", map[string]string{"KEYHOLE_MEMORY_LIMIT": "1GiB"}, []string{"--memory-limit", "128MiB"}, 128 << 20},
		{"plain bytes", nil, []string{"--memory-limit", "134217728"}, 128 << 20},
		{"auto follows the cache", nil, []string{"--cache-size", "1000"}, 96<<20 + 1000*3<<10},
		{"auto without a cache", nil, []string{"--cache-size", "0", "--memory-limit", "auto"}, 96 << 20},
		{"off", map[string]string{"KEYHOLE_MEMORY_LIMIT": "off"}, nil, math.MaxInt64},
		{"0 is off", nil, []string{"--memory-limit", "0"}, math.MaxInt64},
		{"GOMEMLIMIT kept", map[string]string{"GOMEMLIMIT": "5GiB"}, nil, before},
		{"GOMEMLIMIT and the flag", map[string]string{"GOMEMLIMIT": "5GiB"}, []string{"--memory-limit", "300MiB"}, 300 << 20},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, stop := serveUntil(t, c.env, c.args...)
			if got := debug.SetMemoryLimit(-1); got != c.want {
				t.Errorf("while serving, the memory limit is %d, want %d", got, c.want)
			}
			if code, stderr := stop(); code != 0 {
				t.Fatalf("serve exit %d: %s", code, stderr)
			}
			if got := debug.SetMemoryLimit(-1); got != before {
				t.Errorf("after serve, the memory limit is %d, want the one before, %d", got, int64(before))
			}
		})
	}
}
