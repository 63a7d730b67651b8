package cli

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/keyhole/keyhole/keyholeapi"
)

// remote is where the CLI's Keyhole is and how to reach it.
type remote struct {
	env   Env
	url   string // KEYHOLE_API_URL
	host  string // its host[:port]: the netrc machine
	netrc netrcFile
}

func newRemote(env Env) (*remote, error) {
	raw := env.Getenv("KEYHOLE_API_URL")
	if raw == "" {
		raw = keyholeapi.DefaultURL
	}
	u, err := url.Parse(strings.TrimRight(raw, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, usagef("KEYHOLE_API_URL=%q must be the server's http(s) URL, such as https://id.example.com", raw)
	}
	nf, err := newNetrc(env.Getenv)
	if err != nil {
		return nil, err
	}
	return &remote{env: env, url: u.String(), host: u.Host, netrc: nf}, nil
}

var errNotLoggedIn = errors.New("not logged in: run 'keyhole login', or set KEYHOLE_API_KEY")

// token is the CLI's credential: KEYHOLE_API_KEY, else the netrc entry of
// the server's host.
func (r *remote) token() (string, error) {
	if k := r.env.Getenv("KEYHOLE_API_KEY"); k != "" {
		return strings.TrimSpace(k), nil
	}
	_, password, ok, err := r.netrc.lookup(r.host)
	if err != nil {
		return "", err
	}
	if !ok {
		return "", errNotLoggedIn
	}
	return password, nil
}

// client returns a Platform API client with the CLI's credential.
func (r *remote) client() (*keyholeapi.Client, error) {
	tok, err := r.token()
	if err != nil {
		return nil, err
	}
	return r.clientWith(tok)
}

// clientWith returns a Platform API client with tok ("" for none).
func (r *remote) clientWith(tok string) (*keyholeapi.Client, error) {
	return keyholeapi.New(r.url, keyholeapi.WithToken(tok),
		keyholeapi.WithUserAgent("keyhole-cli/"+version()),
		keyholeapi.WithHTTPClient(&http.Client{Timeout: 2 * time.Minute}))
}

// apiError makes an error of the API one clear line: the server's message,
// its error id and the request id.
func apiError(err error) error {
	var e *keyholeapi.Error
	if errors.As(err, &e) {
		return errors.New(e.Error())
	}
	return err
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "unknown host"
	}
	return h
}

// done prints a spinner line's end on standard error, as Heroku's CLI
// does: "Revoking OAuth Authorization... done".
func done(env Env, format string, args ...any) {
	fmt.Fprintf(env.Stderr, format+"\n", args...)
}
