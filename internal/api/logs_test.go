package api_test

import (
	"log/slog"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
)

// TestSecretsStayOutOfLogs drives every kind of secret through the server
// with logging at its most verbose, then looks for each in the log.
func TestSecretsStayOutOfLogs(t *testing.T) {
	var buf keyholetest.LogBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	ts := keyholetest.NewServer(t, keyholetest.Options{Log: log})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)

	var secrets []string
	r := c.do("POST", "/oauth/authorizations", map[string]any{"description": "login"}, basic("ada@example.com", password))
	tok := r.json(t)["access_token"].(map[string]any)["token"].(string)
	secrets = append(secrets, password, tok)
	c.do("POST", "/oauth/authorizations", nil, basic("ada@example.com", "wrong password here"))
	secrets = append(secrets, "wrong password here")

	r = c.do("POST", "/oauth/clients", map[string]any{"name": "App", "redirect_uri": "https://app.example/cb"}, bearer(tok))
	cl := r.json(t)
	secrets = append(secrets, cl["secret"].(string))
	code := grantCode(t, c, tok, cl["id"].(string), []string{"read"})
	r = exchange(c, cl["secret"].(string), code, "")
	tk := r.json(t)
	secrets = append(secrets, code, tk["access_token"].(map[string]any)["token"].(string), tk["refresh_token"].(map[string]any)["token"].(string))
	exchange(c, cl["secret"].(string), code, "") // a replay, which is logged
	c.do("PATCH", "/account", map[string]any{"password": password, "new_password": "a brand new password"}, bearer(tok))
	secrets = append(secrets, "a brand new password", ts.APIKey(t, "ada@example.com", "a brand new password"))
	c.do("GET", "/account", nil, bearer("kha_"+strings.Repeat("0", 49)))

	// A team invitation's token travels in the path, on Heroku's wire;
	// config vars are runtime secrets.
	ts.CreateAccount(t, "guest@example.com", password)
	guest := ts.Login(t, "guest@example.com", password)
	key := ts.APIKey(t, "ada@example.com", "a brand new password")
	c.do("POST", "/teams", map[string]any{"name": "logged"}, bearer(key)).wantStatus(t, 201)
	c.do("PUT", "/teams/logged/invitations", map[string]any{"email": "guest@example.com", "role": "member"}, bearer(key)).wantStatus(t, 200)
	invite := tokenOf(t, ts.Mail().Take(t, "guest@example.com", "invited to join the team logged").Link("/teams/invitations/accept"))
	c.do("GET", "/teams/invitations/"+invite, nil, bearer(guest)).wantStatus(t, 200)
	c.do("POST", "/teams/invitations/"+invite+"/accept", nil, bearer(guest)).wantStatus(t, 201)
	c.do("POST", "/apps", map[string]any{"name": "logged-app"}, bearer(key)).wantStatus(t, 201)
	c.do("PATCH", "/apps/logged-app/config-vars", map[string]any{"DATABASE_URL": "postgres://user:hunter2-in-config@db"}, bearer(key)).wantStatus(t, 200)
	c.do("GET", "/apps/logged-app/config-vars", nil, bearer(key)).wantStatus(t, 200)
	secrets = append(secrets, invite, "hunter2-in-config")

	logs := buf.String()
	if !strings.Contains(logs, `"msg":"request"`) || !strings.Contains(logs, "grant code replayed") {
		t.Fatalf("the log did not record the requests:\n%s", logs)
	}
	for _, s := range secrets {
		if strings.Contains(logs, s) {
			t.Errorf("secret %q… found in the log", s[:6])
		}
	}
}
