package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// path is one thing the harness measures.
type path struct {
	key  string // its name in --paths
	name string // its name in the table
	// prepare makes what the path's requests need, through the running
	// server, and returns how each connection makes them.
	prepare func(ctx context.Context, s *session) (*plan, error)
}

// session is one path's run against one server.
type session struct {
	fx       *fixture
	api      *apiClient
	host     string
	conns    int
	duration time.Duration
	warmup   time.Duration
}

// plan is how a path's connections make their requests.
type plan struct {
	worker func(i int) worker
	// topUp, when set, runs after the warm-up and before the timed run,
	// told how the warm-up went; it returns a note for the report.
	topUp func(ctx context.Context, warm *phase) (string, error)
	// notes are for the report.
	notes []string
}

// paths are every path, in the order they run: reads first, so that the
// rows the writes add (each path's server runs on the same database) do
// not weigh on them.
var paths = []path{
	{"account", "GET /account", prepareAccount},
	{"introspect", "POST /oauth/introspect", prepareIntrospect},
	{"client_credentials", "POST /oauth/token client_credentials", prepareClientCredentials},
	{"refresh_token", "POST /oauth/token refresh_token", prepareRefresh},
	{"authorization_code", "POST /oauth/token authorization_code", prepareCode},
	{"authorizations", "POST /oauth/authorizations", prepareAuthorizations},
}

const (
	apiHeaders  = "Accept: application/vnd.heroku+json; version=3\r\n"
	formHeaders = "Content-Type: application/x-www-form-urlencoded\r\nAccept: application/json\r\n"
)

// bearerLines are the accounts' tokens as Authorization header lines.
func bearerLines(tokens []string) []string {
	out := make([]string, len(tokens))
	for i, t := range tokens {
		out[i] = "Authorization: Bearer " + t + "\r\n"
	}
	return out
}

// clientLine authenticates the fixture's client by HTTP Basic (RFC 6749
// §2.3.1: id and secret form-encoded first).
func clientLine(fx *fixture) string {
	return "Authorization: Basic " + base64.StdEncoding.EncodeToString([]byte(url.QueryEscape(fx.clientID)+":"+url.QueryEscape(fx.clientSecret))) + "\r\n"
}

// getAccount is GET /account, each request with the next account's token;
// the bare handler is measured with it too.
type getAccount struct {
	host  string
	auths []string
	next  int
}

func (w *getAccount) request(dst []byte) ([]byte, bool) {
	w.next++
	return appendRequest(dst, "GET", "/account", w.host, w.auths[w.next%len(w.auths)]+apiHeaders, nil), true
}

func (w *getAccount) answer(status int, body []byte) error {
	return wantStatus(status, http.StatusOK, body)
}

// accountWorkers start at different accounts.
func accountWorkers(host string, tokens []string) func(i int) worker {
	auths := bearerLines(tokens)
	return func(i int) worker { return &getAccount{host: host, auths: auths, next: i * 5} }
}

func prepareAccount(ctx context.Context, s *session) (*plan, error) {
	return &plan{worker: accountWorkers(s.host, s.fx.tokens)}, nil
}

// introspect is the client introspecting its own live access tokens in
// turn; every answer must say active.
type introspect struct {
	host, auth string
	bodies     [][]byte
	next       int
}

func (w *introspect) request(dst []byte) ([]byte, bool) {
	w.next++
	return appendRequest(dst, "POST", "/oauth/introspect", w.host, w.auth+formHeaders, w.bodies[w.next%len(w.bodies)]), true
}

func (w *introspect) answer(status int, body []byte) error {
	if err := wantStatus(status, http.StatusOK, body); err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(`"active":true`)) {
		return fmt.Errorf("introspection answered %s, want active", clip(body, 80))
	}
	return nil
}

func prepareIntrospect(ctx context.Context, s *session) (*plan, error) {
	var bodies [][]byte
	for _, t := range s.fx.introspect {
		bodies = append(bodies, []byte(url.Values{"token": {t}}.Encode()))
	}
	auth := clientLine(s.fx)
	return &plan{worker: func(i int) worker {
		return &introspect{host: s.host, auth: auth, bodies: bodies, next: i * 5}
	}}, nil
}

// fixedPost sends the same POST every time and wants status and a
// fragment of the body back.
type fixedPost struct {
	req    []byte
	status int
	want   []byte
}

func (w *fixedPost) request(dst []byte) ([]byte, bool) { return append(dst, w.req...), true }

func (w *fixedPost) answer(status int, body []byte) error {
	if err := wantStatus(status, w.status, body); err != nil {
		return err
	}
	if !bytes.Contains(body, w.want) {
		return fmt.Errorf("answer %s lacks %s", clip(body, 80), w.want)
	}
	return nil
}

func prepareClientCredentials(ctx context.Context, s *session) (*plan, error) {
	req := appendRequest(nil, "POST", "/oauth/token", s.host, clientLine(s.fx)+formHeaders, []byte("grant_type=client_credentials"))
	return &plan{worker: func(int) worker {
		return &fixedPost{req: req, status: http.StatusOK, want: []byte(`"access_token"`)}
	}}, nil
}

// authorizations are direct authorizations (POST /oauth/authorizations
// with a global token), each account's token in turn.
type authorizations struct {
	host  string
	auths []string
	next  int
}

var authorizationBody = []byte(`{"description":"bench","scope":["global"]}`)

func (w *authorizations) request(dst []byte) ([]byte, bool) {
	w.next++
	h := w.auths[w.next%len(w.auths)] + apiHeaders + "Content-Type: application/json\r\n"
	return appendRequest(dst, "POST", "/oauth/authorizations", w.host, h, authorizationBody), true
}

func (w *authorizations) answer(status int, body []byte) error {
	if err := wantStatus(status, http.StatusCreated, body); err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(`"token":"kha_`)) {
		return fmt.Errorf("answer %s lacks an access token", clip(body, 80))
	}
	return nil
}

func prepareAuthorizations(ctx context.Context, s *session) (*plan, error) {
	auths := bearerLines(s.fx.tokens)
	return &plan{worker: func(i int) worker { return &authorizations{host: s.host, auths: auths, next: i * 5} }}, nil
}

// refresh keeps one chain of refresh tokens per connection: each request
// presents the refresh token the previous answer returned, so that none is
// a repeat within the grace.
type refresh struct {
	host, auth string
	token      string
}

func (w *refresh) request(dst []byte) ([]byte, bool) {
	body := []byte(url.Values{"grant_type": {"refresh_token"}, "refresh_token": {w.token}}.Encode())
	return appendRequest(dst, "POST", "/oauth/token", w.host, w.auth+formHeaders, body), true
}

func (w *refresh) answer(status int, body []byte) error {
	if err := wantStatus(status, http.StatusOK, body); err != nil {
		return err
	}
	var t tokenAnswer
	if err := json.Unmarshal(body, &t); err != nil {
		return fmt.Errorf("token answer: %w", err)
	}
	//secretcmp:ok the load harness checks the server's answer to its own request
	if t.AccessToken == "" || t.RefreshToken == "" || t.RefreshToken == w.token {
		return errors.New("the refresh answer lacks a new refresh token")
	}
	w.token = t.RefreshToken
	return nil
}

func prepareRefresh(ctx context.Context, s *session) (*plan, error) {
	chains := make([]string, s.conns)
	err := parallel(4, s.conns, func(i int) error {
		code, err := s.api.grantCode(ctx, s.fx.tokens[i%len(s.fx.tokens)], s.fx.clientID)
		if err != nil {
			return err
		}
		t, err := s.api.exchange(ctx, s.fx, code)
		chains[i] = t.RefreshToken
		return err
	})
	if err != nil {
		return nil, err
	}
	auth := clientLine(s.fx)
	return &plan{worker: func(i int) worker { return &refresh{host: s.host, auth: auth, token: chains[i]} }}, nil
}

// codeSupply hands out pre-made grant codes, each once. Codes are added
// only between phases, when no worker runs.
type codeSupply struct {
	codes []string
	next  atomic.Int64
}

func (s *codeSupply) take() (string, bool) {
	i := s.next.Add(1) - 1
	if i >= int64(len(s.codes)) {
		return "", false
	}
	return s.codes[i], true
}

func (s *codeSupply) left() int { return max(len(s.codes)-int(s.next.Load()), 0) }

// redeem redeems pre-made grant codes.
type redeem struct {
	host, auth string
	supply     *codeSupply
}

func (w *redeem) request(dst []byte) ([]byte, bool) {
	code, ok := w.supply.take()
	if !ok {
		return dst, false
	}
	body := []byte(url.Values{"grant_type": {"authorization_code"}, "code": {code}}.Encode())
	return appendRequest(dst, "POST", "/oauth/token", w.host, w.auth+formHeaders, body), true
}

func (w *redeem) answer(status int, body []byte) error {
	if err := wantStatus(status, http.StatusOK, body); err != nil {
		return err
	}
	if !bytes.Contains(body, []byte(`"refresh_token"`)) {
		return fmt.Errorf("answer %s lacks a refresh token", clip(body, 80))
	}
	return nil
}

// codesFirst is how many grant codes are made per second of warm-up
// before it starts; the warm-up's pace then sets how many the timed run
// gets.
const codesFirst = 2500

// prepareCode pre-makes grant codes through the Platform API (the accounts
// consenting to the client in turn): enough for the warm-up first, then,
// from the pace the warm-up showed, twice what the timed run needs: on a
// shared machine the timed run can go faster than the warm-up did (1.3
// times ran out once). A run that runs out anyway fails with "ran out of
// pre-made grant codes".
func prepareCode(ctx context.Context, s *session) (*plan, error) {
	supply := &codeSupply{}
	began := time.Now()
	n := max(500, int(codesFirst*s.warmup.Seconds()))
	codes, err := s.api.makeCodes(ctx, s.fx, n)
	if err != nil {
		return nil, err
	}
	supply.codes = codes
	first := time.Since(began)
	auth := clientLine(s.fx)
	return &plan{
		worker: func(int) worker { return &redeem{host: s.host, auth: auth, supply: supply} },
		topUp: func(ctx context.Context, warm *phase) (string, error) {
			// A warm-up that ran out of codes is timed until its last answer.
			rate := warm.rate()
			if warm.exhausted && warm.last.After(warm.start) {
				rate = float64(warm.ok()) / warm.last.Sub(warm.start).Seconds()
			}
			need := int(math.Ceil(rate*s.duration.Seconds()*2)) + 10*s.conns
			more := max(need-supply.left(), 0)
			began := time.Now()
			codes, err := s.api.makeCodes(ctx, s.fx, more)
			if err != nil {
				return "", err
			}
			supply.codes = append(supply.codes[min(int(supply.next.Load()), len(supply.codes)):], codes...)
			supply.next.Store(0)
			return fmt.Sprintf("%d grant codes made through POST /oauth/authorizations before the warm-up (%.1f s) and %d before the timed run (%.1f s)",
				n, first.Seconds(), more, time.Since(began).Seconds()), nil
		},
	}, nil
}
