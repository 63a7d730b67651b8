// Command signin-app is the example third-party web app that lets people
// sign in with Keyhole and greets them by email: Heroku's Go OAuth tutorial
// app done right, on package bouncer. It signs people in with OpenID
// Connect (go-oidc verifies the ID token), or with plain OAuth when
// KEYHOLE_SCOPES names Heroku scopes alone (identity: the app reads
// GET /account).
//
// It is configured from the environment, and from a .env file of KEY=value
// lines in the working directory (the environment wins):
//
//	KEYHOLE_OAUTH_ID      the OAuth client's id      (required)
//	KEYHOLE_OAUTH_SECRET  the OAuth client's secret  (required)
//	COOKIE_SECRET         signs the session cookie: 32 characters or more (required)
//	COOKIE_ENCRYPT        encrypts it: exactly 16, 24 or 32 characters (required)
//	KEYHOLE_URL           Keyhole's URL (default http://127.0.0.1:5000)
//	PORT                  the port to listen on (default 8080)
//	APP_URL               where people reach the app (default http://127.0.0.1:$PORT);
//	                      APP_URL/auth/callback is the client's redirect URI
//	KEYHOLE_SCOPES        the scopes asked for, separated by spaces (default
//	                      "openid email profile"; "identity" for plain OAuth)
//	POST_LOGOUT_URL       where Keyhole sends the browser once signed out
//	                      (default APP_URL/, with openid); it must be registered
//	                      on the client (--post-logout-redirect-uri)
//
// `keyhole clients:create "Example" http://127.0.0.1:8080/auth/callback
// --post-logout-redirect-uri http://127.0.0.1:8080/ --shell > .env` writes
// the first two; `openssl rand -hex 32` and `openssl rand -hex 16` make the
// cookie keys.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/joho/godotenv"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "signin-app: %v\n", err)
		var ce *configError
		if errors.As(err, &ce) {
			os.Exit(2)
		}
		os.Exit(1)
	}
}

// run reads the configuration, serves the app until ctx ends, then shuts
// it down gracefully.
func run(ctx context.Context, args []string, getenv func(string) string, stdout, stderr io.Writer) error {
	flags := flag.NewFlagSet("signin-app", flag.ContinueOnError)
	flags.SetOutput(stderr)
	envFile := flags.String("env", ".env", "a file of KEY=value lines to read settings from; the environment wins")
	if err := flags.Parse(args); err != nil {
		return &configError{err.Error()}
	}
	envSet := false
	flags.Visit(func(f *flag.Flag) { envSet = envSet || f.Name == "env" })
	getenv, err := withDotEnv(getenv, *envFile, envSet)
	if err != nil {
		return err
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return err
	}
	log := slog.New(slog.NewTextHandler(stderr, nil))
	h, err := newApp(cfg, log)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.listenAddr())
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second, ErrorLog: slog.NewLogLogger(log.Handler(), slog.LevelWarn)}
	fmt.Fprintf(stdout, "Example app at %s, signing people in with Keyhole at %s\n", cfg.AppURL, cfg.KeyholeURL)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return srv.Shutdown(shutdown)
}

// config is the app's settings.
type config struct {
	ClientID, ClientSecret      string
	CookieSecret, CookieEncrypt []byte
	KeyholeURL                  string
	Port                        string
	AppURL                      string
	// Scopes are KEYHOLE_SCOPES; openid makes the sign-in OpenID Connect.
	Scopes []string
	// PostLogoutURL is POST_LOGOUT_URL, "" on plain OAuth.
	PostLogoutURL string
}

// openID reports whether the app signs people in with OpenID Connect.
func (c config) openID() bool { return slices.Contains(c.Scopes, "openid") }

// configError is a configuration the app cannot start with (exit status 2).
type configError struct{ msg string }

func (e *configError) Error() string { return e.msg }

// loadConfig reads the settings and reports every problem in one message.
func loadConfig(getenv func(string) string) (config, error) {
	env := func(k string) string { return strings.TrimSpace(getenv(k)) }
	cfg := config{
		ClientID: env("KEYHOLE_OAUTH_ID"), ClientSecret: env("KEYHOLE_OAUTH_SECRET"),
		CookieSecret: []byte(env("COOKIE_SECRET")), CookieEncrypt: []byte(env("COOKIE_ENCRYPT")),
		KeyholeURL: strings.TrimRight(env("KEYHOLE_URL"), "/"), Port: env("PORT"), AppURL: strings.TrimRight(env("APP_URL"), "/"),
		Scopes: strings.Fields(env("KEYHOLE_SCOPES")), PostLogoutURL: env("POST_LOGOUT_URL"),
	}
	var missing, problems []string
	for _, v := range []struct{ name, value string }{
		{"KEYHOLE_OAUTH_ID", cfg.ClientID}, {"KEYHOLE_OAUTH_SECRET", cfg.ClientSecret},
		{"COOKIE_SECRET", string(cfg.CookieSecret)}, {"COOKIE_ENCRYPT", string(cfg.CookieEncrypt)},
	} {
		if v.value == "" {
			missing = append(missing, v.name)
		}
	}
	if n := len(cfg.CookieSecret); n > 0 && n < 32 {
		problems = append(problems, fmt.Sprintf("COOKIE_SECRET has %d characters, needs 32 or more (openssl rand -hex 32 makes one)", n))
	}
	if n := len(cfg.CookieEncrypt); n > 0 && n != 16 && n != 24 && n != 32 {
		problems = append(problems, fmt.Sprintf("COOKIE_ENCRYPT has %d characters, needs exactly 16, 24 or 32 (openssl rand -hex 16 makes one)", n))
	}
	//secretcmp:ok the application's own configuration, checked once at start
	if len(cfg.CookieSecret) > 0 && string(cfg.CookieSecret) == string(cfg.CookieEncrypt) {
		problems = append(problems, "COOKIE_SECRET and COOKIE_ENCRYPT must differ")
	}
	if cfg.KeyholeURL == "" {
		cfg.KeyholeURL = "http://127.0.0.1:5000"
	} else if u, err := url.Parse(cfg.KeyholeURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		problems = append(problems, fmt.Sprintf("KEYHOLE_URL %q is not an http(s) URL", cfg.KeyholeURL))
	}
	if cfg.Port == "" {
		cfg.Port = "8080"
	} else if p, err := strconv.Atoi(cfg.Port); err != nil || p < 1 || p > 65535 {
		problems = append(problems, fmt.Sprintf("PORT %q is not a port number", cfg.Port))
	}
	if cfg.AppURL == "" {
		cfg.AppURL = "http://127.0.0.1:" + cfg.Port
	} else if u, err := url.Parse(cfg.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
		problems = append(problems, fmt.Sprintf("APP_URL %q is not an http(s) URL without a path", cfg.AppURL))
	}
	if len(cfg.Scopes) == 0 {
		cfg.Scopes = []string{"openid", "email", "profile"}
	}
	switch {
	case !cfg.openID() && cfg.PostLogoutURL != "":
		problems = append(problems, "POST_LOGOUT_URL needs openid in KEYHOLE_SCOPES: a plain OAuth sign-out does not sign out of Keyhole")
	case !cfg.openID():
	case cfg.PostLogoutURL == "":
		cfg.PostLogoutURL = cfg.AppURL + "/"
	default:
		if u, err := url.Parse(cfg.PostLogoutURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			problems = append(problems, fmt.Sprintf("POST_LOGOUT_URL %q is not an http(s) URL", cfg.PostLogoutURL))
		}
	}
	if len(missing) > 0 {
		them := "them"
		if len(missing) == 1 {
			them = "it"
		}
		msg := "missing " + joinNames(missing) + ". Set " + them + " in the environment or in .env:"
		if cfg.ClientID == "" || cfg.ClientSecret == "" {
			msg += "\n  keyhole clients:create \"Example\" " + cfg.AppURL + "/auth/callback"
			if cfg.PostLogoutURL != "" {
				msg += " --post-logout-redirect-uri " + cfg.PostLogoutURL
			}
			msg += " --shell >> .env"
		}
		if len(cfg.CookieSecret) == 0 {
			msg += "\n  echo COOKIE_SECRET=$(openssl rand -hex 32) >> .env"
		}
		if len(cfg.CookieEncrypt) == 0 {
			msg += "\n  echo COOKIE_ENCRYPT=$(openssl rand -hex 16) >> .env"
		}
		problems = append([]string{msg}, problems...)
	}
	if len(problems) > 0 {
		return cfg, &configError{strings.Join(problems, "\n")}
	}
	return cfg, nil
}

// joinNames writes a, b and c.
func joinNames(names []string) string {
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// listenAddr is loopback when people reach the app on this machine, every
// interface otherwise.
func (c config) listenAddr() string {
	u, _ := url.Parse(c.AppURL)
	switch h := u.Hostname(); h {
	case "127.0.0.1", "localhost", "::1":
		return net.JoinHostPort(h, c.Port)
	}
	return ":" + c.Port
}

// withDotEnv returns getenv falling back to the settings in file. A missing
// file is fine unless it was named on the command line.
func withDotEnv(getenv func(string) string, file string, named bool) (func(string) string, error) {
	vars, err := godotenv.Read(file)
	if errors.Is(err, fs.ErrNotExist) && !named {
		return getenv, nil
	}
	if err != nil {
		return nil, &configError{fmt.Sprintf("read %s: %v", file, err)}
	}
	return func(k string) string {
		if v := getenv(k); v != "" {
			return v
		}
		return vars[k]
	}, nil
}
