package keyholeapi_test

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/schematest"
	"github.com/keyhole/keyhole/keyholeapi"
)

const password = "correct horse battery"

// recorder is a transport that counts requests and validates every
// successful Platform API answer against the JSON schema: what the client
// decodes is what the schema describes.
type recorder struct {
	tb    testing.TB
	mu    sync.Mutex
	calls []string // "METHOD path range"
}

// schemaLinks maps request patterns to the schema's definition and link;
// sessions have no definition in the public schema.
var schemaLinks = []struct {
	re         *regexp.Regexp
	method     string
	definition string
	href       string
}{
	{regexp.MustCompile(`^/account$`), "", "account", "/account"},
	{regexp.MustCompile(`^/account/rate-limits$`), "GET", "rate-limit", "/account/rate-limits"},
	{regexp.MustCompile(`^/oauth/authorizations$`), "", "oauth-authorization", "/oauth/authorizations"},
	{regexp.MustCompile(`^/oauth/authorizations/[^/]+$`), "", "oauth-authorization", "/oauth/authorizations/{id}"},
	{regexp.MustCompile(`^/oauth/authorizations/[^/]+/actions/regenerate-tokens$`), "", "oauth-authorization", "/oauth/authorizations/{id}/actions/regenerate-tokens"},
	{regexp.MustCompile(`^/oauth/clients$`), "", "oauth-client", "/oauth/clients"},
	{regexp.MustCompile(`^/oauth/clients/[^/]+$`), "", "oauth-client", "/oauth/clients/{id}"},
	{regexp.MustCompile(`^/oauth/clients/[^/]+/actions/rotate-credentials$`), "", "oauth-client", "/oauth/clients/{id}/actions/rotate-credentials"},
	{regexp.MustCompile(`^/oauth/tokens$`), "", "oauth-token", "/oauth/tokens"},
	{regexp.MustCompile(`^/apps$`), "", "app", "/apps"},
	{regexp.MustCompile(`^/users/[^/]+/apps$`), "", "app", "/users/{account}/apps"},
	{regexp.MustCompile(`^/apps/[^/]+/collaborators$`), "", "collaborator", "/apps/{app}/collaborators"},
	{regexp.MustCompile(`^/apps/[^/]+/collaborators/[^/]+$`), "", "collaborator", "/apps/{app}/collaborators/{collaborator}"},
	{regexp.MustCompile(`^/teams$`), "", "team", "/teams"},
	{regexp.MustCompile(`^/teams/permissions$`), "", "team-app-permission", "/teams/permissions"},
	{regexp.MustCompile(`^/teams/apps$`), "", "team-app", "/teams/apps"},
	{regexp.MustCompile(`^/teams/apps/[^/]+$`), "", "team-app", "/teams/apps/{app}"},
	{regexp.MustCompile(`^/teams/apps/[^/]+/collaborators$`), "", "team-app-collaborator", "/teams/apps/{app}/collaborators"},
	{regexp.MustCompile(`^/teams/apps/[^/]+/collaborators/[^/]+$`), "", "team-app-collaborator", "/teams/apps/{app}/collaborators/{collaborator}"},
	{regexp.MustCompile(`^/teams/invitations/[^/]+$`), "", "team-invitation", "/teams/invitations/{token}"},
	{regexp.MustCompile(`^/teams/invitations/[^/]+/accept$`), "", "team-invitation", "/teams/invitations/{token}/accept"},
	{regexp.MustCompile(`^/teams/[^/]+$`), "", "team", "/teams/{team}"},
	{regexp.MustCompile(`^/teams/[^/]+/features$`), "", "team-feature", "/teams/{team}/features"},
	{regexp.MustCompile(`^/teams/[^/]+/preferences$`), "", "team-preferences", "/teams/{team}/preferences"},
	{regexp.MustCompile(`^/teams/[^/]+/members$`), "", "team-member", "/teams/{team}/members"},
	{regexp.MustCompile(`^/teams/[^/]+/members/[^/]+$`), "", "team-member", "/teams/{team}/members/{member}"},
	{regexp.MustCompile(`^/teams/[^/]+/members/[^/]+/apps$`), "", "team-member", "/teams/{team}/members/{member}/apps"},
	{regexp.MustCompile(`^/teams/[^/]+/invitations$`), "", "team-invitation", "/teams/{team}/invitations"},
	{regexp.MustCompile(`^/teams/[^/]+/invitations/[^/]+$`), "", "team-invitation", "/teams/{team}/invitations/{invitation}"},
	{regexp.MustCompile(`^/teams/[^/]+/apps$`), "", "team-app", "/teams/{team}/apps"},
	{regexp.MustCompile(`^/teams/[^/]+/permissions$`), "", "permission-entity", "/teams/{team}/permissions"},
	{regexp.MustCompile(`^/apps/[^/]+$`), "", "app", "/apps/{app}"},
	{regexp.MustCompile(`^/apps/[^/]+/config-vars$`), "", "config-var", "/apps/{app}/config-vars"},
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+req.URL.Path+" "+req.Header.Get("Range"))
	r.mu.Unlock()
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	if resp.StatusCode < 300 && req.Header.Get("Accept") == "application/vnd.heroku+json; version=3" {
		for _, l := range schemaLinks {
			if l.re.MatchString(req.URL.Path) {
				method := req.Method
				if req.URL.Path == "/oauth/tokens" || strings.HasSuffix(req.URL.Path, "/actions/regenerate-tokens") || strings.HasSuffix(req.URL.Path, "/actions/rotate-credentials") {
					method = "POST"
				}
				schematest.ValidateLink(r.tb, l.definition, method, l.href, body)
				break
			}
		}
	}
	return resp, nil
}

func (r *recorder) count(prefix string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, c := range r.calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

func newClient(t *testing.T, ts *keyholetest.Server, rec *recorder, token string) *keyholeapi.Client {
	t.Helper()
	c, err := keyholeapi.New(ts.URL, keyholeapi.WithHTTPClient(&http.Client{Transport: rec}), keyholeapi.WithToken(token), keyholeapi.WithUserAgent("keyholeapi-test"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func eachBackend(t *testing.T, fn func(t *testing.T, ts *keyholetest.Server)) {
	for _, b := range keyholetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			t.Parallel()
			fn(t, keyholetest.NewServer(t, keyholetest.Options{Store: b.Open(t)}))
		})
	}
}

func TestNew(t *testing.T) {
	for _, bad := range []string{"", "127.0.0.1:5000", "ftp://x", "http://", "http://x/?q=1", "http://x/#f"} {
		if _, err := keyholeapi.New(bad); err == nil {
			t.Errorf("New(%q) accepted", bad)
		}
	}
	c, err := keyholeapi.New("http://127.0.0.1:5000/")
	if err != nil || c.URL() != "http://127.0.0.1:5000" {
		t.Errorf("New: %v %v", c, err)
	}
}

func TestCLIClientID(t *testing.T) {
	if keyholeapi.CLIClientID != keyhole.CLIClientID {
		t.Errorf("keyholeapi.CLIClientID = %s, the server's is %s", keyholeapi.CLIClientID, keyhole.CLIClientID)
	}
}

// TestAccountAndAuthorizations drives the account and authorization
// endpoints through the client on each backend.
func TestAccountAndAuthorizations(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server) {
		ctx := context.Background()
		ts.CreateAccount(t, "ada@example.com", password)
		rec := &recorder{tb: t}
		anon := newClient(t, ts, rec, "")
		login, err := anon.Login(ctx, "ada@example.com", password, "", keyholeapi.AuthorizationCreate{Description: "client test", Scope: []string{"global"}})
		if err != nil {
			t.Fatalf("Login: %v", err)
		}
		if login.AccessToken == nil || !strings.HasPrefix(login.AccessToken.Token, "kha_") || login.Session == nil {
			t.Fatalf("Login answered %+v", login)
		}
		if _, err := anon.Login(ctx, "ada@example.com", "wrong password", "", keyholeapi.AuthorizationCreate{}); !keyholeapi.IsUnauthorized(err) {
			t.Errorf("wrong password: got %v, want 401", err)
		}
		c := newClient(t, ts, rec, login.AccessToken.Token)

		acct, err := c.Account(ctx)
		if err != nil || acct.Email != "ada@example.com" || acct.CreatedAt.IsZero() || acct.Name != nil {
			t.Fatalf("Account = %+v, %v", acct, err)
		}
		name := "Ada Lovelace"
		acct, err = c.UpdateAccount(ctx, keyholeapi.AccountUpdate{Name: &name})
		if err != nil || acct.Name == nil || *acct.Name != name {
			t.Fatalf("UpdateAccount = %+v, %v", acct, err)
		}
		rl, err := c.RateLimits(ctx)
		if err != nil || rl.Remaining <= 0 {
			t.Errorf("RateLimits = %+v, %v", rl, err)
		}

		expires := 3600
		var made []string
		for i := range 5 {
			a, err := c.CreateAuthorization(ctx, keyholeapi.AuthorizationCreate{Description: "token " + string(rune('a'+i)), Scope: []string{"read"}, ExpiresIn: &expires})
			if err != nil {
				t.Fatalf("CreateAuthorization: %v", err)
			}
			made = append(made, a.ID)
			if a.AccessToken == nil || a.AccessToken.ExpiresIn == nil || *a.AccessToken.ExpiresIn != 3600 || a.Scope[0] != "read" {
				t.Errorf("CreateAuthorization = %+v", a)
			}
		}
		// API key + login + 5, two per page: Next-Range is followed to the end.
		all, err := c.Authorizations(ctx, &keyholeapi.ListOptions{PageSize: 2})
		if err != nil {
			t.Fatal(err)
		}
		if got, want := len(all), 7; got != want {
			t.Errorf("Authorizations: got %d, want %d", got, want)
		}
		if got, want := rec.count("GET /oauth/authorizations id"), 4; got != want {
			t.Errorf("Authorizations: %d requests, want %d pages", got, want)
		}
		seen := map[string]bool{}
		var mine *keyholeapi.Authorization
		for i, a := range all {
			if seen[a.ID] {
				t.Errorf("authorization %s listed twice", a.ID)
			}
			seen[a.ID] = true
			if a.AccessToken.Matches(login.AccessToken.Token) {
				mine = &all[i]
			}
		}
		if mine == nil || mine.ID != login.ID {
			t.Errorf("the login's token hint matches none of the list")
		}
		if _, err := c.Authorizations(ctx, nil); err != nil {
			t.Errorf("Authorizations(nil): %v", err)
		}

		key, err := c.Authorization(ctx, "~")
		if err != nil || key.Description != "API Key" {
			t.Fatalf("Authorization(~) = %+v, %v", key, err)
		}
		desc := "renamed"
		a, err := c.UpdateAuthorization(ctx, made[0], keyholeapi.AuthorizationUpdate{Description: &desc})
		if err != nil || a.Description != desc {
			t.Errorf("UpdateAuthorization = %+v, %v", a, err)
		}
		_, err = c.UpdateAuthorization(ctx, a.ID, keyholeapi.AuthorizationUpdate{Client: &keyholeapi.ClientCredentials{ID: keyhole.CLIClientID, Secret: "x"}})
		var apiErr *keyholeapi.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 422 || apiErr.ID != "invalid_params" {
			t.Errorf("UpdateAuthorization with a client: got %v, want 422 invalid_params", err)
		}

		regen, err := c.RegenerateAuthorization(ctx, a.ID)
		if err != nil || regen.AccessToken == nil || !strings.HasPrefix(regen.AccessToken.Token, "kha_") {
			t.Fatalf("RegenerateAuthorization = %+v, %v", regen, err)
		}
		gone, err := c.DeleteAuthorization(ctx, a.ID)
		if err != nil || gone.ID != a.ID || gone.Description != desc {
			t.Errorf("DeleteAuthorization = %+v, %v", gone, err)
		}
		_, err = c.Authorization(ctx, a.ID)
		if !errors.As(err, &apiErr) || !keyholeapi.IsNotFound(err) || apiErr.Resource != "authorization" || apiErr.RequestID == "" || apiErr.Message == "" {
			t.Errorf("deleted authorization: got %#v", err)
		}
		if !strings.Contains(err.Error(), apiErr.Message) || !strings.Contains(err.Error(), apiErr.RequestID) || !strings.Contains(err.Error(), "not_found") {
			t.Errorf("Error() = %q, want the message, id and request id", err.Error())
		}
		// A revoked token is a 401 for whoever holds it.
		if _, err := newClient(t, ts, rec, regen.AccessToken.Token).Account(ctx); !keyholeapi.IsUnauthorized(err) {
			t.Errorf("revoked token: got %v, want 401", err)
		}

		sessions, err := c.Sessions(ctx, &keyholeapi.ListOptions{PageSize: 1})
		if err != nil || len(sessions) != 1 || sessions[0].ID != login.Session.ID || sessions[0].Description != "client test" {
			t.Fatalf("Sessions = %+v, %v", sessions, err)
		}
		ended, err := c.DeleteSession(ctx, "~")
		if err != nil || ended.ID != login.Session.ID {
			t.Errorf("DeleteSession(~) = %+v, %v", ended, err)
		}
		if _, err := c.Account(ctx); !keyholeapi.IsUnauthorized(err) {
			t.Errorf("after its session ended, the login's token: got %v, want 401", err)
		}
	})
}

// TestClientsAndTokens registers a client, consents to it, exchanges and
// refreshes the grant through POST /oauth/tokens, and manages the client.
func TestClientsAndTokens(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server) {
		ctx := context.Background()
		ts.CreateAccount(t, "ada@example.com", password)
		rec := &recorder{tb: t}
		c := newClient(t, ts, rec, ts.Login(t, "ada@example.com", password))

		cl, err := c.CreateClient(ctx, keyholeapi.OAuthClientCreate{Name: "Acme", RedirectURI: "https://acme.example/cb"})
		if err != nil || !strings.HasPrefix(cl.Secret, "khs_") {
			t.Fatalf("CreateClient = %+v, %v", cl, err)
		}
		pub, err := c.CreateClient(ctx, keyholeapi.OAuthClientCreate{Name: "Public", RedirectURI: "http://127.0.0.1:9/cb", Public: true})
		if err != nil || pub.Secret != "" {
			t.Fatalf("CreateClient(public) = %+v, %v", pub, err)
		}
		list, err := c.Clients(ctx, &keyholeapi.ListOptions{PageSize: 1})
		if err != nil || len(list) != 2 {
			t.Fatalf("Clients = %+v, %v", list, err)
		}
		got, err := c.Client(ctx, cl.ID)
		if err != nil || got.Secret != cl.Secret {
			t.Errorf("Client = %+v, %v", got, err)
		}
		name, uri := "Acme 2", "https://acme.example/callback"
		got, err = c.UpdateClient(ctx, cl.ID, keyholeapi.OAuthClientUpdate{Name: &name, RedirectURI: &uri})
		if err != nil || got.Name != name || got.RedirectURI != uri {
			t.Errorf("UpdateClient = %+v, %v", got, err)
		}
		logout := []string{"https://acme.example/bye"}
		got, err = c.UpdateClient(ctx, cl.ID, keyholeapi.OAuthClientUpdate{PostLogoutRedirectURIs: &logout})
		if err != nil || len(got.PostLogoutRedirectURIs) != 1 || got.PostLogoutRedirectURIs[0] != logout[0] || got.Name != name {
			t.Errorf("UpdateClient(PostLogoutRedirectURIs) = %+v, %v", got, err)
		}
		none := []string{}
		if got, err = c.UpdateClient(ctx, cl.ID, keyholeapi.OAuthClientUpdate{PostLogoutRedirectURIs: &none}); err != nil || got.PostLogoutRedirectURIs != nil {
			t.Errorf("UpdateClient(no PostLogoutRedirectURIs) = %+v, %v", got, err)
		}
		if _, err := c.CreateClient(ctx, keyholeapi.OAuthClientCreate{Name: "Bad", RedirectURI: "http://acme.example/cb"}); errorID(err) != "invalid_params" {
			t.Errorf("insecure redirect: got %v", err)
		}

		grant, err := c.CreateAuthorization(ctx, keyholeapi.AuthorizationCreate{Client: cl.ID, Scope: []string{"read"}})
		if err != nil || grant.Grant == nil || grant.Client == nil || grant.Client.ID != cl.ID {
			t.Fatalf("consent = %+v, %v", grant, err)
		}
		tok, err := c.CreateToken(ctx, keyholeapi.TokenCreate{
			Client: keyholeapi.ClientCredentials{Secret: cl.Secret},
			Grant:  keyholeapi.TokenGrant{Code: grant.Grant.Code, Type: keyholeapi.GrantAuthorizationCode},
		})
		if err != nil || tok.RefreshToken == nil || tok.Authorization.ID != grant.ID {
			t.Fatalf("CreateToken(code) = %+v, %v", tok, err)
		}
		app := newClient(t, ts, rec, tok.AccessToken.Token)
		if _, err := app.Apps(ctx, nil); err != nil {
			t.Errorf("the client's token reads apps: %v", err)
		}
		if _, err := app.Account(ctx); errorID(err) != "forbidden" {
			t.Errorf("a read token reads the account: %v", err)
		}
		again, err := c.CreateToken(ctx, keyholeapi.TokenCreate{
			Client:       keyholeapi.ClientCredentials{Secret: cl.Secret},
			Grant:        keyholeapi.TokenGrant{Type: keyholeapi.GrantRefreshToken},
			RefreshToken: &keyholeapi.RefreshToken{Token: tok.RefreshToken.Token},
		})
		if err != nil || again.AccessToken.Token == tok.AccessToken.Token {
			t.Fatalf("CreateToken(refresh) = %+v, %v", again, err)
		}

		rotated, err := c.RotateClientCredentials(ctx, cl.ID)
		if err != nil || rotated.Secret == cl.Secret {
			t.Errorf("RotateClientCredentials = %+v, %v", rotated, err)
		}
		deleted, err := c.DeleteClient(ctx, cl.ID)
		if err != nil || deleted.ID != cl.ID {
			t.Errorf("DeleteClient = %+v, %v", deleted, err)
		}
		if _, err := newClient(t, ts, rec, again.AccessToken.Token).Apps(ctx, nil); !keyholeapi.IsUnauthorized(err) {
			t.Errorf("a deleted client's token: got %v, want 401", err)
		}
	})
}

// TestAppsAndConfigVars drives the app resources, with pagination by a
// small page size.
func TestAppsAndConfigVars(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server) {
		ctx := context.Background()
		ts.CreateAccount(t, "ada@example.com", password)
		rec := &recorder{tb: t}
		c := newClient(t, ts, rec, ts.Login(t, "ada@example.com", password))
		for _, n := range []string{"alpha-app", "beta-app", "gamma-app"} {
			name := n
			if _, err := c.CreateApp(ctx, keyholeapi.AppCreate{Name: &name}); err != nil {
				t.Fatalf("CreateApp(%s): %v", n, err)
			}
		}
		apps, err := c.Apps(ctx, &keyholeapi.ListOptions{PageSize: 2})
		if err != nil || len(apps) != 3 {
			t.Fatalf("Apps = %d, %v", len(apps), err)
		}
		on, newName := true, "delta-app"
		app, err := c.UpdateApp(ctx, "alpha-app", keyholeapi.AppUpdate{Name: &newName, Maintenance: &on})
		if err != nil || app.Name != newName || !app.Maintenance || app.Owner.Email != "ada@example.com" || app.Region.Name != "us" {
			t.Fatalf("UpdateApp = %+v, %v", app, err)
		}
		if got, err := c.App(ctx, app.ID); err != nil || got.Name != newName {
			t.Errorf("App(id) = %+v, %v", got, err)
		}
		v := "postgres://db"
		vars, err := c.UpdateConfigVars(ctx, newName, map[string]*string{"DATABASE_URL": &v, "EMPTY": nil})
		if err != nil || vars["DATABASE_URL"] != v || len(vars) != 1 {
			t.Errorf("UpdateConfigVars = %v, %v", vars, err)
		}
		vars, err = c.UpdateConfigVars(ctx, newName, map[string]*string{"DATABASE_URL": nil})
		if err != nil || len(vars) != 0 {
			t.Errorf("UpdateConfigVars(delete) = %v, %v", vars, err)
		}
		if vars, err := c.ConfigVars(ctx, newName); err != nil || vars == nil || len(vars) != 0 {
			t.Errorf("ConfigVars = %v, %v", vars, err)
		}
		if _, err := c.DeleteApp(ctx, newName); err != nil {
			t.Errorf("DeleteApp: %v", err)
		}
		if _, err := c.App(ctx, newName); !keyholeapi.IsNotFound(err) {
			t.Errorf("deleted app: %v", err)
		}
	})
}

// TestActivity reads the activity log: a failed and a good login and
// five authorizations, newest first across pages of two (Next-Range, with
// order=desc, followed to the end); a token without the global scope may
// not read it.
func TestActivity(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server) {
		ctx := context.Background()
		ts.CreateAccount(t, "ada@example.com", password)
		rec := &recorder{tb: t}
		anon := newClient(t, ts, rec, "")
		if _, err := anon.Login(ctx, "ada@example.com", "wrong password", "", keyholeapi.AuthorizationCreate{}); !keyholeapi.IsUnauthorized(err) {
			t.Fatalf("wrong password: got %v, want 401", err)
		}
		login, err := anon.Login(ctx, "ada@example.com", password, "", keyholeapi.AuthorizationCreate{Description: "activity test"})
		if err != nil {
			t.Fatal(err)
		}
		c := newClient(t, ts, rec, login.AccessToken.Token)
		var read string
		for i := range 5 {
			scope := "global"
			if i == 4 {
				scope = "read"
			}
			a, err := c.CreateAuthorization(ctx, keyholeapi.AuthorizationCreate{Description: "token " + string(rune('a'+i)), Scope: []string{scope}})
			if err != nil {
				t.Fatal(err)
			}
			read = a.AccessToken.Token
		}

		events, err := c.Activity(ctx, &keyholeapi.ListOptions{PageSize: 2})
		if err != nil {
			t.Fatalf("Activity: %v", err)
		}
		var got []string
		seen := map[string]bool{}
		for i, e := range events {
			detail := ""
			if e.Detail != nil {
				detail = *e.Detail
			}
			got = append(got, e.Type+" "+detail)
			if e.ID == "" || seen[e.ID] || e.CreatedAt.IsZero() || e.Description == "" {
				t.Errorf("event %d: %+v", i, e)
			}
			seen[e.ID] = true
			if i > 0 && e.CreatedAt.After(events[i-1].CreatedAt) {
				t.Errorf("event %d (%s) is newer than the one before it", i, e.Type)
			}
		}
		want := []string{
			"authorization.created token e", "authorization.created token d", "authorization.created token c",
			"authorization.created token b", "authorization.created token a",
		}
		if len(got) < len(want)+2 || !slices.Equal(got[:len(want)], want) {
			t.Fatalf("Activity, newest first:\n%s\nwant it to start with\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
		// The good login came after the failed one, so it is listed first.
		okAt := slices.IndexFunc(events, func(e keyholeapi.Event) bool { return e.Type == "login.succeeded" })
		failedAt := slices.IndexFunc(events, func(e keyholeapi.Event) bool { return e.Type == "login.failed" })
		if okAt < 0 || failedAt < okAt {
			t.Fatalf("the logins in the log, newest first:\n%s", strings.Join(got, "\n"))
		}
		if ok := events[okAt]; ok.IP == nil || *ok.IP != "127.0.0.1" || ok.UserAgent == nil || *ok.UserAgent != "keyholeapi-test" {
			t.Errorf("the good login's address and program: %v %v", ok.IP, ok.UserAgent)
		}
		pages := (len(events) + 1) / 2
		if got := rec.count("GET /account/activity id ..; max=2, order=desc"); got != 1 {
			t.Errorf("%d first pages asked for with order=desc, want 1", got)
		}
		if got := rec.count("GET /account/activity id "); got != pages {
			t.Errorf("Activity: %d requests for %d events, want %d pages", got, len(events), pages)
		}
		if all, err := c.Activity(ctx, nil); err != nil || len(all) != len(events) || all[0].ID != events[0].ID {
			t.Errorf("Activity(nil): %d events, %v; want the same %d, newest first", len(all), err, len(events))
		}

		_, err = newClient(t, ts, rec, read).Activity(ctx, nil)
		var apiErr *keyholeapi.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != http.StatusForbidden {
			t.Errorf("Activity with a read token: got %v, want 403", err)
		}
	})
}

// TestTwoFactorAndContext: an account with MFA is asked for the second
// factor, and a cancelled context stops a call before it is sent.
func TestTwoFactorAndContext(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	ts.CreateAccount(t, "mfa@example.com", password)
	seed, _ := ts.EnableMFA(t, "mfa@example.com", password)
	rec := &recorder{tb: t}
	c := newClient(t, ts, rec, "")
	_, err := c.Login(context.Background(), "mfa@example.com", password, "", keyholeapi.AuthorizationCreate{})
	if !keyholeapi.IsTwoFactor(err) {
		t.Fatalf("MFA login: got %v, want two_factor", err)
	}
	if _, err := c.Login(context.Background(), "mfa@example.com", password, keyholetest.TOTPCode(t, seed, ts.Service.Now(), 1), keyholeapi.AuthorizationCreate{}); err != nil {
		t.Fatalf("MFA login with the code: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := c.Account(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled context: got %v", err)
	}
	if n := rec.count("GET /account"); n != 0 {
		t.Errorf("a cancelled call reached the server %d times", n)
	}
}

func TestTokenMatches(t *testing.T) {
	raw := "kha_0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHxyz1"
	for _, tc := range []struct {
		shown string
		want  bool
	}{
		{raw, true},
		{raw[:8] + "**********" + raw[len(raw)-4:], true},
		{raw[:8] + "**********" + "zzzz", false},
		{"kha_9999" + "**********" + raw[len(raw)-4:], false},
		{"**********", false},
		{"", false},
	} {
		tk := &keyholeapi.AuthorizationToken{Token: tc.shown}
		if got := tk.Matches(raw); got != tc.want {
			t.Errorf("Matches(%q): got %v, want %v", tc.shown, got, tc.want)
		}
	}
	var none *keyholeapi.AuthorizationToken
	if none.Matches(raw) {
		t.Error("a nil token matches")
	}
}

func errorID(err error) string {
	var e *keyholeapi.Error
	if errors.As(err, &e) {
		return e.ID
	}
	return ""
}
