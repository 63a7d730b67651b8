package api_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/keyhole/keyhole/internal/api"
	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/schematest"
)

// scopeMatrix is, for each scope, exactly the routes a token with only that
// scope reaches. It is written out by hand, not derived from the route
// table, so that a change to either shows up here; the README carries the
// same table (TestReadmeScopeTable).
var scopeMatrix = map[string][]string{
	"global": {
		"GET /account", "PATCH /account", "GET /account/rate-limits", "GET /account/activity",
		"POST /oauth/authorizations", "GET /oauth/authorizations", "GET /oauth/authorizations/{id}",
		"PATCH /oauth/authorizations/{id}", "DELETE /oauth/authorizations/{id}",
		"POST /oauth/authorizations/{id}/actions/regenerate-tokens",
		"POST /oauth/clients", "GET /oauth/clients", "GET /oauth/clients/{id}", "PATCH /oauth/clients/{id}",
		"DELETE /oauth/clients/{id}", "POST /oauth/clients/{id}/actions/rotate-credentials",
		"GET /oauth/sessions", "DELETE /oauth/sessions/{id}",
		"POST /apps", "GET /apps", "GET /users/{user}/apps", "GET /apps/{app}", "PATCH /apps/{app}", "DELETE /apps/{app}",
		"GET /apps/{app}/config-vars", "PATCH /apps/{app}/config-vars",
		"GET /apps/{app}/collaborators", "GET /apps/{app}/collaborators/{user}", "GET /teams", "GET /teams/permissions", "GET /teams/apps/{app}", "GET /teams/apps/{app}/collaborators", "GET /teams/apps/{app}/collaborators/{user}", "GET /teams/invitations/{token}", "GET /teams/{team}", "GET /teams/{team}/apps", "GET /teams/{team}/features", "GET /teams/{team}/preferences", "GET /teams/{team}/permissions", "GET /teams/{team}/members", "GET /teams/{team}/members/{member}/apps", "GET /teams/{team}/invitations",
		"POST /apps/{app}/collaborators", "DELETE /apps/{app}/collaborators/{user}", "POST /teams", "POST /teams/apps", "PATCH /teams/apps/{app}", "POST /teams/apps/{app}/collaborators", "PATCH /teams/apps/{app}/collaborators/{user}", "DELETE /teams/apps/{app}/collaborators/{user}", "POST /teams/invitations/{token}/accept", "PATCH /teams/{team}", "DELETE /teams/{team}", "PATCH /teams/{team}/preferences", "PUT /teams/{team}/members", "POST /teams/{team}/members", "PATCH /teams/{team}/members", "DELETE /teams/{team}/members/{member}", "PUT /teams/{team}/invitations", "DELETE /teams/{team}/invitations/{invitation}",
	},
	"identity":        {"GET /account"},
	"read":            append([]string{"GET /apps", "GET /apps/{app}"}, teamReads...),
	"write":           append([]string{"POST /apps", "GET /apps", "GET /apps/{app}", "PATCH /apps/{app}", "DELETE /apps/{app}", "POST /teams/apps"}, teamReads...),
	"read-protected":  append([]string{"GET /apps", "GET /apps/{app}", "GET /apps/{app}/config-vars"}, teamReads...),
	"write-protected": append([]string{"POST /apps", "GET /apps", "GET /apps/{app}", "PATCH /apps/{app}", "DELETE /apps/{app}", "GET /apps/{app}/config-vars", "PATCH /apps/{app}/config-vars", "POST /teams/apps"}, teamReads...),
}

// teamReads are the reads of teams, of who has access to apps and of a
// person's apps: every scope that reads apps reaches them.
var teamReads = []string{
	"GET /users/{user}/apps", "GET /apps/{app}/collaborators", "GET /apps/{app}/collaborators/{user}", "GET /teams", "GET /teams/permissions", "GET /teams/apps/{app}", "GET /teams/apps/{app}/collaborators", "GET /teams/apps/{app}/collaborators/{user}", "GET /teams/invitations/{token}", "GET /teams/{team}", "GET /teams/{team}/apps", "GET /teams/{team}/features", "GET /teams/{team}/preferences", "GET /teams/{team}/permissions", "GET /teams/{team}/members", "GET /teams/{team}/members/{member}/apps", "GET /teams/{team}/invitations",
}

// tokenless are the routes that take no token at all.
var tokenless = []string{"POST /oauth/tokens"}

// TestScopeMatrix walks every route of the table with a token of each scope
// and checks that exactly the routes of scopeMatrix answer anything but 403.
// Path ids name nothing, so a reached route answers 404 (or creates
// something harmless) and changes nothing that another case depends on.
func TestScopeMatrix(t *testing.T) {
	ts := keyholetest.NewServer(t, keyholetest.Options{})
	c := client{t: t, base: ts.URL}
	ts.CreateAccount(t, "ada@example.com", password)
	global := ts.Login(t, "ada@example.com", password)

	routes := api.Routes()
	var patterns []string
	for _, rt := range routes {
		patterns = append(patterns, rt.Pattern)
	}
	for _, scope := range keyhole.Scopes {
		for _, p := range scopeMatrix[scope] {
			if !slices.Contains(patterns, p) {
				t.Errorf("scopeMatrix[%s] names %q, which is not a route", scope, p)
			}
		}
	}
	for _, scope := range keyhole.Scopes {
		r := c.do("POST", "/oauth/authorizations", map[string]any{"description": scope, "scope": []string{scope}}, bearer(global))
		if r.status != 201 {
			t.Fatalf("create %s token: %d %s", scope, r.status, r.body)
		}
		tok := r.json(t)["access_token"].(map[string]any)["token"].(string)
		for _, rt := range routes {
			method, path, _ := strings.Cut(rt.Pattern, " ")
			path = strings.ReplaceAll(path, "{id}", uuid.NewString())
			path = strings.ReplaceAll(path, "{app}", "no-such-app")
			path = strings.ReplaceAll(path, "{team}", "no-such-team")
			path = strings.ReplaceAll(path, "{token}", "khi_nothing")
			for _, p := range []string{"{user}", "{member}", "{invitation}"} {
				path = strings.ReplaceAll(path, p, "nobody@example.com")
			}
			var body any
			if method == "POST" || method == "PATCH" || method == "PUT" {
				body = map[string]any{}
			}
			got := c.do(method, path, body, bearer(tok))
			if slices.Contains(tokenless, rt.Pattern) {
				if got.status == 403 {
					t.Errorf("%s: tokenless route answered 403", rt.Pattern)
				}
				continue
			}
			want := slices.Contains(scopeMatrix[scope], rt.Pattern)
			switch {
			case want && got.status == 403:
				t.Errorf("scope %s: %s = 403, want it reachable; %s", scope, rt.Pattern, got.body)
			case !want && got.status != 403:
				t.Errorf("scope %s: %s = %d, want 403 forbidden; %s", scope, rt.Pattern, got.status, got.body)
			case !want:
				m := got.wantError(t, 403, "forbidden")
				if msg := m["message"].(string); !strings.Contains(msg, string(rt.Scope)) {
					t.Errorf("scope %s: %s: message %q does not name the scope needed (%s)", scope, rt.Pattern, msg, rt.Scope)
				}
			}
		}
	}
	for _, rt := range routes {
		if slices.Contains(tokenless, rt.Pattern) {
			continue
		}
		if !slices.Contains(scopeMatrix["global"], rt.Pattern) {
			t.Errorf("route %s is missing from the matrix", rt.Pattern)
		}
	}
}

// TestReadmeScopeTable checks that the README's scope table is the matrix
// the test above enforces.
func TestReadmeScopeTable(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	if table := ScopeTable(); !strings.Contains(string(readme), table) {
		t.Errorf("README.md lacks the scope table; it should contain:\n%s", table)
	}
}

// ScopeTable renders scopeMatrix as the README's markdown table, of the
// Platform API scopes (the OpenID Connect ones reach no route: the test
// above checks that too).
func ScopeTable() string {
	var b strings.Builder
	b.WriteString("| route |")
	for _, s := range keyhole.APIScopes {
		b.WriteString(" " + s + " |")
	}
	b.WriteString("\n|---|")
	for range keyhole.APIScopes {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, rt := range api.Routes() {
		fmt.Fprintf(&b, "| `%s` |", rt.Pattern)
		for _, s := range keyhole.APIScopes {
			switch {
			case slices.Contains(tokenless, rt.Pattern):
				b.WriteString(" no token |")
			case slices.Contains(scopeMatrix[s], rt.Pattern):
				b.WriteString(" ✓ |")
			default:
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

// TestDirectAuthorizationLifecycle is the walk: a client, a direct
// identity authorization that reads the account but not apps, revoked, then
// refused on the very next request.
func TestDirectAuthorizationLifecycle(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		global := ts.Login(t, "ada@example.com", password)

		r := c.do("POST", "/oauth/clients", map[string]any{"name": "Example", "redirect_uri": "https://example.com/callback"}, bearer(global))
		if r.status != 201 {
			t.Fatalf("create client: %d %s", r.status, r.body)
		}
		schematest.ValidateLink(t, "oauth-client", "POST", "/oauth/clients", r.body)

		r = c.do("POST", "/oauth/authorizations", map[string]any{"description": "identity only", "scope": []string{"identity"}}, bearer(global))
		if r.status != 201 {
			t.Fatalf("create authorization: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		auth := r.json(t)
		tok := auth["access_token"].(map[string]any)["token"].(string)

		r = c.do("GET", "/account", nil, bearer(tok))
		if r.status != 200 {
			t.Fatalf("GET /account with identity: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "account", r.body)
		c.do("GET", "/apps", nil, bearer(tok)).wantError(t, 403, "forbidden")

		r = c.do("DELETE", "/oauth/authorizations/"+auth["id"].(string), nil, bearer(global))
		if r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		if got := r.json(t)["description"]; got != "identity only" {
			t.Errorf("deleted authorization description = %v", got)
		}
		c.do("GET", "/account", nil, bearer(tok)).wantError(t, 401, "unauthorized")
		c.do("GET", "/oauth/authorizations/"+auth["id"].(string), nil, bearer(global)).wantError(t, 404, "not_found")
	})
}

func TestAuthorizationAliasesAndRegenerate(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		global := ts.Login(t, "ada@example.com", password)

		// "~" is the API key; its token shows only as a hint.
		r := c.do("GET", "/oauth/authorizations/~", nil, bearer(global))
		if r.status != 200 {
			t.Fatalf("GET ~: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		key := r.json(t)
		if key["description"] != "API Key" || !strings.Contains(key["access_token"].(map[string]any)["token"].(string), "**********") {
			t.Errorf("~ = %s", r.body)
		}
		if key["access_token"].(map[string]any)["expires_in"] != nil {
			t.Errorf("API key expires: %s", r.body)
		}

		r = c.do("POST", "/oauth/authorizations", map[string]any{"description": "", "scope": []string{"read"}, "expires_in": 600}, bearer(global))
		auth := r.json(t)
		old := auth["access_token"].(map[string]any)["token"].(string)
		if auth["description"] != "" {
			t.Errorf("description = %#v, want \"\"", auth["description"])
		}
		r = c.do("POST", "/oauth/authorizations/"+auth["id"].(string)+"/actions/regenerate-tokens", nil, bearer(global))
		if r.status != 200 {
			t.Fatalf("regenerate: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-authorization", r.body)
		at := r.json(t)["access_token"].(map[string]any)
		fresh := at["token"].(string)
		if fresh == old || at["expires_in"] != float64(600) {
			t.Errorf("regenerated token %v", at)
		}
		c.do("GET", "/apps", nil, bearer(old)).wantError(t, 401, "unauthorized")
		if r := c.do("GET", "/apps", nil, bearer(fresh)); r.status != 200 {
			t.Errorf("new token: %d %s", r.status, r.body)
		}

		r = c.do("PATCH", "/oauth/authorizations/"+auth["id"].(string), map[string]any{"description": "renamed"}, bearer(global))
		if r.status != 200 || r.json(t)["description"] != "renamed" {
			t.Errorf("PATCH: %d %s", r.status, r.body)
		}
		for _, id := range []string{"not-a-uuid", uuid.NewString(), strings.ToUpper(auth["id"].(string))} {
			c.do("GET", "/oauth/authorizations/"+id, nil, bearer(global)).wantError(t, 404, "not_found")
		}
	})
}

func TestClients(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ts.CreateAccount(t, "bob@example.com", password)
		ada := ts.Login(t, "ada@example.com", password)
		bob := ts.Login(t, "bob@example.com", password)

		bad := []struct {
			name string
			body any
		}{
			{"no name", map[string]any{"redirect_uri": "https://example.com/cb"}},
			{"empty name", map[string]any{"name": "  ", "redirect_uri": "https://example.com/cb"}},
			{"no redirect", map[string]any{"name": "x"}},
			{"javascript", map[string]any{"name": "x", "redirect_uri": "javascript:alert(1)"}},
			{"http remote", map[string]any{"name": "x", "redirect_uri": "http://example.com/cb"}},
			{"fragment", map[string]any{"name": "x", "redirect_uri": "https://example.com/cb#frag"}},
			{"relative", map[string]any{"name": "x", "redirect_uri": "/cb"}},
			{"userinfo", map[string]any{"name": "x", "redirect_uri": "https://user:pw@example.com/cb"}},
		}
		for _, b := range bad {
			c.do("POST", "/oauth/clients", b.body, bearer(ada)).wantError(t, 422, "invalid_params")
		}
		r := c.do("GET", "/oauth/clients", nil, bearer(ada))
		if r.status != 200 || string(r.body) != "[]\n" {
			t.Fatalf("after bad creates: %d %s", r.status, r.body)
		}

		r = c.do("POST", "/oauth/clients", map[string]any{"name": "Local app", "redirect_uri": "http://127.0.0.1:8080/cb"}, bearer(ada))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-client", r.body)
		cl := r.json(t)
		id, secret := cl["id"].(string), cl["secret"].(string)
		if !strings.HasPrefix(secret, "khs_") {
			t.Errorf("secret = %q", secret)
		}
		r = c.do("GET", "/oauth/clients/"+id, nil, bearer(ada))
		schematest.Validate(t, "oauth-client", r.body)
		if r.json(t)["secret"] != secret {
			t.Errorf("info does not show the secret")
		}
		r = c.do("GET", "/oauth/clients", nil, bearer(ada))
		schematest.ValidateList(t, "oauth-client", r.body)

		// Another account sees nothing of it.
		c.do("GET", "/oauth/clients/"+id, nil, bearer(bob)).wantError(t, 404, "not_found")
		c.do("DELETE", "/oauth/clients/"+id, nil, bearer(bob)).wantError(t, 404, "not_found")
		c.do("GET", "/oauth/clients/nope", nil, bearer(ada)).wantError(t, 404, "not_found")

		r = c.do("PATCH", "/oauth/clients/"+id, map[string]any{"name": "Renamed"}, bearer(ada))
		if r.status != 200 || r.json(t)["name"] != "Renamed" {
			t.Errorf("PATCH: %d %s", r.status, r.body)
		}
		c.do("PATCH", "/oauth/clients/"+id, map[string]any{"redirect_uri": "javascript:x"}, bearer(ada)).wantError(t, 422, "invalid_params")

		// A grant made with the old secret's client, then rotation: the old
		// secret no longer redeems it, the new one does.
		code := grantCode(t, c, ada, id, []string{"identity"})
		r = c.do("POST", "/oauth/clients/"+id+"/actions/rotate-credentials", nil, bearer(ada))
		if r.status != 200 {
			t.Fatalf("rotate: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-client", r.body)
		newSecret := r.json(t)["secret"].(string)
		if newSecret == secret {
			t.Fatal("rotate kept the secret")
		}
		exchange(c, secret, code, "").wantError(t, 401, "unauthorized")
		r = exchange(c, newSecret, code, "")
		if r.status != 201 {
			t.Fatalf("exchange with new secret: %d %s", r.status, r.body)
		}
		tok := r.json(t)["access_token"].(map[string]any)["token"].(string)

		// Deleting the client revokes what it was given.
		r = c.do("DELETE", "/oauth/clients/"+id, nil, bearer(ada))
		if r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "oauth-client", r.body)
		c.do("GET", "/account", nil, bearer(tok)).wantError(t, 401, "unauthorized")
		c.do("GET", "/oauth/clients/"+id, nil, bearer(ada)).wantError(t, 404, "not_found")
	})
}

// TestClientPostLogoutURIs sets, reads, replaces and clears a client's
// post_logout_redirect_uris (Keyhole's addition, for OpenID Connect
// logout), and refuses lists that break the redirect URI rules, which
// change nothing.
func TestClientPostLogoutURIs(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ada := ts.Login(t, "ada@example.com", password)
		r := c.do("POST", "/oauth/clients", map[string]any{"name": "App", "redirect_uri": "https://app.example/cb",
			"post_logout_redirect_uris": []string{"https://app.example/", "http://127.0.0.1:8080/bye"}}, bearer(ada))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := r.json(t)["id"].(string)
		uris := func() []any {
			t.Helper()
			r := c.do("GET", "/oauth/clients/"+id, nil, bearer(ada))
			got, _ := r.json(t)["post_logout_redirect_uris"].([]any)
			return got
		}
		if got := uris(); len(got) != 2 || got[0] != "https://app.example/" || got[1] != "http://127.0.0.1:8080/bye" {
			t.Errorf("after create: %v", got)
		}
		eleven := make([]string, 11)
		for i := range eleven {
			eleven[i] = fmt.Sprintf("https://app.example/%d", i)
		}
		for _, bad := range [][]string{
			{"http://app.example/"}, {"https://app.example/#x"}, {"/bye"}, {""},
			{"https://app.example/", "https://app.example/"}, eleven,
		} {
			c.do("PATCH", "/oauth/clients/"+id, map[string]any{"name": "Changed", "post_logout_redirect_uris": bad}, bearer(ada)).wantError(t, 422, "invalid_params")
		}
		if got := uris(); len(got) != 2 {
			t.Errorf("a refused PATCH changed the list: %v", got)
		}
		// A PATCH without the field keeps it; one with it replaces it.
		c.do("PATCH", "/oauth/clients/"+id, map[string]any{"name": "Renamed"}, bearer(ada))
		if got := uris(); len(got) != 2 {
			t.Errorf("a PATCH of the name changed the list: %v", got)
		}
		c.do("PATCH", "/oauth/clients/"+id, map[string]any{"post_logout_redirect_uris": eleven[:10]}, bearer(ada))
		if got := uris(); len(got) != 10 || got[9] != eleven[9] {
			t.Errorf("after replacing with ten: %v", got)
		}
		r = c.do("PATCH", "/oauth/clients/"+id, map[string]any{"post_logout_redirect_uris": []string{}}, bearer(ada))
		if r.status != 200 || bytes.Contains(r.body, []byte("post_logout_redirect_uris")) {
			t.Errorf("cleared: %d %s", r.status, r.body)
		}
		// Without the list, the client is exactly Heroku's resource.
		schematest.Validate(t, "oauth-client", r.body)
	})
}

// grantCode creates a consent of the account to a client through the API and
// returns the grant code.
func grantCode(t testing.TB, c client, tok, clientID string, scope []string) string {
	t.Helper()
	r := c.do("POST", "/oauth/authorizations", map[string]any{"client": clientID, "scope": scope}, bearer(tok))
	if r.status != 201 {
		t.Fatalf("grant: %d %s", r.status, r.body)
	}
	schematest.Validate(t, "oauth-authorization", r.body)
	g, _ := r.json(t)["grant"].(map[string]any)
	if g == nil || g["code"] == "" {
		t.Fatalf("no grant in %s", r.body)
	}
	return g["code"].(string)
}

// exchange is POST /oauth/tokens as id.heroku.com sends it.
func exchange(c client, secret, code, refresh string) reply {
	body := map[string]any{"client": map[string]any{"secret": secret}}
	if code != "" {
		body["grant"] = map[string]any{"code": code, "type": "authorization_code"}
		body["refresh_token"] = map[string]any{"token": nil}
	} else {
		body["grant"] = map[string]any{"type": "refresh_token"}
		body["refresh_token"] = map[string]any{"token": refresh}
	}
	return c.do("POST", "/oauth/tokens", body)
}

func TestTokenExchange(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ada := ts.Login(t, "ada@example.com", password)
		r := c.do("POST", "/oauth/clients", map[string]any{"name": "App", "redirect_uri": "https://app.example/cb"}, bearer(ada))
		cl := r.json(t)
		id, secret := cl["id"].(string), cl["secret"].(string)

		code := grantCode(t, c, ada, id, []string{"read"})
		c.do("POST", "/oauth/tokens", map[string]any{"grant": map[string]any{"code": code, "type": "authorization_code"}}).wantError(t, 401, "unauthorized")
		exchange(c, "khs_wrong", code, "").wantError(t, 401, "unauthorized")
		c.do("POST", "/oauth/tokens", map[string]any{"client": map[string]any{"secret": secret}, "grant": map[string]any{"type": "password"}}).wantError(t, 422, "invalid_params")

		// The failed attempts did not burn the code.
		r = exchange(c, secret, code, "")
		if r.status != 201 {
			t.Fatalf("exchange: %d %s", r.status, r.body)
		}
		schematest.ValidateLink(t, "oauth-token", "POST", "/oauth/tokens", r.body)
		tk := r.json(t)
		access := tk["access_token"].(map[string]any)["token"].(string)
		refresh := tk["refresh_token"].(map[string]any)["token"].(string)
		if got := tk["access_token"].(map[string]any)["expires_in"]; got != float64(28800) {
			t.Errorf("expires_in = %v, want 28800", got)
		}
		if r := c.do("GET", "/apps", nil, bearer(access)); r.status != 200 {
			t.Fatalf("token reads apps: %d", r.status)
		}
		c.do("GET", "/account", nil, bearer(access)).wantError(t, 403, "forbidden")

		// The authorization shows up with its client.
		r = c.do("GET", "/oauth/authorizations/"+tk["authorization"].(map[string]any)["id"].(string), nil, bearer(ada))
		schematest.Validate(t, "oauth-authorization", r.body)
		if got := r.json(t)["client"].(map[string]any)["id"]; got != id {
			t.Errorf("authorization client = %v", got)
		}

		// Refresh rotates: the new pair works, the old access token does not.
		r = exchange(c, secret, "", refresh)
		if r.status != 201 {
			t.Fatalf("refresh: %d %s", r.status, r.body)
		}
		schematest.ValidateLink(t, "oauth-token", "POST", "/oauth/tokens", r.body)
		access2 := r.json(t)["access_token"].(map[string]any)["token"].(string)
		c.do("GET", "/apps", nil, bearer(access)).wantError(t, 401, "unauthorized")
		if r := c.do("GET", "/apps", nil, bearer(access2)); r.status != 200 {
			t.Fatalf("refreshed token: %d", r.status)
		}

		// Replaying the used code revokes everything issued from it.
		exchange(c, secret, code, "").wantError(t, 401, "unauthorized")
		c.do("GET", "/apps", nil, bearer(access2)).wantError(t, 401, "unauthorized")
	})
}

func TestApps(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ts.CreateAccount(t, "bob@example.com", password)
		ada := ts.Login(t, "ada@example.com", password)
		bob := ts.Login(t, "bob@example.com", password)

		r := c.do("POST", "/apps", map[string]any{"name": "ada-app", "region": "eu"}, bearer(ada))
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		schematest.ValidateLink(t, "app", "POST", "/apps", r.body)
		app := r.json(t)
		if app["region"].(map[string]any)["name"] != "eu" || app["owner"].(map[string]any)["email"] != "ada@example.com" {
			t.Errorf("app = %s", r.body)
		}
		r = c.do("POST", "/apps", nil, bearer(ada))
		if r.status != 201 {
			t.Fatalf("create unnamed: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "app", r.body)

		c.do("POST", "/apps", map[string]any{"name": "ada-app"}, bearer(bob)).wantError(t, 422, "invalid_params")
		for _, name := range []string{"", "A-app", "x", "has space", "-dash", strings.Repeat("a", 31)} {
			c.do("POST", "/apps", map[string]any{"name": name}, bearer(ada)).wantError(t, 422, "invalid_params")
		}
		c.do("POST", "/apps", map[string]any{"region": "mars"}, bearer(ada)).wantError(t, 422, "invalid_params")
		c.do("POST", "/apps", map[string]any{"name": 5}, bearer(ada)).wantError(t, 422, "invalid_params")

		// Bob cannot see or touch Ada's app, by name or id.
		for _, ref := range []string{"ada-app", app["id"].(string)} {
			c.do("GET", "/apps/"+ref, nil, bearer(bob)).wantError(t, 404, "not_found")
			c.do("PATCH", "/apps/"+ref+"/config-vars", map[string]any{"X": "y"}, bearer(bob)).wantError(t, 404, "not_found")
			c.do("DELETE", "/apps/"+ref, nil, bearer(bob)).wantError(t, 404, "not_found")
		}
		r = c.do("GET", "/apps", nil, bearer(bob))
		if string(r.body) != "[]\n" {
			t.Errorf("bob's apps = %s", r.body)
		}

		r = c.do("GET", "/apps", nil, bearer(ada), header("Range", "name ..; max=1"))
		if r.status != 206 || r.header.Get("Next-Range") == "" {
			t.Errorf("name range: %d %v", r.status, r.header)
		}
		schematest.ValidateList(t, "app", r.body)

		r = c.do("PATCH", "/apps/ada-app", map[string]any{"name": "ada-renamed", "maintenance": true}, bearer(ada))
		if r.status != 200 || r.json(t)["name"] != "ada-renamed" || r.json(t)["maintenance"] != true {
			t.Fatalf("PATCH: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "app", r.body)

		// Config vars: merge, null deletes, bad keys refused with nothing written.
		r = c.do("PATCH", "/apps/ada-renamed/config-vars", map[string]any{"A": "1", "B": "2"}, bearer(ada))
		if r.status != 200 {
			t.Fatalf("config PATCH: %d %s", r.status, r.body)
		}
		schematest.ValidateLink(t, "config-var", "PATCH", "/apps/{app}/config-vars", r.body)
		r = c.do("PATCH", "/apps/ada-renamed/config-vars", map[string]any{"A": nil, "C": "3"}, bearer(ada))
		var vars map[string]string
		_ = json.Unmarshal(r.body, &vars)
		if len(vars) != 2 || vars["B"] != "2" || vars["C"] != "3" {
			t.Errorf("after merge: %s", r.body)
		}
		c.do("PATCH", "/apps/ada-renamed/config-vars", map[string]any{"D": "4", "bad-key": "x"}, bearer(ada)).wantError(t, 422, "invalid_params")
		c.do("PATCH", "/apps/ada-renamed/config-vars", map[string]any{"D": 4}, bearer(ada)).wantError(t, 422, "invalid_params")
		r = c.do("GET", "/apps/"+app["id"].(string)+"/config-vars", nil, bearer(ada))
		schematest.ValidateLink(t, "config-var", "GET", "/apps/{app}/config-vars", r.body)
		if string(r.body) != `{"B":"2","C":"3"}`+"\n" {
			t.Errorf("config vars = %s", r.body)
		}

		r = c.do("DELETE", "/apps/ada-renamed", nil, bearer(ada))
		if r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		schematest.Validate(t, "app", r.body)
		c.do("GET", "/apps/ada-renamed/config-vars", nil, bearer(ada)).wantError(t, 404, "not_found")
	})
}

func TestSessions(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		ts.CreateAccount(t, "ada@example.com", password)
		ts.CreateAccount(t, "bob@example.com", password)
		bob := ts.Login(t, "bob@example.com", password)
		// Two CLI logins make two sessions.
		var toks, sessions []string
		for range 2 {
			r := c.do("POST", "/oauth/authorizations", map[string]any{"description": "Heroku CLI login from laptop"}, basic("ada@example.com", password))
			if r.status != 201 {
				t.Fatalf("login: %d %s", r.status, r.body)
			}
			schematest.Validate(t, "oauth-authorization", r.body)
			s, _ := r.json(t)["session"].(map[string]any)
			if s == nil {
				t.Fatalf("login made no session: %s", r.body)
			}
			sessions = append(sessions, s["id"].(string))
			toks = append(toks, r.json(t)["access_token"].(map[string]any)["token"].(string))
		}
		r := c.do("GET", "/oauth/sessions", nil, bearer(toks[0]))
		var list []map[string]any
		if err := json.Unmarshal(r.body, &list); err != nil || r.status != 200 || len(list) != 2 {
			t.Fatalf("sessions: %d %s", r.status, r.body)
		}
		for _, s := range list {
			if !slices.Contains(sessions, s["id"].(string)) || s["description"] != "Heroku CLI login from laptop" {
				t.Errorf("session %v", s)
			}
		}
		// Bob can neither see nor end Ada's sessions.
		c.do("DELETE", "/oauth/sessions/"+sessions[0], nil, bearer(bob)).wantError(t, 404, "not_found")
		c.do("DELETE", "/oauth/sessions/"+uuid.NewString(), nil, bearer(toks[0])).wantError(t, 404, "not_found")

		// "~" is the caller's own session: ending it logs that CLI out at
		// once and leaves the other.
		r = c.do("DELETE", "/oauth/sessions/~", nil, bearer(toks[1]))
		if r.status != 200 || r.json(t)["id"] != sessions[1] {
			t.Fatalf("DELETE ~: %d %s", r.status, r.body)
		}
		c.do("GET", "/account", nil, bearer(toks[1])).wantError(t, 401, "unauthorized")
		if r := c.do("GET", "/account", nil, bearer(toks[0])); r.status != 200 {
			t.Errorf("the other session died too: %d", r.status)
		}
		// Ending a session by id kills its tokens too.
		if r := c.do("DELETE", "/oauth/sessions/"+sessions[0], nil, bearer(bob)); r.status != 404 {
			t.Errorf("bob deleting: %d", r.status)
		}
		key := ts.APIKey(t, "ada@example.com", password)
		if r := c.do("DELETE", "/oauth/sessions/"+sessions[0], nil, bearer(key)); r.status != 200 {
			t.Fatalf("DELETE by id: %d %s", r.status, r.body)
		}
		c.do("GET", "/account", nil, bearer(toks[0])).wantError(t, 401, "unauthorized")
		// The API key has no session: "~" is not found, as the CLI expects.
		m := c.do("DELETE", "/oauth/sessions/~", nil, bearer(key)).wantError(t, 404, "not_found")
		if m["resource"] != "session" {
			t.Errorf("resource = %v", m["resource"])
		}
	})
}
