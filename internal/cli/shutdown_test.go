package cli_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestServeEndsCLILoginWaitAtShutdown: when serve is told to stop (its
// context, as SIGTERM does) while the Heroku CLI waits for its browser
// login, the wait ends with an error the CLI shows and serve finishes
// within --shutdown-timeout and exits 0; it used to wait out the whole
// timeout for the wait, which lasts as long as the login (ten minutes),
// and exit 1.
func TestServeEndsCLILoginWaitAtShutdown(t *testing.T) {
	base, stop := serveUntil(t, nil, "--shutdown-timeout", "30s")
	resp, err := http.Post(base+"/auth", "application/json", strings.NewReader(`{"description":"Heroku CLI login from laptop"}`))
	if err != nil {
		t.Fatal(err)
	}
	var login struct{ Token string }
	err = json.NewDecoder(resp.Body).Decode(&login)
	resp.Body.Close()
	if err != nil || login.Token == "" {
		t.Fatalf("POST /auth: %d %v", resp.StatusCode, err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/auth/cli", nil)
	req.Header.Set("Authorization", "Bearer "+login.Token)
	// The headers come once the wait commits to 200 (after 5 s): from then
	// on it is surely waiting.
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /auth/cli: %d, want the wait committed to 200", resp.StatusCode)
	}
	body := make(chan string, 1)
	go func() {
		b, _ := io.ReadAll(resp.Body)
		body <- string(b)
	}()

	code, stderr := stop()
	if code != 0 {
		t.Errorf("serve exit %d, want 0: the shutdown did not finish within --shutdown-timeout\n%s", code, stderr)
	}
	cancel() // if the wait is still there, end it from this side
	var answer struct{ Error string }
	b := <-body
	if err := json.Unmarshal([]byte(b), &answer); err != nil || answer.Error != "temporarily_unavailable" {
		t.Errorf("the wait answered %q, want {\"error\": \"temporarily_unavailable\", …}", b)
	}
}
