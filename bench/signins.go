package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"maps"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// signinsCommand is the first argument that runs the sign-in burst
// instead of the paths: `go run ./bench signins`.
const signinsCommand = "signins"

// signinsConfig is the flags of the sign-in burst.
type signinsConfig struct {
	parallel  int
	after     time.Duration
	keyhole   string
	serveArgs []string
	json      bool
	args      []string
}

// signinsReport is what one burst measured. Memory figures are bytes;
// RSS is the kernel's (/proc/PID/status), heap figures are the Go
// runtime's as Keyhole's /metrics reports them.
type signinsReport struct {
	Command   string   `json:"command"`
	Started   string   `json:"started"`
	Keyhole   string   `json:"keyhole"`
	Machine   string   `json:"machine"`
	ServeArgs []string `json:"serve_args"`
	// Env are the Go runtime's settings the server inherited (GOGC,
	// GOMEMLIMIT), when set.
	Env           []string    `json:"env,omitempty"`
	Parallel      int         `json:"parallel"`
	SetupSeconds  float64     `json:"setup_seconds"`
	BurstSeconds  float64     `json:"burst_seconds"`
	ServerCPU     float64     `json:"server_cpu_seconds"`
	AfterSeconds  float64     `json:"after_seconds"`
	IdleRSS       int64       `json:"idle_rss_bytes"`
	PeakRSS       int64       `json:"peak_rss_bytes"`
	PeakReset     bool        `json:"peak_reset"`
	EndRSS        int64       `json:"end_rss_bytes"`
	AfterRSS      int64       `json:"after_rss_bytes"`
	Samples       int         `json:"samples"`
	IdleHeap      goHeap      `json:"idle_heap"`
	EndHeap       goHeap      `json:"end_heap"`
	AfterHeap     goHeap      `json:"after_heap"`
	Statuses      []int       `json:"final_statuses"`
	Answers       map[int]int `json:"answers"`
	SignedIn      int         `json:"signed_in"`
	Errors        int         `json:"errors"`
	FailureSample []string    `json:"failures,omitempty"`
}

// goHeap is a few of the Go runtime's figures from /metrics.
type goHeap struct {
	HeapInuse    int64 `json:"heap_inuse_bytes"`
	HeapReleased int64 `json:"heap_released_bytes"`
	Sys          int64 `json:"sys_bytes"`
	NextGC       int64 `json:"next_gc_bytes"`
	GCs          int64 `json:"gc_cycles"`
}

func parseSigninsFlags(args []string, stderr io.Writer) (*signinsConfig, error) {
	cfg := &signinsConfig{args: args}
	fs := flag.NewFlagSet(signinsCommand, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench signins [flags]\n\n"+
			"Fires --parallel sign-ins at once (HTTP Basic on POST /oauth/authorizations, each a different account's\n"+
			"correct password: one argon2id hash each) at a fresh `keyhole serve` on SQLite, and reports the\n"+
			"server's resident set (/proc/PID/status): idle, its peak during the burst (VmHWM, reset before\n"+
			"the burst), at the end and --after the end. A 503 or 429 with Retry-After is waited out and\n"+
			"sent again, as a client would (up to 5 times).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.IntVar(&cfg.parallel, "parallel", 100, "sign-ins fired at once, each with its own account")
	fs.DurationVar(&cfg.after, "after", 5*time.Second, "how long after the burst to read the resident set again")
	fs.StringVar(&cfg.keyhole, "keyhole", "", "keyhole binary to run; default: built from this module without -race")
	serveArgs := fs.String("serve-args", "", "more flags for keyhole serve, separated by spaces, such as \"--memory-limit off\"")
	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON instead of Markdown")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, "unexpected arguments: "+strings.Join(fs.Args(), " "))
	}
	if cfg.parallel < 1 || cfg.parallel > 1000 {
		problems = append(problems, "--parallel must be from 1 to 1000")
	}
	if cfg.after < 0 || cfg.after > 10*time.Minute {
		problems = append(problems, "--after must be from 0 to 10m")
	}
	cfg.serveArgs = strings.Fields(*serveArgs)
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid flags:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return cfg, nil
}

// runSignins runs the sign-in burst and prints its report on stdout;
// progress goes to stderr.
func runSignins(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseSigninsFlags(args, stderr)
	if err != nil {
		return err
	}
	began := time.Now()
	tmp, err := os.MkdirTemp("", "keyhole-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := cfg.keyhole
	if bin == "" {
		fmt.Fprintln(stderr, "building keyhole (without -race)…")
		if bin, err = buildKeyhole(ctx, tmp); err != nil {
			return err
		}
	}
	db, err := newSQLite(tmp)
	if err != nil {
		return err
	}
	k := &keyholeCmd{bin: bin, db: db, logDir: tmp, rateLimit: "1000000000/hour", cacheSize: -1, serveArgs: cfg.serveArgs}
	head := newReport(&config{args: append([]string{signinsCommand}, cfg.args...), keyhole: cfg.keyhole}, bin, began)
	rep := &signinsReport{
		Command: head.Command, Started: head.Started.Format(time.RFC3339), Keyhole: head.Keyhole, Machine: head.Machine,
		ServeArgs: cfg.serveArgs, Parallel: cfg.parallel, AfterSeconds: cfg.after.Seconds(), Answers: map[int]int{},
	}
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GOGC=") || strings.HasPrefix(kv, "GOMEMLIMIT=") {
			rep.Env = append(rep.Env, kv)
		}
	}

	fmt.Fprintf(stderr, "making %d accounts with admin:create-account…\n", cfg.parallel)
	password := "bench " + rand.Text()
	emails := make([]string, cfg.parallel)
	for i := range emails {
		emails[i] = fmt.Sprintf("signin%d@example.com", i+1)
	}
	// The first alone: on SQLite it writes the server key.
	if err := k.createAccount(ctx, emails[0], password); err != nil {
		return err
	}
	if err := parallel(2, len(emails)-1, func(i int) error { return k.createAccount(ctx, emails[i+1], password) }); err != nil {
		return err
	}
	rep.SetupSeconds = time.Since(began).Seconds()
	srv, err := k.serve(ctx)
	if err != nil {
		return err
	}
	defer srv.stop()
	// Let the start settle (the dummy hash made at start is garbage by
	// now) before the idle figure.
	select {
	case <-time.After(time.Second):
	case <-ctx.Done():
		return ctx.Err()
	}
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.parallel, MaxConnsPerHost: cfg.parallel}}
	defer hc.CloseIdleConnections()
	if rep.IdleRSS, err = srv.memory("VmRSS"); err != nil {
		return err
	}
	rep.IdleHeap = scrapeHeap(ctx, hc, srv.base)
	// Writing 5 to clear_refs resets VmHWM to the current RSS, so that the
	// peak read after is the burst's and not the start's.
	rep.PeakReset = os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", srv.cmd.Process.Pid), []byte("5"), 0) == nil

	fmt.Fprintf(stderr, "%d sign-ins at once…\n", cfg.parallel)
	statuses := make([][]int, cfg.parallel)
	failures := make([]error, cfg.parallel)
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range emails {
		wg.Go(func() {
			<-start
			statuses[i], failures[i] = signIn(ctx, hc, srv.base, emails[i], password)
		})
	}
	var sampled int64
	stop, stopped := make(chan struct{}), make(chan struct{})
	go func() {
		defer close(stopped)
		for ; ; rep.Samples++ {
			if rss, err := srv.memory("VmRSS"); err == nil {
				sampled = max(sampled, rss)
			}
			select {
			case <-stop:
				return
			case <-time.After(10 * time.Millisecond):
			}
		}
	}()
	cpu0, err := srv.cpuTime()
	if err != nil {
		return err
	}
	burst := time.Now()
	close(start)
	wg.Wait()
	rep.BurstSeconds = time.Since(burst).Seconds()
	cpu1, err := srv.cpuTime()
	if err != nil {
		return err
	}
	rep.ServerCPU = (cpu1 - cpu0).Seconds()
	close(stop)
	<-stopped
	peak, err := srv.peakRSS()
	if err != nil {
		return err
	}
	rep.PeakRSS = max(peak, sampled)
	if rep.EndRSS, err = srv.memory("VmRSS"); err != nil {
		return err
	}
	// Idle keep-alive connections would be the harness's, not the
	// server's, memory to keep: closed before the wait.
	hc.CloseIdleConnections()
	rep.EndHeap = scrapeHeap(ctx, hc, srv.base)
	select {
	case <-time.After(cfg.after):
	case <-ctx.Done():
		return ctx.Err()
	}
	if rep.AfterRSS, err = srv.memory("VmRSS"); err != nil {
		return err
	}
	rep.AfterHeap = scrapeHeap(ctx, hc, srv.base)
	if err := srv.alive(); err != nil {
		return err
	}
	for i, s := range statuses {
		for _, st := range s {
			rep.Answers[st]++
		}
		if len(s) > 0 {
			rep.Statuses = append(rep.Statuses, s[len(s)-1])
			if s[len(s)-1] == http.StatusCreated {
				rep.SignedIn++
			}
		}
		if failures[i] != nil {
			rep.Errors++
			if len(rep.FailureSample) < 3 {
				rep.FailureSample = append(rep.FailureSample, failures[i].Error())
			}
		}
	}
	if cfg.json {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(rep)
	}
	return rep.writeMarkdown(stdout)
}

// signIn is one sign-in as the Heroku CLI's `login -i` makes it; it
// returns every status it got. A 503 or 429 with Retry-After is waited
// out and sent again, up to 5 times.
func signIn(ctx context.Context, c *http.Client, base, email, password string) ([]int, error) {
	var got []int
	for {
		req, err := http.NewRequestWithContext(ctx, "POST", base+"/oauth/authorizations", strings.NewReader(`{"scope":["global"],"description":"bench sign-in"}`))
		if err != nil {
			return got, err
		}
		req.SetBasicAuth(email, password)
		req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		if err != nil {
			return got, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		got = append(got, resp.StatusCode)
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		switch resp.StatusCode {
		case http.StatusCreated:
			return got, nil
		case http.StatusServiceUnavailable, http.StatusTooManyRequests:
			if wait <= 0 || wait > 60 {
				return got, fmt.Errorf("%s: %d with Retry-After %q", email, resp.StatusCode, resp.Header.Get("Retry-After"))
			}
			if len(got) > 5 {
				return got, fmt.Errorf("%s: still %d after %d tries", email, resp.StatusCode, len(got))
			}
			select {
			case <-time.After(time.Duration(wait) * time.Second):
			case <-ctx.Done():
				return got, ctx.Err()
			}
		default:
			return got, fmt.Errorf("%s: status %d, want 201", email, resp.StatusCode)
		}
	}
}

// scrapeHeap reads the Go runtime's heap figures from the server's
// /metrics; zero values when it cannot.
func scrapeHeap(ctx context.Context, c *http.Client, base string) goHeap {
	var h goHeap
	req, err := http.NewRequestWithContext(ctx, "GET", base+"/metrics", nil)
	if err != nil {
		return h
	}
	resp, err := c.Do(req)
	if err != nil {
		return h
	}
	defer resp.Body.Close()
	fields := map[string]*int64{
		"go_memstats_heap_inuse_bytes":    &h.HeapInuse,
		"go_memstats_heap_released_bytes": &h.HeapReleased,
		"go_memstats_sys_bytes":           &h.Sys,
		"go_memstats_next_gc_bytes":       &h.NextGC,
		"go_gc_duration_seconds_count":    &h.GCs,
	}
	for sc := bufio.NewScanner(resp.Body); sc.Scan(); {
		name, v, ok := strings.Cut(sc.Text(), " ")
		if p := fields[name]; ok && p != nil {
			if f, err := strconv.ParseFloat(strings.TrimSpace(v), 64); err == nil {
				*p = int64(f)
			}
		}
	}
	return h
}

func (r *signinsReport) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	fmt.Fprintf(&b, "- %s, built without -race; %s; started %s.\n", r.Keyhole, r.Machine, r.Started)
	args := "its defaults"
	if len(r.ServeArgs) > 0 {
		args = "`" + strings.Join(r.ServeArgs, " ") + "`"
	}
	if len(r.Env) > 0 {
		args += ", environment `" + strings.Join(r.Env, " ") + "`"
	}
	fmt.Fprintf(&b, "- `keyhole serve` on SQLite with %s; %d accounts made with `admin:create-account` (%s), then %d sign-ins at once "+
		"(HTTP Basic on `POST /oauth/authorizations`, each account's correct password), 503 and 429 waited out per Retry-After.\n",
		args, r.Parallel, seconds(r.SetupSeconds), r.Parallel)
	peak := "VmHWM reset before the burst"
	if !r.PeakReset {
		peak = "VmHWM, not reset: it may be the start's"
	}
	fmt.Fprintf(&b, "- Burst %s, %.1f s of server CPU; %d of %d signed in; answers %s.\n\n",
		seconds(r.BurstSeconds), r.ServerCPU, r.SignedIn, r.Parallel, answers(r.Answers))
	fmt.Fprintf(&b, "| | idle | peak (%s) | end of the burst | %s after |\n|---|--:|--:|--:|--:|\n", peak, seconds(r.AfterSeconds))
	fmt.Fprintf(&b, "| RSS | %.1f MB | **%.1f MB** | %.1f MB | **%.1f MB** |\n", mb(r.IdleRSS), mb(r.PeakRSS), mb(r.EndRSS), mb(r.AfterRSS))
	fmt.Fprintf(&b, "| Go heap in use | %.1f MB | | %.1f MB | %.1f MB |\n", mb(r.IdleHeap.HeapInuse), mb(r.EndHeap.HeapInuse), mb(r.AfterHeap.HeapInuse))
	fmt.Fprintf(&b, "| Go heap released to the OS | %.1f MB | | %.1f MB | %.1f MB |\n", mb(r.IdleHeap.HeapReleased), mb(r.EndHeap.HeapReleased), mb(r.AfterHeap.HeapReleased))
	fmt.Fprintf(&b, "| Go runtime total (Sys) | %.1f MB | | %.1f MB | %.1f MB |\n", mb(r.IdleHeap.Sys), mb(r.EndHeap.Sys), mb(r.AfterHeap.Sys))
	fmt.Fprintf(&b, "| next GC at | %.1f MB | | %.1f MB | %.1f MB |\n", mb(r.IdleHeap.NextGC), mb(r.EndHeap.NextGC), mb(r.AfterHeap.NextGC))
	fmt.Fprintf(&b, "| GC cycles so far | %d | | %d | %d |\n", r.IdleHeap.GCs, r.EndHeap.GCs, r.AfterHeap.GCs)
	b.WriteString("\nMB are 2^20 bytes. Peak is the larger of VmHWM and the highest of " + strconv.Itoa(r.Samples) + " VmRSS samples taken every 10 ms.\n")
	if r.Errors > 0 {
		fmt.Fprintf(&b, "\n**%d sign-ins failed** (%s): the figures are not to be trusted.\n", r.Errors, strings.Join(r.FailureSample, "; "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// answers lists how many answers each status got, in order of status.
func answers(m map[int]int) string {
	var parts []string
	for _, s := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, fmt.Sprintf("%d × %d", m[s], s))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, ", ")
}
