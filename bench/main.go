// Command bench is Keyhole's load harness. It builds `keyhole serve`, runs
// it on loopback as a child process against a fresh SQLite database (and
// PostgreSQL schema with --postgres), sets it up through its own admin
// command and HTTP API, and measures the hot paths: requests per second,
// p50 and p99 latency, the server's peak RSS and CPU. Every figure is
// printed beside a bare net/http handler's, measured in the same run on the
// same machine, as a ratio to it.
//
//	go run ./bench [--duration 10s] [--connections 8] [--paths account,introspect]
//	               [--postgres postgres://…] [--tokens 1000000] [--keyhole PATH] [--json]
//
// It talks to loopback only, and stops by itself: every timed run is
// bounded by --duration.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	var err error
	switch {
	case len(os.Args) > 1 && os.Args[1] == bareCommand:
		err = runBare(ctx, os.Args[2:], os.Stdin, os.Stdout, os.Stderr)
	case len(os.Args) > 1 && os.Args[1] == signinsCommand:
		err = runSignins(ctx, os.Args[2:], os.Stdout, os.Stderr)
	default:
		err = run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	}
	stop()
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// config is the harness's flags.
type config struct {
	duration, warmup time.Duration
	connections      int
	paths            []path
	sqlite           bool
	postgres         string
	tokens           int
	keyhole          string
	json             bool
	interleave       bool
	rounds           int
	cpuProfile       string
	rateLimit        string
	cacheSize        int
	args             []string
}

func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{args: args, rateLimit: "1000000000/hour"}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "Usage: go run ./bench [flags]\n       go run ./bench signins [flags]   (memory of a burst of sign-ins; signins -h)\n\n"+
			"Measures Keyhole's hot paths against a bare net/http handler, on loopback.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	fs.DurationVar(&cfg.duration, "duration", 10*time.Second, "timed run per path (at most 10m)")
	fs.DurationVar(&cfg.warmup, "warmup", 2*time.Second, "warm-up per path, not counted (at most 1m)")
	fs.IntVar(&cfg.connections, "connections", 8, "keep-alive connections, each one request at a time (like wrk -c)")
	keys := make([]string, len(paths))
	for i, p := range paths {
		keys[i] = p.key
	}
	pathList := fs.String("paths", strings.Join(keys, ","), "comma-separated paths to measure; the bare handler always runs")
	fs.BoolVar(&cfg.sqlite, "sqlite", true, "measure on SQLite")
	fs.StringVar(&cfg.postgres, "postgres", "", "also measure on PostgreSQL: a postgres:// URL of a database in which to create (and drop) a schema")
	fs.BoolVar(&cfg.interleave, "interleave", true, "measure the bare handler with each path, taking turns in --rounds slices, each path's ratio to that; false: once per database")
	fs.IntVar(&cfg.rounds, "rounds", 5, "slices the timed run is cut into, which the bare handler and the path take in turn")
	fs.IntVar(&cfg.cacheSize, "cache-size", -1, "keyhole serve --cache-size: 0 turns the cache off, so every token is looked up in the database (default: keyhole's)")
	fs.IntVar(&cfg.tokens, "tokens", 0, "live access tokens to write into each database before measuring (with the store API)")
	fs.StringVar(&cfg.keyhole, "keyhole", "", "keyhole binary to run; default: built from this module without -race")
	fs.BoolVar(&cfg.json, "json", false, "print the report as JSON instead of Markdown")
	fs.StringVar(&cfg.cpuProfile, "cpuprofile", "", "write the load generator's CPU profile to this file")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	var problems []string
	if fs.NArg() > 0 {
		problems = append(problems, "unexpected arguments: "+strings.Join(fs.Args(), " "))
	}
	if cfg.duration <= 0 || cfg.duration > 10*time.Minute {
		problems = append(problems, "--duration must be more than 0 and at most 10m")
	}
	if cfg.warmup < 0 || cfg.warmup > time.Minute {
		problems = append(problems, "--warmup must be from 0 to 1m")
	}
	if cfg.rounds < 1 || cfg.rounds > 100 || cfg.duration/time.Duration(max(cfg.rounds, 1)) < 100*time.Millisecond {
		problems = append(problems, "--rounds must be from 1 to 100, each slice of --duration at least 100ms")
	}
	if cfg.connections < 1 || cfg.connections > 1024 {
		problems = append(problems, "--connections must be from 1 to 1024")
	}
	if cfg.cacheSize < -1 {
		problems = append(problems, "--cache-size must be 0 or more")
	}
	if cfg.tokens < 0 || cfg.tokens > 100_000_000 {
		problems = append(problems, "--tokens must be from 0 to 100000000")
	}
	if !cfg.sqlite && cfg.postgres == "" {
		problems = append(problems, "nothing to measure: --sqlite=false needs --postgres")
	}
	for _, k := range strings.Split(*pathList, ",") {
		k = strings.TrimSpace(k)
		i := slices.IndexFunc(paths, func(p path) bool { return p.key == k })
		switch {
		case k == "":
		case i < 0:
			problems = append(problems, fmt.Sprintf("unknown path %q in --paths (known: %s)", k, strings.Join(keys, ", ")))
		case !slices.ContainsFunc(cfg.paths, func(p path) bool { return p.key == k }):
			cfg.paths = append(cfg.paths, paths[i])
		}
	}
	// Run in the table's order whatever the order asked.
	slices.SortFunc(cfg.paths, func(a, b path) int {
		return slices.IndexFunc(paths, func(p path) bool { return p.key == a.key }) - slices.IndexFunc(paths, func(p path) bool { return p.key == b.key })
	})
	if len(problems) > 0 {
		return nil, fmt.Errorf("invalid flags:\n  - %s", strings.Join(problems, "\n  - "))
	}
	return cfg, nil
}

// run runs the benchmark the flags describe and prints the report on
// stdout; progress goes to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	began := time.Now()
	if cfg.cpuProfile != "" {
		f, err := os.Create(cfg.cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	tmp, err := os.MkdirTemp("", "keyhole-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin := cfg.keyhole
	if bin == "" {
		fmt.Fprintln(stderr, "building keyhole (without -race)…")
		if bin, err = buildKeyhole(ctx, tmp); err != nil {
			return err
		}
	}
	rep := newReport(cfg, bin, began)
	rep.BusyBefore = busyCores(ctx, time.Second)
	if rep.BusyBefore > 0.25 {
		fmt.Fprintf(stderr, "the machine is not quiet: %.2f cores were busy in the last second\n", rep.BusyBefore)
	}
	var dbs []func() (*database, error)
	if cfg.sqlite {
		dbs = append(dbs, func() (*database, error) { return newSQLite(tmp) })
	}
	if cfg.postgres != "" {
		dbs = append(dbs, func() (*database, error) { return newPostgres(ctx, cfg.postgres) })
	}
	for _, open := range dbs {
		db, err := open()
		if err != nil {
			return err
		}
		t, err := runTable(ctx, cfg, &keyholeCmd{bin: bin, db: db, logDir: tmp, rateLimit: cfg.rateLimit, cacheSize: cfg.cacheSize}, self, stderr)
		if derr := db.drop(); derr != nil {
			err = errors.Join(err, derr)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", db.name, err)
		}
		rep.Tables = append(rep.Tables, t)
	}
	rep.Seconds = time.Since(began).Seconds()
	if cfg.json {
		return rep.writeJSON(stdout)
	}
	return rep.writeMarkdown(stdout)
}

// runTable sets one database up, then measures each path against a fresh
// `keyhole serve` on that database, the bare handler taking turns with
// each (or once, first, with --interleave=false). With --tokens, GET /account
// is measured once more before the database is filled, so that the table
// compares the two in the same run.
func runTable(ctx context.Context, cfg *config, k *keyholeCmd, self string, stderr io.Writer) (_ *table, err error) {
	t := &table{Database: k.db.name, Tokens: cfg.tokens}
	say := func(format string, a ...any) { fmt.Fprintf(stderr, k.db.name+": "+format+"\n", a...) }
	say("setting up (%d accounts with admin:create-account, logins, clients)…", accounts)
	began := time.Now()
	fx, err := setUp(ctx, k, cfg.tokens > 0)
	if err != nil {
		return nil, fmt.Errorf("set-up: %w", err)
	}
	t.SetupSeconds = time.Since(began).Seconds()

	bare, err := startBare(ctx, self, k.logDir, fx)
	if err != nil {
		return nil, err
	}
	defer func() {
		if serr := bare.stop(); err == nil && serr != nil {
			err = fmt.Errorf("bare handler: %w", serr)
		}
	}()
	bareRun := func() *measured {
		return &measured{srv: bare, pl: &plan{worker: accountWorkers(bare.addr, fx.tokens)}}
	}
	recordBare := func(m *measured) {
		res := m.res
		res.Path = fmt.Sprintf("bare net/http handler (GET /account, Bearer check, %d-byte JSON)", fx.accountBody)
		res.Key, res.Ratio, res.BareRPS = "bare", 1, res.RPS
		say("%s", res.summary())
		t.Bare = append(t.Bare, res)
	}
	var alone *result // the bare handler's one run, without --interleave
	if !cfg.interleave || len(cfg.paths) == 0 {
		m := bareRun()
		if err := measure(ctx, cfg, m); err != nil {
			return nil, fmt.Errorf("bare handler: %w", err)
		}
		recordBare(m)
		alone = m.res
	}

	run := func(p path) error {
		srv, err := k.serve(ctx)
		if err != nil {
			return err
		}
		s := &session{fx: fx, api: newAPIClient(srv.base), host: srv.addr, conns: cfg.connections, duration: cfg.duration, warmup: cfg.warmup}
		pl, err := p.prepare(ctx, s)
		path := &measured{srv: srv, pl: pl}
		var b *measured
		if err == nil {
			if cfg.interleave {
				b = bareRun()
				err = measure(ctx, cfg, b, path)
			} else {
				err = measure(ctx, cfg, path)
			}
		}
		s.api.hc.CloseIdleConnections()
		if serr := srv.stop(); err == nil {
			err = serr
		}
		if err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
		neighbour := alone
		if b != nil {
			recordBare(b)
			neighbour = b.res
		}
		res := path.res
		res.Path, res.Key, res.BareRPS = p.name, p.key, neighbour.RPS
		if neighbour.RPS > 0 {
			res.Ratio = res.RPS / neighbour.RPS
		}
		say("%s  (%.2f× bare)", res.summary(), res.Ratio)
		t.Results = append(t.Results, res)
		return nil
	}

	if cfg.tokens > 0 {
		if i := slices.IndexFunc(cfg.paths, func(p path) bool { return p.key == "account" }); i >= 0 {
			before := cfg.paths[i]
			before.key, before.name = "account_before_fill", before.name+" (before the fill)"
			if err := run(before); err != nil {
				return nil, err
			}
		}
		say("writing %d tokens with the store API…", cfg.tokens)
		st, err := k.db.open(ctx)
		if err != nil {
			return nil, err
		}
		took, err := fill(ctx, st, fx.fillerID, cfg.tokens, stderr)
		if cerr := st.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return nil, err
		}
		t.FillSeconds = took.Seconds()
	}
	for _, p := range cfg.paths {
		if err := run(p); err != nil {
			return nil, err
		}
	}
	return t, ctx.Err()
}

// startBare starts the bare handler: this program again, as a child, the
// accounts' tokens on its standard input.
func startBare(ctx context.Context, self, logDir string, fx *fixture) (*process, error) {
	cmd := exec.Command(self, bareCommand, "--size", fmt.Sprint(fx.accountBody))
	cmd.Stdin = strings.NewReader(strings.Join(fx.tokens, "\n") + "\n")
	return startProcess(ctx, "bare handler", cmd, filepath.Join(logDir, "bare.log"), "/healthz")
}

// measured is one server under load in a measurement: its connections
// and what it has done so far.
type measured struct {
	srv  *process
	pl   *plan
	pool *pool
	res  *result
	// Sums over the timed slices.
	phases             []*phase
	cpu, own           time.Duration
	busy, steal, total int64
}

// measure times one server, or two taking turns (the bare handler and a
// path): each is warmed up and topped up with what its path needs, then
// the timed run is cut into cfg.rounds slices, and the servers take the
// slices in turn, so that a change in the machine's speed during the run
// falls on both alike. Each result sums its own slices: requests, latency,
// errors, its CPU, and the machine's.
func measure(ctx context.Context, cfg *config, runs ...*measured) error {
	for _, m := range runs {
		m.pool = newPool(m.srv.addr, cfg.connections, m.pl.worker)
		defer m.pool.close()
		m.res = &result{Notes: m.pl.notes}
	}
	warm := make([]*phase, len(runs))
	for i, m := range runs {
		warm[i] = m.pool.run(ctx, cfg.warmup)
	}
	for i, m := range runs {
		if m.pl.topUp != nil {
			note, err := m.pl.topUp(ctx, warm[i])
			if err != nil {
				return err
			}
			m.res.Notes = append(m.res.Notes, note)
		}
	}
	slice := cfg.duration / time.Duration(cfg.rounds)
rounds:
	for range cfg.rounds {
		for _, m := range runs {
			cpu0, err := m.srv.cpuTime()
			if err != nil {
				return err
			}
			own0 := ownCPU()
			busy0, steal0, total0 := machineCPU()
			ph := m.pool.run(ctx, slice)
			own1 := ownCPU()
			busy1, steal1, total1 := machineCPU()
			cpu1, err := m.srv.cpuTime()
			if err != nil {
				return err
			}
			if err := ctx.Err(); err != nil {
				return err
			}
			m.phases = append(m.phases, ph)
			m.cpu += cpu1 - cpu0
			m.own += own1 - own0
			m.busy, m.steal, m.total = m.busy+busy1-busy0, m.steal+steal1-steal0, m.total+total1-total0
			if ph.exhausted {
				break rounds
			}
		}
	}
	for i, m := range runs {
		rss, err := m.srv.peakRSS()
		if err != nil {
			return err
		}
		if err := m.srv.alive(); err != nil {
			return err
		}
		res := m.res
		var lat latencies
		var secs float64
		exhausted := false
		res.Failures = map[string]int{}
		for _, ph := range m.phases {
			lat = append(lat, ph.lat...)
			secs += ph.end.Sub(ph.start).Seconds()
			res.Errors += ph.errors
			for msg, n := range ph.failures {
				res.Failures[msg] += n
			}
			exhausted = exhausted || ph.exhausted
		}
		for msg, n := range warm[i].failures {
			res.Failures[msg] += n
		}
		res.WarmupErrors = warm[i].errors
		if exhausted {
			res.Failures[errExhausted.Error()]++
			res.Errors++
		}
		lat = lat.sorted()
		res.Requests = len(lat)
		res.Seconds = secs
		res.RPS = float64(len(lat)) / secs
		res.P50ms = ms(lat.percentile(50))
		res.P99ms = ms(lat.percentile(99))
		res.MaxMs = ms(lat.percentile(100))
		res.PeakRSS, res.StartRSS = rss, m.srv.startRSS
		res.ServerCPU = m.cpu.Seconds() / secs
		res.LoadCPU = m.own.Seconds() / secs
		if m.total > 0 {
			res.MachineBusy = float64(m.busy) / float64(m.total)
			res.MachineSteal = float64(m.steal) / float64(m.total)
			res.OtherCPU = max(res.MachineBusy*float64(runtime.NumCPU())-res.ServerCPU-res.LoadCPU, 0)
		}
	}
	return nil
}

// busyCores is how many cores the machine keeps busy over d.
func busyCores(ctx context.Context, d time.Duration) float64 {
	busy0, _, total0 := machineCPU()
	select {
	case <-time.After(d):
	case <-ctx.Done():
	}
	busy1, _, total1 := machineCPU()
	if total1 <= total0 {
		return 0
	}
	return float64(busy1-busy0) / float64(total1-total0) * float64(runtime.NumCPU())
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
