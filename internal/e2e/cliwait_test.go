package e2e

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/store"
)

// waitAnswer is what one GET /auth/cli answered.
type waitAnswer struct {
	pollAnswer
	Message    string `json:"message"`
	RetryAfter string `json:"-"`
	err        error
}

// awaitLogin is the Heroku CLI's wait, GET cli_url with the token as Bearer,
// bounded by ctx.
func awaitLogin(ctx context.Context, base, token string) waitAnswer {
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/auth/cli", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return waitAnswer{err: err}
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	a := waitAnswer{pollAnswer: pollAnswer{Status: resp.StatusCode, raw: string(b)}, RetryAfter: resp.Header.Get("Retry-After"), err: err}
	if err == nil {
		a.err = json.Unmarshal(b, &a)
	}
	return a
}

// TestCLILoginOneWaitPerToken: 20 waits at once on one pending browser
// login leave exactly one waiting: each new wait takes the place of the
// one before, which answers authorization_pending at once (they all hung
// until the login was answered or expired, ten minutes); the one left
// waiting gets the token when the person allows.
func TestCLILoginOneWaitPerToken(t *testing.T) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			ts := keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)})
			ts.CreateAccount(t, "ada@example.com", password)
			browserURL, _, token := herokuStart(t, ts.URL)

			// Generous: the replaced waits answer at once.
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			answers := make(chan waitAnswer, 20)
			var wg sync.WaitGroup
			for range 20 {
				wg.Go(func() { answers <- awaitLogin(ctx, ts.URL, token) })
			}
			for i := range 19 {
				select {
				case a := <-answers:
					if a.err != nil || a.Status != http.StatusBadRequest || a.Error != "authorization_pending" || !strings.Contains(a.Message, "took over") {
						t.Errorf("replaced wait %d answered %d %s (%v), want 400 authorization_pending", i+1, a.Status, a.raw, a.err)
					}
				case <-ctx.Done():
					t.Fatalf("%d of 20 concurrent waits on one login answered, want 19 replaced by the next", i)
				}
			}
			select {
			case a := <-answers:
				t.Fatalf("the 20th wait answered %d %s before the login was allowed", a.Status, a.raw)
			default:
			}
			approve(t, newBrowser(t), ts.URL, browserURL)
			wg.Wait()
			a := <-answers
			if a.err != nil || a.Status != http.StatusOK || !strings.HasPrefix(a.AccessToken, "kha_") {
				t.Errorf("the wait left answered %d %s (%v), want the token", a.Status, a.raw, a.err)
			}
		})
	}
}

// grantLookups is a store that tells of each device grant looked up by
// hash, so that a test knows a wait is past its first look.
type grantLookups struct {
	store.Store
	looked chan struct{}
}

func (g grantLookups) DeviceGrantByHash(ctx context.Context, hash string) (keyhole.DeviceGrant, error) {
	d, err := g.Store.DeviceGrantByHash(ctx, hash)
	select {
	case g.looked <- struct{}{}:
	default:
	}
	return d, err
}

// TestCLILoginWaitEndsAtShutdown: a wait in progress when the server shuts
// down answers 503 temporarily_unavailable with Retry-After (which the
// Heroku CLI asks again, of another replica) and lets the shutdown finish,
// instead of holding it up for as long as the login lives (ten minutes,
// well past any --shutdown-timeout); a wait that arrives after is answered
// the same way at once.
func TestCLILoginWaitEndsAtShutdown(t *testing.T) {
	looked := make(chan struct{}, 1)
	ts := keyholetest.NewServer(t, keyholetest.Options{Store: grantLookups{keyholetest.OpenSQLite(t), looked}})
	_, _, token := herokuStart(t, ts.URL)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	answer := make(chan waitAnswer, 1)
	go func() { answer <- awaitLogin(ctx, ts.URL, token) }()
	// The second look is the wait's first one again after CLILoginPoll:
	// it is waiting, and has not committed its status yet (5 s).
	for i := range 2 {
		select {
		case <-looked:
		case <-ctx.Done():
			t.Fatalf("the wait looked at the login %d times, want 2", i)
		}
	}

	shutdown := make(chan error, 1)
	go func() { shutdown <- ts.Config.Shutdown(ctx) }()
	select {
	case a := <-answer:
		if a.err != nil || a.Status != http.StatusServiceUnavailable || a.Error != "temporarily_unavailable" || a.RetryAfter != "1" {
			t.Errorf("the wait answered %d %s, Retry-After %q (%v); want 503 temporarily_unavailable, Retry-After 1", a.Status, a.raw, a.RetryAfter, a.err)
		}
	case <-ctx.Done():
		t.Fatal("the wait did not answer when the server shut down")
	}
	if err := <-shutdown; err != nil {
		t.Errorf("shutdown: %v, want it finished once the wait answered", err)
	}

	// A wait on the service after the shutdown began answers at once.
	if _, err := ts.Service.AwaitCLILogin(ctx, token, "127.0.0.1"); keyhole.ErrorCode(err) != keyhole.Unavailable {
		t.Errorf("a wait after the shutdown began: %v, want Unavailable", err)
	}
}
