package cli

import (
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	netmail "net/mail"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/keyhole/keyhole/internal/mail"
	"github.com/keyhole/keyhole/internal/secret"
)

// mailer is where the server's mail goes: the SMTP server of --smtp-url,
// or else the outbox folder in the data folder.
func (c *Config) mailer() mail.Sender {
	if c.SMTPURL != "" {
		if s, err := mail.ParseSMTPURL(c.SMTPURL, c.MailFrom); err == nil {
			return s
		}
	}
	return &mail.Outbox{Dir: filepath.Join(c.DataDir, "outbox"), From: c.MailFrom}
}

// Config is the server's configuration: flags, then KEYHOLE_* variables,
// then defaults.
type Config struct {
	Addr     string // listen address
	DataDir  string // where the SQLite database and the server key live
	Database string // postgres:// URL; empty means SQLite in DataDir
	Issuer   string // public base URL
	LogJSON  bool   // JSON logs instead of text
	Signup   bool   // whether /signup takes new accounts
	// SecretKey is the server key, base64 of 32 bytes, from
	// KEYHOLE_SECRET_KEY or the file --secret-key-file names. Empty on
	// SQLite means the key generated into DataDir; PostgreSQL, shared by
	// replicas, needs it set.
	SecretKey string
	// RateLimit is how many Platform API calls an account may make per
	// hour.
	RateLimit int
	// CacheSize is how many values the in-process cache holds; 0 turns
	// it off.
	CacheSize int
	// RedisURL, when set, is where rate limits and throttles are kept.
	RedisURL string
	// MetricsAddr, when set, serves the metrics there rather than at
	// /metrics.
	MetricsAddr string
	// TLSCert and TLSKey serve https.
	TLSCert, TLSKey string
	// BehindProxy trusts X-Forwarded-For.
	BehindProxy bool
	// HSTSIncludeSubdomains extends HSTS to every subdomain of the
	// issuer's host.
	HSTSIncludeSubdomains bool
	// Drain is how long readiness answers 503 before the listener closes
	// at shutdown; ShutdownTimeout bounds the requests in flight after.
	Drain, ShutdownTimeout time.Duration
	// SMTPURL, smtp://user:pass@host:port, relays mail; empty writes it
	// to DataDir/outbox. MailFrom is the sender address.
	SMTPURL, MailFrom string
	// MemoryLimit is the Go runtime's soft memory limit (--memory-limit),
	// in bytes: MemoryLimitAuto (the default), MemoryLimitOff, or a size.
	MemoryLimit int64

	// memoryLimitSet says whether --memory-limit or KEYHOLE_MEMORY_LIMIT
	// named the limit; without them a GOMEMLIMIT of the environment wins.
	memoryLimitSet bool

	// problems are settings that could not be read, reported by validate
	// with the rest.
	problems []string
}

// storeFlags registers the flags that choose the database and the server
// key, shared by serve and the admin commands.
func (c *Config) storeFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "KEYHOLE_DATA_DIR", "./keyhole-data"), "folder for the embedded database and the server key (env KEYHOLE_DATA_DIR)")
	db := getenv("KEYHOLE_DATABASE")
	if db == "" {
		db = getenv("DATABASE_URL")
	}
	fs.StringVar(&c.Database, "database", db, "PostgreSQL URL postgres://…; empty uses SQLite in --data-dir (env KEYHOLE_DATABASE or DATABASE_URL)")
	c.SecretKey = getenv("KEYHOLE_SECRET_KEY")
	fs.Func("secret-key-file", "`path` of a file holding the server key, base64 of 32 bytes (env KEYHOLE_SECRET_KEY_FILE;\nKEYHOLE_SECRET_KEY holds the key itself). Required with --database: every replica needs\nthe same key; make one with 'keyhole admin:generate-key'. Without it, SQLite keeps a key\ngenerated in --data-dir", func(path string) error {
		b, err := os.ReadFile(path)
		if err != nil {
			return fmt.Errorf("read the secret key file: %w", err)
		}
		c.SecretKey = strings.TrimSpace(string(b))
		return nil
	})
	fs.StringVar(&c.SMTPURL, "smtp-url", getenv("KEYHOLE_SMTP_URL"), "mail server smtp://user:password@host:port (STARTTLS when offered) or smtps://…;\nempty writes mail as .eml files to <data-dir>/outbox (env KEYHOLE_SMTP_URL)")
	fs.StringVar(&c.MailFrom, "mail-from", envOr(getenv, "KEYHOLE_MAIL_FROM", "Keyhole <keyhole@localhost>"), "sender address of Keyhole's mail (env KEYHOLE_MAIL_FROM)")
	if f := getenv("KEYHOLE_SECRET_KEY_FILE"); f != "" {
		if err := fs.Set("secret-key-file", f); err != nil {
			c.problems = append(c.problems, "KEYHOLE_SECRET_KEY_FILE: "+err.Error())
		}
	}
}

// boolFlag registers a boolean setting whose default comes from the
// environment variable env: the usual spellings of true and false, and
// nothing else, are accepted in both places.
func (c *Config) boolFlag(fs *flag.FlagSet, p *bool, name string, def bool, getenv func(string) string, env, usage string) {
	*p = def
	if v := getenv(env); v != "" {
		b, ok := parseBool(v)
		if !ok {
			c.problems = append(c.problems, fmt.Sprintf("%s=%q must be true or false (or 1/0, yes/no, on/off)", env, v))
		}
		*p = b
	}
	fs.Var(boolValue{p}, name, usage+" (env "+env+")")
}

// durationEnv reads a duration setting from the environment variable key,
// or def; a malformed one is reported with the configuration's problems.
func durationEnv(getenv func(string) string, key string, def time.Duration, c *Config) time.Duration {
	v := getenv(key)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s=%q must be a duration such as 5s", key, v))
		return def
	}
	return d
}

func intEnv(getenv func(string) string, key string, def int, c *Config) int {
	v := getenv(key)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		c.problems = append(c.problems, fmt.Sprintf("%s=%q must be a whole number", key, v))
		return def
	}
	return n
}

// Special values of Config.MemoryLimit.
const (
	MemoryLimitAuto int64 = -1 // memoryLimitBase plus memoryPerCacheEntry per --cache-size entry
	MemoryLimitOff  int64 = 0  // no limit
)

// The automatic memory limit: what the process needs besides its cache
// (the runtime, templates, the password dictionaries, two password hashes
// of 19 MiB in flight and the requests of a busy minute take some 70 MB
// under the benchmark's load), and what each entry of a full cache holds
// (2.6 KB measured for an access token with its authorization and
// invalidation tags). A limit under the live heap would have the collector
// run without pause, so the default follows --cache-size.
const (
	memoryLimitBase     = 96 << 20
	memoryPerCacheEntry = 3 << 10
	minMemoryLimit      = 64 << 20
)

// setMemoryLimit reads --memory-limit: auto, off (or 0), or a size in the
// units GOMEMLIMIT takes (B, KiB, MiB, GiB, TiB).
func (c *Config) setMemoryLimit(s string) error {
	v := strings.TrimSpace(s)
	switch strings.ToLower(v) {
	case "auto":
		c.MemoryLimit, c.memoryLimitSet = MemoryLimitAuto, true
		return nil
	case "off", "0":
		c.MemoryLimit, c.memoryLimitSet = MemoryLimitOff, true
		return nil
	}
	n, ok := parseSize(v)
	if !ok {
		return fmt.Errorf("%q must be a size such as 256MiB (units B, KiB, MiB, GiB, TiB, as GOMEMLIMIT), auto or off", s)
	}
	if n < minMemoryLimit {
		return fmt.Errorf("%q is under 64MiB: two password hashes alone take 38 MiB, and the collector would never pause", s)
	}
	c.MemoryLimit, c.memoryLimitSet = n, true
	return nil
}

// parseSize reads a whole number of bytes with an optional unit, B, KiB,
// MiB, GiB or TiB (GOMEMLIMIT's).
func parseSize(s string) (int64, bool) {
	num := strings.TrimRightFunc(s, func(r rune) bool { return r < '0' || r > '9' })
	shift := map[string]uint{"": 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}
	sh, ok := shift[s[len(num):]]
	n, err := strconv.ParseInt(num, 10, 64)
	if !ok || err != nil || n < 0 || n > (1<<62)>>sh {
		return 0, false
	}
	return n << sh, true
}

// memoryLimit is the soft memory limit serve sets, in bytes (math.MaxInt64
// for none), and where it comes from; ok false leaves the runtime's own,
// which GOMEMLIMIT set.
func (c *Config) memoryLimit(getenv func(string) string) (limit int64, from string, ok bool) {
	if !c.memoryLimitSet && getenv("GOMEMLIMIT") != "" {
		return 0, "GOMEMLIMIT", false
	}
	switch c.MemoryLimit {
	case MemoryLimitOff:
		return math.MaxInt64, "off", true
	case MemoryLimitAuto:
		return memoryLimitBase + int64(max(c.CacheSize, 0))*memoryPerCacheEntry, "auto", true
	}
	return c.MemoryLimit, "--memory-limit", true
}

// setRateLimit reads a rate limit written N or N/hour.
func (c *Config) setRateLimit(s string) error {
	n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(s), "/hour"))
	if err != nil || n <= 0 {
		return fmt.Errorf("%q must be a positive number of calls per hour, like 4500/hour", s)
	}
	c.RateLimit = n
	return nil
}

// parseBool reads the usual spellings of a boolean, in any case.
func parseBool(s string) (v, ok bool) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "1", "t", "true", "y", "yes", "on":
		return true, true
	case "0", "f", "false", "n", "no", "off":
		return false, true
	}
	return false, false
}

// boolValue is a flag.Value for a boolean flag that accepts parseBool's
// spellings: --signup, --signup=no.
type boolValue struct{ p *bool }

func (b boolValue) String() string {
	if b.p == nil {
		return "false"
	}
	return strconv.FormatBool(*b.p)
}

func (b boolValue) Set(s string) error {
	v, ok := parseBool(s)
	if !ok {
		return fmt.Errorf("%q is not true or false", s)
	}
	*b.p = v
	return nil
}

func (b boolValue) IsBoolFlag() bool { return true }

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// parse parses args into fs, turning flag errors into usage errors.
func parse(fs *flag.FlagSet, args []string, stderr io.Writer) error {
	fs.SetOutput(stderr)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return err
		}
		return &usageError{msg: err.Error()}
	}
	if fs.NArg() > 0 {
		return &usageError{msg: fmt.Sprintf("unexpected arguments: %s", strings.Join(fs.Args(), " "))}
	}
	return nil
}

// validate returns every problem of c at once, or nil.
func (c *Config) validate(serving bool) error {
	problems := append([]string(nil), c.problems...)
	if c.Database == "" {
		if strings.TrimSpace(c.DataDir) == "" {
			problems = append(problems, "--data-dir must not be empty when no --database is given")
		}
	} else if u, err := url.Parse(c.Database); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		problems = append(problems, "--database must be a postgres:// or postgresql:// URL")
	} else if c.SecretKey == "" {
		problems = append(problems, "--database needs the server key in KEYHOLE_SECRET_KEY (or a file named by --secret-key-file): "+
			"every replica on this database must use the same key, or they cannot read each other's secrets. "+
			"Generate one with `keyhole admin:generate-key` (or `openssl rand -base64 32`) and give it to every replica")
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		problems = append(problems, "--tls-cert and --tls-key go together")
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			problems = append(problems, fmt.Sprintf("--metrics-addr %q must be host:port", c.MetricsAddr))
		}
	}
	if c.CacheSize < 0 || c.CacheSize > 100_000_000 {
		problems = append(problems, "--cache-size must be from 0 (no cache) to 100000000")
	}
	if c.Drain < 0 || c.ShutdownTimeout < 0 {
		problems = append(problems, "--drain and --shutdown-timeout must not be negative")
	}
	if c.RedisURL != "" {
		if u, err := url.Parse(c.RedisURL); err != nil || (u.Scheme != "redis" && u.Scheme != "rediss") {
			problems = append(problems, "--redis-url must be a redis:// or rediss:// URL")
		}
	}
	if c.SMTPURL != "" {
		if _, err := mail.ParseSMTPURL(c.SMTPURL, c.MailFrom); err != nil {
			problems = append(problems, "--smtp-url: "+err.Error())
		}
	}
	if _, err := netmail.ParseAddress(c.MailFrom); err != nil {
		problems = append(problems, fmt.Sprintf("--mail-from %q must be an address such as Keyhole <keyhole@example.com>", c.MailFrom))
	}
	if c.SecretKey != "" {
		if _, err := secret.DecodeKey(c.SecretKey); err != nil {
			problems = append(problems, "the server key (KEYHOLE_SECRET_KEY or --secret-key-file) must be 32 bytes in base64")
		}
	}
	if serving && c.HSTSIncludeSubdomains && !strings.HasPrefix(c.Issuer, "https://") && (c.Issuer != "" || c.TLSCert == "") {
		problems = append(problems, "--hsts-include-subdomains needs https (an https --issuer, or --tls-cert): HSTS is sent only over https")
	}
	if serving {
		host, port, err := net.SplitHostPort(c.Addr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("--addr %q must be host:port", c.Addr))
		} else if p, err := strconv.Atoi(port); err != nil || p < 0 || p > 65535 {
			problems = append(problems, fmt.Sprintf("--addr port %q must be a number from 0 to 65535", port))
		} else if host != "" && net.ParseIP(host) == nil && host != "localhost" {
			problems = append(problems, fmt.Sprintf("--addr host %q must be an IP address or localhost", host))
		}
		if c.Issuer != "" {
			u, err := url.Parse(c.Issuer)
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http"):
				problems = append(problems, "--issuer must be an absolute http(s) URL such as https://id.example.com")
			case u.RawQuery != "" || u.Fragment != "":
				problems = append(problems, "--issuer must not have a query or fragment")
			}
		}
	}
	if len(problems) > 0 {
		return &usageError{msg: "invalid configuration:\n  - " + strings.Join(problems, "\n  - ")}
	}
	return nil
}
