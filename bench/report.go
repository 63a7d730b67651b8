package main

import (
	"bytes"
	"cmp"
	"debug/buildinfo"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"os/exec"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report is everything one invocation measured.
type report struct {
	Command     string    `json:"command"`
	Started     time.Time `json:"started"`
	Seconds     float64   `json:"seconds"`
	Keyhole     string    `json:"keyhole"`
	Machine     string    `json:"machine"`
	CPUs        int       `json:"cpus"`
	Connections int       `json:"connections"`
	Warmup      float64   `json:"warmup_seconds"`
	Interleave  bool      `json:"interleave"`
	Rounds      int       `json:"rounds"`
	Duration    float64   `json:"duration_seconds"`
	// BusyBefore is how many cores the machine used in the second before
	// the harness started.
	BusyBefore float64  `json:"busy_cores_before"`
	Tables     []*table `json:"tables"`
}

// table is one database's figures.
type table struct {
	Database     string  `json:"database"`
	Tokens       int     `json:"tokens"`
	SetupSeconds float64 `json:"setup_seconds"`
	FillSeconds  float64 `json:"fill_seconds,omitempty"`
	// Bare are the bare handler's runs: one in turns with each path, or
	// one for the table (--interleave=false).
	Bare    []*result `json:"bare"`
	Results []*result `json:"results"`
}

// result is one path's figures.
type result struct {
	Key      string  `json:"key"`
	Path     string  `json:"path"`
	Requests int     `json:"requests"`
	Seconds  float64 `json:"seconds"`
	RPS      float64 `json:"requests_per_second"`
	// BareRPS is the bare handler's req/s the ratio is to: the run right
	// before this one (or the table's one run).
	BareRPS float64 `json:"bare_requests_per_second"`
	// Ratio is RPS/BareRPS: 1 for the bare handler.
	Ratio        float64 `json:"ratio_to_bare"`
	P50ms        float64 `json:"p50_ms"`
	P99ms        float64 `json:"p99_ms"`
	MaxMs        float64 `json:"max_ms"`
	PeakRSS      int64   `json:"peak_rss_bytes"`
	StartRSS     int64   `json:"start_rss_bytes"`
	ServerCPU    float64 `json:"server_cpu_cores"`
	LoadCPU      float64 `json:"load_generator_cpu_cores"`
	MachineBusy  float64 `json:"machine_busy_fraction"`
	MachineSteal float64 `json:"machine_steal_fraction"`
	// OtherCPU is what the rest of the machine used: PostgreSQL, and
	// anything else running.
	OtherCPU     float64        `json:"other_cpu_cores"`
	Errors       int            `json:"errors"`
	WarmupErrors int            `json:"warmup_errors"`
	Failures     map[string]int `json:"failures,omitempty"`
	Notes        []string       `json:"notes,omitempty"`
}

func newReport(cfg *config, bin string, started time.Time) *report {
	r := &report{
		Command: "go run ./bench" + quoteArgs(cfg.args), Started: started.UTC().Truncate(time.Second),
		Machine: machine(), CPUs: runtime.NumCPU(), Connections: cfg.connections,
		Warmup: cfg.warmup.Seconds(), Duration: cfg.duration.Seconds(), Interleave: cfg.interleave, Rounds: cfg.rounds,
		Keyhole: "keyhole (version unknown)",
	}
	if cfg.keyhole == "" {
		r.Keyhole = "keyhole " + gitRevision() + ", " + runtime.Version()
	} else if bi, err := buildinfo.ReadFile(bin); err == nil {
		rev, modified := "", ""
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				if s.Value == "true" {
					modified = " with uncommitted changes"
				}
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		r.Keyhole = fmt.Sprintf("keyhole %s%s (%s), %s", cmp.Or(rev, "of unknown revision"), modified, bin, bi.GoVersion)
	}
	return r
}

// gitRevision names the commit of the working tree the harness built
// keyhole from, and says if files differ from it.
func gitRevision() string {
	rev, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "(no git revision)"
	}
	s := strings.TrimSpace(string(rev))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no").Output(); err == nil && len(bytes.TrimSpace(st)) > 0 {
		s += " with uncommitted changes"
	}
	return s
}

// quoteArgs renders args for a shell.
func quoteArgs(args []string) string {
	var b strings.Builder
	for _, a := range args {
		b.WriteByte(' ')
		if a != "" && strings.IndexFunc(a, func(r rune) bool {
			return !(r == '-' || r == '_' || r == '.' || r == '/' || r == '=' || r == ',' || r == ':' ||
				('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z') || ('0' <= r && r <= '9'))
		}) < 0 {
			b.WriteString(a)
		} else {
			b.WriteString("'" + strings.ReplaceAll(a, "'", `'\''`) + "'")
		}
	}
	return b.String()
}

// machine describes the processor and kernel.
func machine() string {
	model := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for line := range strings.Lines(string(b)) {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				model = strings.TrimSpace(v)
				break
			}
		}
	}
	kernel := ""
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		kernel = ", Linux " + strings.TrimSpace(string(b))
	}
	return fmt.Sprintf("%d × %s%s", runtime.NumCPU(), model, kernel)
}

func (r *report) writeJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

func (r *report) writeMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "Command: `%s`\n\n", r.Command)
	fmt.Fprintf(&b, "- %s, built without -race; %s (%.2f cores busy in the second before the run); started %s, took %s.\n",
		r.Keyhole, r.Machine, r.BusyBefore, r.Started.Format(time.RFC3339), time.Duration(r.Seconds*float64(time.Second)).Round(time.Second))
	fmt.Fprintf(&b, "- Load: %d keep-alive connections on loopback, one request at a time each; per path %s warm-up (not counted), then %s timed. "+
		"Every answer's status (and body, where it tells) is checked; req/s counts checked answers only.\n",
		r.Connections, seconds(r.Warmup), seconds(r.Duration))
	b.WriteString("- Each path runs against a fresh `keyhole serve` process on the table's database (so peak RSS, the kernel's VmHWM, is that path's, its preparation included); " +
		"the database keeps what earlier paths wrote. ")
	if r.Interleave {
		fmt.Fprintf(&b, "The bare handler (one process per table) is measured with each path, the two taking turns in %d slices of the timed run, so that a change in the machine's speed falls on both: × bare is the path's req/s over the bare handler's in those turns. ", r.Rounds)
	} else {
		b.WriteString("The bare handler is measured once per table, first: × bare is the path's req/s over that run's. ")
	}
	b.WriteString("CPU is in cores, during the timed run: server is the measured process, load this harness, other the rest of the machine " +
		"(PostgreSQL, and whatever else runs: on a machine that is not quiet the figures drop).\n")
	for _, t := range r.Tables {
		fmt.Fprintf(&b, "\n### %s", t.Database)
		if t.Tokens > 0 {
			fmt.Fprintf(&b, ", %s extra live tokens", thousands(float64(t.Tokens)))
		}
		b.WriteString("\n\n")
		fmt.Fprintf(&b, "Set-up %s (%d accounts with `admin:create-account`, their CLI logins, the clients, %d access tokens for introspection).", seconds(t.SetupSeconds), accounts, accounts)
		if t.Tokens > 0 {
			fmt.Fprintf(&b, " %s live access tokens written with the store API in %s.", thousands(float64(t.Tokens)), seconds(t.FillSeconds))
		}
		b.WriteString("\n\n| path | req/s | × bare | p50 | p99 | peak RSS (at start) | errors | server CPU | load CPU | other CPU |\n|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|\n")
		var notes []string
		rows := t.Results
		if bare := t.bareSummary(); bare != nil {
			rows = append([]*result{bare}, rows...)
		}
		for _, res := range rows {
			errs := fmt.Sprint(res.Errors)
			if res.WarmupErrors > 0 {
				errs += fmt.Sprintf(" (+%d in warm-up)", res.WarmupErrors)
			}
			if res.Errors+res.WarmupErrors > 0 {
				errs = "**" + errs + "**"
			}
			fmt.Fprintf(&b, "| %s | %s | %.2f | %s | %s | %.0f MB (%.0f) | %s | %.2f | %.2f | %.2f |\n",
				res.Path, thousands(res.RPS), res.Ratio, millis(res.P50ms), millis(res.P99ms), mb(res.PeakRSS), mb(res.StartRSS),
				errs, res.ServerCPU, res.LoadCPU, res.OtherCPU)
			for _, n := range res.Notes {
				notes = append(notes, fmt.Sprintf("%s: %s.", res.Path, n))
			}
			for _, f := range topFailures(res.Failures, 3) {
				notes = append(notes, fmt.Sprintf("**%s failed**: %s.", res.Path, f))
			}
		}
		if len(t.Bare) > 1 {
			var each []string
			for _, res := range t.Results {
				each = append(each, fmt.Sprintf("%s with %s", thousands(res.BareRPS), res.Path))
			}
			notes = append(notes, fmt.Sprintf("The bare handler's row is the mean of its %d runs: %s.", len(t.Bare), strings.Join(each, ", ")))
		}
		if before, after := t.result("account_before_fill"), t.result("account"); before != nil && after != nil && before.RPS > 0 && before.P50ms > 0 {
			notes = append(notes, fmt.Sprintf("With %s tokens in the database, GET /account did %.2f× the req/s of the same database before the fill (same run; × bare %.2f before, %.2f after), p50 %+.0f %%, p99 %+.0f %%.",
				thousands(float64(t.Tokens)), after.RPS/before.RPS, before.Ratio, after.Ratio, 100*(after.P50ms/before.P50ms-1), 100*(after.P99ms/before.P99ms-1)))
		}
		if len(notes) > 0 {
			b.WriteString("\n")
			for _, n := range notes {
				fmt.Fprintf(&b, "- %s\n", n)
			}
		}
	}
	if r.errors() > 0 {
		b.WriteString("\n**This run had errors: its figures are not to be trusted.**\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// bareSummary is one row for the bare handler's runs: the means of their
// figures, the highest peak RSS and every error.
func (t *table) bareSummary() *result {
	if len(t.Bare) == 0 {
		return nil
	}
	if len(t.Bare) == 1 {
		return t.Bare[0]
	}
	s := &result{Key: "bare", Path: t.Bare[0].Path, Ratio: 1, StartRSS: t.Bare[0].StartRSS, Failures: map[string]int{}}
	n := float64(len(t.Bare))
	for _, r := range t.Bare {
		s.Requests += r.Requests
		s.Seconds += r.Seconds
		s.RPS += r.RPS / n
		s.P50ms += r.P50ms / n
		s.P99ms += r.P99ms / n
		s.MaxMs = max(s.MaxMs, r.MaxMs)
		s.PeakRSS = max(s.PeakRSS, r.PeakRSS)
		s.ServerCPU += r.ServerCPU / n
		s.LoadCPU += r.LoadCPU / n
		s.OtherCPU += r.OtherCPU / n
		s.MachineBusy += r.MachineBusy / n
		s.MachineSteal += r.MachineSteal / n
		s.Errors += r.Errors
		s.WarmupErrors += r.WarmupErrors
		for m, c := range r.Failures {
			s.Failures[m] += c
		}
	}
	s.BareRPS = s.RPS
	return s
}

// result is the result of the path with key, or nil.
func (t *table) result(key string) *result {
	for _, r := range t.Results {
		if r.Key == key {
			return r
		}
	}
	return nil
}

func (r *report) errors() int {
	n := 0
	for _, t := range r.Tables {
		for _, res := range append(t.Bare, t.Results...) {
			n += res.Errors + res.WarmupErrors
		}
	}
	return n
}

// summary is a progress line.
func (r *result) summary() string {
	s := fmt.Sprintf("%-40s %9s req/s  p50 %s  p99 %s  peak RSS %.1f MB  CPU: server %.2f, load %.2f, other %.2f",
		r.Path, thousands(r.RPS), millis(r.P50ms), millis(r.P99ms), mb(r.PeakRSS), r.ServerCPU, r.LoadCPU, r.OtherCPU)
	if n := r.Errors + r.WarmupErrors; n > 0 {
		s += fmt.Sprintf("  %d ERRORS: %s", n, strings.Join(topFailures(r.Failures, 3), "; "))
	}
	return s
}

// topFailures are the commonest failures, with their counts.
func topFailures(f map[string]int, n int) []string {
	msgs := slices.SortedFunc(maps.Keys(f), func(a, b string) int { return cmp.Or(f[b]-f[a], strings.Compare(a, b)) })
	var out []string
	for _, m := range msgs[:min(n, len(msgs))] {
		out = append(out, fmt.Sprintf("%d × %s", f[m], m))
	}
	return out
}

// thousands renders a count with separators: 48,212.
func thousands(v float64) string {
	s := fmt.Sprintf("%.0f", v)
	for i := len(s) - 3; i > 0 && s[i-1] != '-'; i -= 3 {
		s = s[:i] + "," + s[i:]
	}
	return s
}

// millis renders milliseconds with three significant figures.
func millis(v float64) string {
	switch {
	case v < 1:
		return fmt.Sprintf("%.3f ms", v)
	case v < 10:
		return fmt.Sprintf("%.2f ms", v)
	case v < 100:
		return fmt.Sprintf("%.1f ms", v)
	}
	return fmt.Sprintf("%.0f ms", v)
}

func mb(n int64) float64 { return float64(n) / (1 << 20) }

func seconds(s float64) string {
	if s < 10 {
		return fmt.Sprintf("%.1f s", s)
	}
	return fmt.Sprintf("%.0f s", s)
}
