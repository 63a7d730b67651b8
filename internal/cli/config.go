package cli

import (
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// Config is the server's configuration: flags, then KEYHOLE_* variables,
// then defaults.
type Config struct {
	Addr     string // listen address
	DataDir  string // where the SQLite database and the server key live
	Database string // postgres:// URL; empty means SQLite in DataDir
	Issuer   string // public base URL
	LogJSON  bool   // JSON logs instead of text
	Signup   bool   // whether /signup takes new accounts
}

// storeFlags registers the flags that choose the database, shared by serve
// and the admin commands.
func (c *Config) storeFlags(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.DataDir, "data-dir", envOr(getenv, "KEYHOLE_DATA_DIR", "./keyhole-data"), "folder for the embedded database and the server key (env KEYHOLE_DATA_DIR)")
	db := getenv("KEYHOLE_DATABASE")
	if db == "" {
		db = getenv("DATABASE_URL")
	}
	fs.StringVar(&c.Database, "database", db, "PostgreSQL URL postgres://…; empty uses SQLite in --data-dir (env KEYHOLE_DATABASE or DATABASE_URL)")
}

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
	var problems []string
	if c.Database == "" {
		if strings.TrimSpace(c.DataDir) == "" {
			problems = append(problems, "--data-dir must not be empty when no --database is given")
		}
	} else if u, err := url.Parse(c.Database); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		problems = append(problems, "--database must be a postgres:// or postgresql:// URL")
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
