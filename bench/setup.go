package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// accounts is how many accounts the harness makes; authenticated requests
// go round-robin over their tokens.
const accounts = 40

// buildKeyhole builds the keyhole command of this module into dir, without
// the race detector (whose instrumentation would dominate the figures).
func buildKeyhole(ctx context.Context, dir string) (string, error) {
	bin := filepath.Join(dir, "keyhole")
	cmd := exec.CommandContext(ctx, "go", "build", "-race=false", "-o", bin, "github.com/keyhole/keyhole/cmd/keyhole")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build (run the harness inside the module, or give --keyhole): %v\n%s", err, out)
	}
	return bin, nil
}

// keyholeCmd runs the keyhole binary against one database.
type keyholeCmd struct {
	bin       string
	db        *database
	logDir    string
	rateLimit string
	// cacheSize, when not negative, is serve's --cache-size.
	cacheSize int
	// serveArgs are more flags for serve.
	serveArgs []string
	starts    int
}

// serve starts `keyhole serve` on a loopback port the kernel picks, with a
// rate limit that does not get in the way, and returns once /readyz (the
// database answers) says 200.
func (k *keyholeCmd) serve(ctx context.Context) (*process, error) {
	k.starts++
	args := append([]string{"serve", "--addr", "127.0.0.1:0", "--rate-limit", k.rateLimit}, k.db.args...)
	if k.cacheSize >= 0 {
		args = append(args, "--cache-size", fmt.Sprint(k.cacheSize))
	}
	args = append(args, k.serveArgs...)
	cmd := exec.Command(k.bin, args...)
	cmd.Env = k.db.env
	log := filepath.Join(k.logDir, fmt.Sprintf("keyhole-%s-%d.log", strings.ToLower(k.db.name), k.starts))
	return startProcess(ctx, "keyhole serve", cmd, log, "/readyz")
}

// createAccount runs `keyhole admin:create-account`, the password on
// standard input.
func (k *keyholeCmd) createAccount(ctx context.Context, email, password string) error {
	args := append([]string{"admin:create-account", "--email", email, "--name", "Bench " + email}, k.db.args...)
	cmd := exec.CommandContext(ctx, k.bin, args...)
	cmd.Env, cmd.Stdin = k.db.env, strings.NewReader(password+"\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("admin:create-account %s: %v: %s", email, err, bytes.TrimSpace(out))
	}
	return nil
}

// fixture is what the set-up made through Keyhole's own interfaces, shared
// by every path of one table.
type fixture struct {
	emails []string
	// tokens are the accounts' global tokens (CLI logins), one each.
	tokens []string
	// clientID and clientSecret are a confidential client owned by the
	// first account.
	clientID, clientSecret string
	// introspect are live access tokens issued to that client, one per
	// account, through the authorization-code grant.
	introspect []string
	// fillerID is a second client whose client-credentials authorization
	// --tokens fills; "" without --tokens.
	fillerID string
	// accountBody is the size of GET /account's answer, which the bare
	// handler's body matches.
	accountBody int
}

// setUp makes the accounts with the admin command, then, with a server
// running, logs each in (Basic email:password on POST /oauth/authorizations,
// two at a time: the server hashes two passwords at once), registers the
// clients and has the first one granted a token by every account.
func setUp(ctx context.Context, k *keyholeCmd, filler bool) (*fixture, error) {
	fx := &fixture{}
	password := "bench " + rand.Text()
	for i := range accounts {
		fx.emails = append(fx.emails, fmt.Sprintf("bench%d@example.com", i+1))
	}
	// The first alone: on SQLite it writes the server key into the data
	// folder, which the others then read.
	if err := k.createAccount(ctx, fx.emails[0], password); err != nil {
		return nil, err
	}
	if err := parallel(2, accounts-1, func(i int) error { return k.createAccount(ctx, fx.emails[i+1], password) }); err != nil {
		return nil, err
	}
	srv, err := k.serve(ctx)
	if err != nil {
		return nil, err
	}
	defer srv.stop()
	c := newAPIClient(srv.base)
	defer c.hc.CloseIdleConnections()
	fx.tokens = make([]string, accounts)
	err = parallel(2, accounts, func(i int) error {
		var a authorization
		basic := "Basic " + basicAuth(fx.emails[i], password)
		if err := c.json(ctx, "POST", "/oauth/authorizations", basic, map[string]any{"description": "bench login", "scope": []string{"global"}}, http.StatusCreated, &a); err != nil {
			return fmt.Errorf("log in %s: %w", fx.emails[i], err)
		}
		if a.AccessToken == nil || a.AccessToken.Token == "" {
			return fmt.Errorf("log in %s: no access token in the answer", fx.emails[i])
		}
		fx.tokens[i] = a.AccessToken.Token
		return nil
	})
	if err != nil {
		return nil, err
	}
	owner := "Bearer " + fx.tokens[0]
	var cl struct{ ID, Secret string }
	if err := c.json(ctx, "POST", "/oauth/clients", owner, map[string]any{"name": "bench", "redirect_uri": "https://bench.example.com/callback"}, http.StatusCreated, &cl); err != nil {
		return nil, fmt.Errorf("create the client: %w", err)
	}
	fx.clientID, fx.clientSecret = cl.ID, cl.Secret
	if filler {
		if err := c.json(ctx, "POST", "/oauth/clients", owner, map[string]any{"name": "bench filler", "redirect_uri": "https://filler.example.com/callback"}, http.StatusCreated, &cl); err != nil {
			return nil, fmt.Errorf("create the filler client: %w", err)
		}
		fx.fillerID = cl.ID
	}
	fx.introspect = make([]string, accounts)
	err = parallel(4, accounts, func(i int) error {
		code, err := c.grantCode(ctx, fx.tokens[i], fx.clientID)
		if err != nil {
			return err
		}
		t, err := c.exchange(ctx, fx, code)
		fx.introspect[i] = t.AccessToken
		return err
	})
	if err != nil {
		return nil, err
	}
	body, err := c.raw(ctx, "GET", "/account", "Bearer "+fx.tokens[0], http.StatusOK)
	if err != nil {
		return nil, fmt.Errorf("GET /account: %w", err)
	}
	fx.accountBody = len(body)
	return fx, srv.stop()
}

// apiClient calls Keyhole for set-up (not for the timed runs).
type apiClient struct {
	base string
	hc   *http.Client
}

func newAPIClient(base string) *apiClient {
	return &apiClient{base: base, hc: &http.Client{
		Timeout:   30 * time.Second,
		Transport: &http.Transport{MaxIdleConnsPerHost: 16, DisableCompression: true},
	}}
}

type authorization struct {
	AccessToken *struct {
		Token string `json:"token"`
	} `json:"access_token"`
	Grant *struct {
		Code string `json:"code"`
	} `json:"grant"`
}

type tokenAnswer struct {
	AccessToken  string `json:"access_token"`
	RefreshToken string `json:"refresh_token"`
}

// json sends a Platform API request with a JSON body and decodes the
// answer into out, which must have the status want.
func (c *apiClient) json(ctx context.Context, method, path, auth string, in any, want int, out any) error {
	b, err := json.Marshal(in)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, bytes.NewReader(b))
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	req.Header.Set("Content-Type", "application/json")
	return c.do(req, want, out)
}

// raw sends a request without a body and returns the answer's body.
func (c *apiClient) raw(ctx context.Context, method, path, auth string, want int) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Authorization", auth)
	req.Header.Set("Accept", "application/vnd.heroku+json; version=3")
	var body json.RawMessage
	err = c.do(req, want, &body)
	return body, err
}

// form posts an OAuth form, the client authenticated by HTTP Basic.
func (c *apiClient) form(ctx context.Context, path string, fx *fixture, v url.Values, out any) error {
	req, err := http.NewRequestWithContext(ctx, "POST", c.base+path, strings.NewReader(v.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(url.QueryEscape(fx.clientID), url.QueryEscape(fx.clientSecret))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req, http.StatusOK, out)
}

// do sends req and decodes the answer into out, which must have the
// status want. A 429 or 503 with Retry-After (a throttle, or the password
// hashing slots busy) is waited out and sent again, up to five times, as a
// well-behaved client would: set-up is not what is measured. The timed
// runs count such answers as errors.
func (c *apiClient) do(req *http.Request, want int, out any) error {
	for try := 1; ; try++ {
		resp, err := c.hc.Do(req)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if err != nil {
			return err
		}
		wait, _ := strconv.Atoi(resp.Header.Get("Retry-After"))
		if (resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable) &&
			wait > 0 && wait <= 60 && try < 5 && (req.Body == nil || req.GetBody != nil) {
			select {
			case <-time.After(time.Duration(wait) * time.Second):
			case <-req.Context().Done():
				return req.Context().Err()
			}
			if req.GetBody != nil {
				if req.Body, err = req.GetBody(); err != nil {
					return err
				}
			}
			continue
		}
		if resp.StatusCode != want {
			return fmt.Errorf("%s %s: status %d, want %d: %s", req.Method, req.URL.Path, resp.StatusCode, want, clip(b, 200))
		}
		if raw, ok := out.(*json.RawMessage); ok {
			*raw = b
			return nil
		}
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: %w", req.Method, req.URL.Path, err)
		}
		return nil
	}
}

// grantCode has the account of token consent to the client through the
// Platform API and returns the grant code it answers.
func (c *apiClient) grantCode(ctx context.Context, token, clientID string) (string, error) {
	var a authorization
	if err := c.json(ctx, "POST", "/oauth/authorizations", "Bearer "+token, map[string]any{"client": clientID, "description": "bench grant"}, http.StatusCreated, &a); err != nil {
		return "", fmt.Errorf("grant code: %w", err)
	}
	if a.Grant == nil || a.Grant.Code == "" {
		return "", errors.New("grant code: no grant in the answer")
	}
	return a.Grant.Code, nil
}

// exchange redeems a grant code for the fixture's client.
func (c *apiClient) exchange(ctx context.Context, fx *fixture, code string) (tokenAnswer, error) {
	var t tokenAnswer
	err := c.form(ctx, "/oauth/token", fx, url.Values{"grant_type": {"authorization_code"}, "code": {code}}, &t)
	if err == nil && (t.AccessToken == "" || t.RefreshToken == "") {
		err = errors.New("the token answer lacks a token")
	}
	if err != nil {
		return t, fmt.Errorf("redeem a grant code: %w", err)
	}
	return t, nil
}

// makeCodes has the accounts (round-robin) consent to the fixture's client
// n times, over 8 connections, and returns the grant codes.
func (c *apiClient) makeCodes(ctx context.Context, fx *fixture, n int) ([]string, error) {
	codes := make([]string, n)
	err := parallel(8, n, func(i int) error {
		code, err := c.grantCode(ctx, fx.tokens[i%len(fx.tokens)], fx.clientID)
		codes[i] = code
		return err
	})
	return codes, err
}

// parallel calls f(0) … f(n-1), at most width at a time, and returns the
// first error; after one, calls not yet started are skipped.
func parallel(width, n int, f func(i int) error) error {
	var (
		wg     sync.WaitGroup
		mu     sync.Mutex
		first  error
		next   atomic.Int64
		failed atomic.Bool
	)
	for range min(width, n) {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n && !failed.Load(); i = int(next.Add(1) - 1) {
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					failed.Store(true)
				}
			}
		})
	}
	wg.Wait()
	return first
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
