package api_test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/schematest"
)

// people makes accounts named name@example.com and returns a global
// token of each.
func people(t *testing.T, ts *keyholetest.Server, names ...string) map[string]opt {
	out := map[string]opt{}
	for _, n := range names {
		ts.CreateAccount(t, n+"@example.com", password)
		out[n] = bearer(ts.Login(t, n+"@example.com", password))
	}
	return out
}

func (r reply) list(t testing.TB) []map[string]any {
	t.Helper()
	var l []map[string]any
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatalf("body is not a JSON array: %v\n%s", err, r.body)
	}
	return l
}

// activityOf returns the descriptions and details of the account's
// activity log.
func activityOf(t *testing.T, c client, who opt) string {
	r := c.do("GET", "/account/activity", nil, who).wantStatus(t, 200)
	var b strings.Builder
	for _, e := range r.list(t) {
		d, _ := e["detail"].(string)
		b.WriteString(e["description"].(string) + ": " + d + "\n")
	}
	return b.String()
}

// TestTeams walks a team's life through the API with every answer checked
// against Heroku's schema: create (the creator is its admin), the name
// rules, the caller's role, features and preferences, members added,
// changed and removed with their activity and notices, an invitation for
// an address without an account, and an outsider who sees nothing.
func TestTeams(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "bob", "eve")
		ada, bob, eve := p["ada"], p["bob"], p["eve"]

		r := c.do("POST", "/teams", map[string]any{"name": "core"}, ada).wantStatus(t, 201)
		schematest.ValidateLink(t, "team", "POST", "/teams", r.body)
		team := r.json(t)
		if team["role"] != "admin" || team["name"] != "core" || team["type"] != "team" {
			t.Errorf("created team = %s", r.body)
		}
		c.do("POST", "/teams", map[string]any{"name": "core"}, bob).wantError(t, 409, "conflict")
		for _, bad := range []string{"", "Core", "a", "no_underscores", "apps", "invitations", strings.Repeat("x", 31)} {
			c.do("POST", "/teams", map[string]any{"name": bad}, bob).wantError(t, 422, "invalid_params")
		}
		r = c.do("GET", "/teams", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team", "GET", "/teams", r.body)
		if l := r.list(t); len(l) != 1 || l[0]["name"] != "core" || l[0]["role"] != "admin" {
			t.Errorf("ada's teams = %s", r.body)
		}
		c.do("GET", "/teams/"+team["id"].(string), nil, ada).wantStatus(t, 200)

		// An outsider is told the team does not exist, as for one that
		// does not; so is everything under it.
		for _, path := range []string{"/teams/core", "/teams/" + team["id"].(string), "/teams/no-such-team", "/teams/core/members", "/teams/core/apps", "/teams/core/features", "/teams/core/invitations"} {
			c.do("GET", path, nil, eve).wantError(t, 404, "not_found")
		}
		if l := c.do("GET", "/teams", nil, eve).wantStatus(t, 200).list(t); len(l) != 0 {
			t.Errorf("eve's teams = %v", l)
		}

		r = c.do("GET", "/teams/core/features", nil, ada).wantStatus(t, 200)
		schematest.ValidateList(t, "team-feature", r.body)
		feats := map[string]bool{}
		for _, f := range r.list(t) {
			feats[f["name"].(string)] = f["enabled"].(bool)
		}
		if on, ok := feats["org-access-controls"]; !ok || !on {
			t.Errorf("features = %s, want org-access-controls enabled", r.body)
		}
		if feats["team-invite-acceptance"] {
			t.Errorf("team-invite-acceptance is on: the CLI would invite instead of adding members")
		}

		// Members: PUT adds (an existing account joins at once), PATCH
		// changes, POST refuses somebody already in.
		r = c.do("PUT", "/teams/core/members", map[string]any{"email": "bob@example.com", "role": "viewer"}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-member", "PUT", "/teams/{team}/members", r.body)
		if m := r.json(t); m["role"] != "viewer" || m["email"] != "bob@example.com" || m["user"].(map[string]any)["id"] == nil {
			t.Errorf("member = %s", r.body)
		}
		ts.Mail().Take(t, "bob@example.com", "you were added to team core")
		c.do("POST", "/teams/core/members", map[string]any{"email": "bob@example.com", "role": "member"}, ada).wantError(t, 409, "conflict")
		c.do("POST", "/teams/core/members", map[string]any{"email": "ada@example.com", "role": "admin"}, ada).wantError(t, 409, "conflict")
		m := c.do("PUT", "/teams/core/members", map[string]any{"email": "bob@example.com", "role": "owner"}, ada).wantError(t, 422, "invalid_params")
		if msg := m["message"].(string); !strings.Contains(msg, "admin, member and viewer") {
			t.Errorf("unknown role message %q does not name the roles", msg)
		}
		c.do("PATCH", "/teams/core/members", map[string]any{"email": "eve@example.com", "role": "member"}, ada).wantError(t, 404, "not_found")

		// The viewer sees the team and its members, and changes nothing.
		if tm := c.do("GET", "/teams/core", nil, bob).wantStatus(t, 200).json(t); tm["role"] != "viewer" {
			t.Errorf("bob's role = %v", tm["role"])
		}
		r = c.do("GET", "/teams/core/members", nil, bob).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-member", "GET", "/teams/{team}/members", r.body)
		if l := r.list(t); len(l) != 2 {
			t.Errorf("members = %s", r.body)
		}
		c.do("PUT", "/teams/core/members", map[string]any{"email": "eve@example.com", "role": "member"}, bob).wantError(t, 403, "forbidden")
		c.do("PATCH", "/teams/core", map[string]any{"name": "taken-over"}, bob).wantError(t, 403, "forbidden")
		c.do("DELETE", "/teams/core/members/ada@example.com", nil, bob).wantError(t, 403, "forbidden")
		c.do("POST", "/teams/apps", map[string]any{"name": "viewer-app", "team": "core"}, bob).wantError(t, 403, "forbidden")

		r = c.do("PATCH", "/teams/core/members", map[string]any{"email": "bob@example.com", "role": "member"}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-member", "PATCH", "/teams/{team}/members", r.body)
		ts.Mail().Take(t, "bob@example.com", "your role in team core changed")

		// An address without an account gets an invitation by mail: the
		// answer is the pending invitation, nobody is created.
		r = c.do("PUT", "/teams/core/members", map[string]any{"email": "newcomer@example.com", "role": "member"}, ada).wantStatus(t, 202)
		schematest.ValidateLink(t, "team-member", "PUT", "/teams/{team}/members", r.body)
		link := ts.Mail().Take(t, "newcomer@example.com", "invited to join the team core").Link("/teams/invitations/accept")
		r = c.do("GET", "/teams/core/invitations", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-invitation", "GET", "/teams/{team}/invitations", r.body)
		if l := r.list(t); len(l) != 1 || l[0]["user"].(map[string]any)["email"] != "newcomer@example.com" || l[0]["invited_by"].(map[string]any)["email"] != "ada@example.com" {
			t.Errorf("invitations = %s", r.body)
		}
		if l := c.do("GET", "/teams/core/members", nil, ada).wantStatus(t, 200).list(t); len(l) != 2 {
			t.Errorf("the invitation made a member: %v", l)
		}
		u, err := url.Parse(link)
		if err != nil {
			t.Fatal(err)
		}
		tok := u.Query().Get("token")
		// Only the invited address can accept it: eve, who got the link
		// forwarded, cannot.
		c.do("POST", "/teams/invitations/"+tok+"/accept", nil, eve).wantError(t, 403, "forbidden")
		ts.CreateAccount(t, "newcomer@example.com", password)
		newcomer := bearer(ts.Login(t, "newcomer@example.com", password))
		r = c.do("GET", "/teams/invitations/"+tok, nil, newcomer).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-invitation", "GET", "/teams/invitations/{token}", r.body)
		r = c.do("POST", "/teams/invitations/"+tok+"/accept", nil, newcomer).wantStatus(t, 201)
		schematest.ValidateLink(t, "team-invitation", "POST", "/teams/invitations/{token}/accept", r.body)
		c.do("POST", "/teams/invitations/"+tok+"/accept", nil, newcomer).wantError(t, 404, "not_found")
		if tm := c.do("GET", "/teams/core", nil, newcomer).wantStatus(t, 200).json(t); tm["role"] != "member" {
			t.Errorf("newcomer's role = %v", tm["role"])
		}
		if l := c.do("GET", "/teams/core/invitations", nil, ada).wantStatus(t, 200).list(t); len(l) != 0 {
			t.Errorf("the accepted invitation is still pending: %v", l)
		}

		// A revoked invitation's link stops working; a new one replaces
		// the old link.
		c.do("PUT", "/teams/core/invitations", map[string]any{"email": "later@example.com", "role": "viewer"}, ada).wantStatus(t, 200)
		first := ts.Mail().Take(t, "later@example.com", "invited").Link("/teams/invitations/accept")
		c.do("PUT", "/teams/core/invitations", map[string]any{"email": "Later@Example.com", "role": "member"}, ada).wantStatus(t, 200)
		second := ts.Mail().Take(t, "later@example.com", "invited").Link("/teams/invitations/accept")
		ts.CreateAccount(t, "later@example.com", password)
		later := bearer(ts.Login(t, "later@example.com", password))
		c.do("POST", "/teams/invitations/"+tokenOf(t, first)+"/accept", nil, later).wantError(t, 404, "not_found")
		c.do("DELETE", "/teams/core/invitations/later@example.com", nil, ada).wantStatus(t, 200)
		c.do("POST", "/teams/invitations/"+tokenOf(t, second)+"/accept", nil, later).wantError(t, 404, "not_found")

		// Removal: a member leaves on their own; the admin removes
		// somebody; the last admin cannot go.
		c.do("DELETE", "/teams/core/members/newcomer@example.com", nil, newcomer).wantStatus(t, 200)
		c.do("GET", "/teams/core", nil, newcomer).wantError(t, 404, "not_found")
		m = c.do("DELETE", "/teams/core/members/ada@example.com", nil, ada).wantError(t, 422, "invalid_params")
		if !strings.Contains(m["message"].(string), "at least one admin") {
			t.Errorf("last admin message = %q", m["message"])
		}
		c.do("PATCH", "/teams/core/members", map[string]any{"email": "ada@example.com", "role": "member"}, ada).wantError(t, 422, "invalid_params")
		r = c.do("DELETE", "/teams/core/members/bob@example.com", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-member", "DELETE", "/teams/{team}/members/{member}", r.body)
		ts.Mail().Take(t, "bob@example.com", "you were removed from team core")
		c.do("GET", "/teams/core", nil, bob).wantError(t, 404, "not_found")

		// The activity log has each change on the actor's log and on the
		// affected person's.
		adaLog, bobLog := activityOf(t, c, ada), activityOf(t, c, bob)
		for _, want := range []string{"Team created: core", "Team member added: bob@example.com added to team core as viewer",
			"Team member's role changed: bob@example.com is now a member of team core (was viewer)", "Team invitation sent: newcomer@example.com",
			"Team invitation accepted: newcomer@example.com joined team core", "Team member removed: bob@example.com removed from team core"} {
			if !strings.Contains(adaLog, want) {
				t.Errorf("ada's activity lacks %q:\n%s", want, adaLog)
			}
		}
		for _, want := range []string{"Team member added: bob@example.com", "Team member's role changed", "Team member removed: bob@example.com"} {
			if !strings.Contains(bobLog, want) {
				t.Errorf("bob's activity lacks %q:\n%s", want, bobLog)
			}
		}

		// Preferences: the default role.
		r = c.do("PATCH", "/teams/core/preferences", map[string]any{"default-permission": "viewer"}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-preferences", "PATCH", "/teams/{team}/preferences", r.body)
		if pr := r.json(t); pr["default-permission"] != "viewer" {
			t.Errorf("preferences = %s", r.body)
		}
		c.do("PATCH", "/teams/core/preferences", map[string]any{"default-permission": "boss"}, ada).wantError(t, 422, "invalid_params")
		if pr := c.do("GET", "/teams/core/preferences", nil, ada).wantStatus(t, 200).json(t); pr["default-permission"] != "viewer" {
			t.Errorf("a refused change changed the preferences: %v", pr)
		}

		// A team that owns an app is not deleted until the app goes.
		c.do("POST", "/teams/apps", map[string]any{"name": "core-api", "team": "core"}, ada).wantStatus(t, 201)
		m = c.do("DELETE", "/teams/core", nil, ada).wantError(t, 422, "invalid_params")
		if !strings.Contains(m["message"].(string), "still owns apps") {
			t.Errorf("delete message = %q", m["message"])
		}
		c.do("GET", "/teams/core", nil, ada).wantStatus(t, 200)
		c.do("DELETE", "/apps/core-api", nil, ada).wantStatus(t, 200)
		r = c.do("PATCH", "/teams/core", map[string]any{"name": "core-two"}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team", "PATCH", "/teams/{team}", r.body)
		r = c.do("DELETE", "/teams/core-two", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team", "DELETE", "/teams/{team}", r.body)
		c.do("GET", "/teams/core-two", nil, ada).wantError(t, 404, "not_found")
	})
}

func tokenOf(t *testing.T, link string) string {
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	return u.Query().Get("token")
}

// TestTeamApps: a team app is answered as the official Heroku CLI
// recognises one, is reachable under /apps and /teams/apps, listed for
// the team's people and nobody else, locked and unlocked, and moved
// between accounts and teams only by those allowed.
func TestTeamApps(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "bob", "eve", "cat")
		ada, bob, eve, cat := p["ada"], p["bob"], p["eve"], p["cat"]
		team := c.do("POST", "/teams", map[string]any{"name": "shop"}, ada).wantStatus(t, 201).json(t)
		c.do("PUT", "/teams/shop/members", map[string]any{"email": "bob@example.com", "role": "member"}, ada).wantStatus(t, 200)

		r := c.do("POST", "/teams/apps", map[string]any{"name": "shop-web", "team": "shop", "locked": true, "region": "eu"}, bob).wantStatus(t, 201)
		schematest.ValidateLink(t, "team-app", "POST", "/teams/apps", r.body)
		app := r.json(t)
		if app["owner"].(map[string]any)["email"] != "shop@herokumanager.com" || app["team"].(map[string]any)["name"] != "shop" ||
			app["team"].(map[string]any)["id"] != team["id"] || app["locked"] != true {
			t.Errorf("team app = %s", r.body)
		}
		r = c.do("GET", "/apps/shop-web", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "app", "GET", "/apps/{app}", r.body)
		if a := r.json(t); a["team"] == nil || a["owner"].(map[string]any)["email"] != "shop@herokumanager.com" {
			t.Errorf("GET /apps of a team app = %s", r.body)
		}
		r = c.do("GET", "/teams/apps/shop-web", nil, bob).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-app", "GET", "/teams/apps/{app}", r.body)
		r = c.do("GET", "/teams/shop/apps", nil, bob).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-app", "GET", "/teams/{team}/apps", r.body)
		if l := r.list(t); len(l) != 1 {
			t.Errorf("team apps = %s", r.body)
		}
		if l := c.do("GET", "/apps", nil, bob).wantStatus(t, 200).list(t); len(l) != 1 || l[0]["name"] != "shop-web" {
			t.Errorf("bob's apps = %v", l)
		}
		// The outsider: 404 for the app, exactly as for none.
		for _, path := range []string{"/apps/shop-web", "/teams/apps/shop-web", "/apps/" + app["id"].(string), "/apps/no-such-app", "/apps/shop-web/collaborators"} {
			m := c.do("GET", path, nil, eve).wantError(t, 404, "not_found")
			if m["message"] != "Couldn't find that app." {
				t.Errorf("%s: %v", path, m["message"])
			}
		}
		if l := c.do("GET", "/apps", nil, eve).wantStatus(t, 200).list(t); len(l) != 0 {
			t.Errorf("eve's apps = %v", l)
		}
		c.do("POST", "/teams/apps", map[string]any{"name": "eve-app", "team": "shop"}, eve).wantError(t, 404, "not_found")

		// Lock and unlock: manage (bob, a member, has only view).
		c.do("PATCH", "/teams/apps/shop-web", map[string]any{"locked": false}, bob).wantError(t, 403, "forbidden")
		r = c.do("PATCH", "/teams/apps/shop-web", map[string]any{"locked": false}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-app", "PATCH", "/teams/apps/{app}", r.body)
		if r.json(t)["locked"] != false {
			t.Errorf("unlock: %s", r.body)
		}

		// Transfers: a personal app into a team its owner is in; not into
		// a team they are not in; out of a team to a collaborator only.
		c.do("POST", "/apps", map[string]any{"name": "cats-app"}, cat).wantStatus(t, 201)
		// A person's apps (what `heroku apps` lists): personal ones only.
		r = c.do("GET", "/users/~/apps", nil, cat).wantStatus(t, 200)
		schematest.ValidateLink(t, "app", "GET", "/users/{account}/apps", r.body)
		if l := r.list(t); len(l) != 1 || l[0]["name"] != "cats-app" {
			t.Errorf("cat's apps = %s", r.body)
		}
		if l := c.do("GET", "/users/bob@example.com/apps", nil, bob).wantStatus(t, 200).list(t); len(l) != 0 {
			t.Errorf("bob's personal apps = %v, want none: shop-web is the team's", l)
		}
		c.do("GET", "/users/cat@example.com/apps", nil, bob).wantError(t, 404, "not_found")
		c.do("PATCH", "/teams/apps/cats-app", map[string]any{"owner": "shop"}, cat).wantError(t, 404, "not_found")
		c.do("POST", "/apps", map[string]any{"name": "adas-app"}, ada).wantStatus(t, 201)
		c.do("POST", "/apps/adas-app/collaborators", map[string]any{"user": "cat@example.com"}, ada).wantStatus(t, 201)
		r = c.do("PATCH", "/teams/apps/adas-app", map[string]any{"owner": "shop"}, ada).wantStatus(t, 200)
		if a := r.json(t); a["team"] == nil || a["team"].(map[string]any)["name"] != "shop" {
			t.Errorf("transfer to team: %s", r.body)
		}
		c.do("GET", "/apps/adas-app", nil, bob).wantStatus(t, 200)
		c.do("PATCH", "/teams/apps/adas-app", map[string]any{"owner": "eve@example.com"}, ada).wantError(t, 422, "invalid_params")
		r = c.do("PATCH", "/teams/apps/adas-app", map[string]any{"owner": "cat@example.com"}, ada).wantStatus(t, 200)
		if a := r.json(t); a["team"] != nil || a["owner"].(map[string]any)["email"] != "cat@example.com" {
			t.Errorf("transfer to cat: %s", r.body)
		}
		ts.Mail().Take(t, "cat@example.com", "adas-app is now yours")
		c.do("GET", "/apps/adas-app", nil, bob).wantError(t, 404, "not_found")
		c.do("GET", "/apps/adas-app", nil, ada).wantError(t, 404, "not_found")
		c.do("DELETE", "/apps/adas-app", nil, cat).wantStatus(t, 200)
		if !strings.Contains(activityOf(t, c, cat), "App transferred: adas-app transferred to cat@example.com") {
			t.Errorf("cat's activity lacks the transfer")
		}
	})
}

// TestCollaborators: grants on team and personal apps, with the rules of
// each: permissions only on team apps, view always added, unknown names
// refused naming the allowed ones, a notice and an activity entry for
// the person, and the change effective on their very next request.
func TestCollaborators(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "bob", "con")
		ada, con := p["ada"], p["con"]
		c.do("POST", "/teams", map[string]any{"name": "works"}, ada).wantStatus(t, 201)
		c.do("POST", "/teams/apps", map[string]any{"name": "works-api", "team": "works"}, ada).wantStatus(t, 201)
		c.do("PATCH", "/apps/works-api/config-vars", map[string]any{"DB": "postgres://secret"}, ada).wantStatus(t, 200)

		// Before any grant the contractor sees nothing.
		c.do("GET", "/apps/works-api/config-vars", nil, con).wantError(t, 404, "not_found")

		m := c.do("POST", "/teams/apps/works-api/collaborators", map[string]any{"user": "con@example.com", "permissions": []string{"deploy", "fly"}}, ada).wantError(t, 422, "invalid_params")
		if !strings.Contains(m["message"].(string), "view, deploy, operate and manage") {
			t.Errorf("unknown permission message = %q", m["message"])
		}
		c.do("POST", "/teams/apps/works-api/collaborators", map[string]any{"user": "nobody@example.com", "permissions": []string{"deploy"}}, ada).wantError(t, 404, "not_found")
		r := c.do("POST", "/teams/apps/works-api/collaborators", map[string]any{"user": "con@example.com", "permissions": []string{"deploy"}}, ada).wantStatus(t, 201)
		schematest.ValidateLink(t, "team-app-collaborator", "POST", "/teams/apps/{app}/collaborators", r.body)
		if names := permNames(r.json(t)); names != "view,deploy" {
			t.Errorf("permissions = %s, want view,deploy", names)
		}
		ts.Mail().Take(t, "con@example.com", "you were given access to works-api")
		c.do("POST", "/teams/apps/works-api/collaborators", map[string]any{"user": "con@example.com", "permissions": []string{"deploy"}}, ada).wantError(t, 409, "conflict")

		// The very next request: config vars readable, the app not
		// deletable, collaborators not changeable.
		if v := c.do("GET", "/apps/works-api/config-vars", nil, con).wantStatus(t, 200).json(t); v["DB"] != "postgres://secret" {
			t.Errorf("config vars = %v", v)
		}
		c.do("DELETE", "/apps/works-api", nil, con).wantError(t, 403, "forbidden")
		c.do("PATCH", "/apps/works-api", map[string]any{"maintenance": true}, con).wantError(t, 403, "forbidden")
		c.do("POST", "/teams/apps/works-api/collaborators", map[string]any{"user": "bob@example.com", "permissions": []string{"view"}}, con).wantError(t, 403, "forbidden")

		r = c.do("GET", "/apps/works-api/collaborators", nil, con).wantStatus(t, 200)
		schematest.ValidateLink(t, "collaborator", "GET", "/apps/{app}/collaborators", r.body)
		r = c.do("GET", "/teams/apps/works-api/collaborators/con@example.com", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-app-collaborator", "GET", "/teams/apps/{app}/collaborators/{user}", r.body)
		if got := r.json(t)["role"]; got != nil {
			t.Errorf("a contractor outside the team has role %v, want null", got)
		}

		r = c.do("PATCH", "/teams/apps/works-api/collaborators/con@example.com", map[string]any{"permissions": []string{"operate"}}, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-app-collaborator", "PATCH", "/teams/apps/{app}/collaborators/{user}", r.body)
		if names := permNames(r.json(t)); names != "view,operate" {
			t.Errorf("permissions = %s", names)
		}
		ts.Mail().Take(t, "con@example.com", "your access to works-api changed")
		c.do("GET", "/apps/works-api/config-vars", nil, con).wantError(t, 403, "forbidden")
		c.do("PATCH", "/apps/works-api", map[string]any{"maintenance": true}, con).wantStatus(t, 200)

		r = c.do("DELETE", "/apps/works-api/collaborators/con@example.com", nil, ada).wantStatus(t, 200)
		schematest.ValidateLink(t, "collaborator", "DELETE", "/apps/{app}/collaborators/{user}", r.body)
		ts.Mail().Take(t, "con@example.com", "your access to works-api was revoked")
		c.do("GET", "/apps/works-api", nil, con).wantError(t, 404, "not_found")
		for _, want := range []string{"App access granted: con@example.com given view, deploy on works-api", "App permissions changed: con@example.com now has view, operate on works-api", "App access revoked: con@example.com's access to works-api revoked"} {
			if log := activityOf(t, c, con); !strings.Contains(log, want) {
				t.Errorf("con's activity lacks %q:\n%s", want, log)
			}
		}

		// Personal apps: collaborators deploy and operate, never manage,
		// and permissions cannot be chosen or changed.
		c.do("POST", "/apps", map[string]any{"name": "solo-app"}, ada).wantStatus(t, 201)
		m = c.do("POST", "/teams/apps/solo-app/collaborators", map[string]any{"user": "con@example.com", "permissions": []string{"deploy"}}, ada).wantError(t, 422, "invalid_params")
		if !strings.Contains(m["message"].(string), "personal app") {
			t.Errorf("message = %q", m["message"])
		}
		r = c.do("POST", "/apps/solo-app/collaborators", map[string]any{"user": "con@example.com"}, ada).wantStatus(t, 201)
		schematest.ValidateLink(t, "collaborator", "POST", "/apps/{app}/collaborators", r.body)
		if names := permNames(r.json(t)); names != "view,deploy,operate" {
			t.Errorf("personal collaborator = %s", names)
		}
		r = c.do("GET", "/apps/solo-app/collaborators", nil, con).wantStatus(t, 200)
		schematest.ValidateLink(t, "collaborator", "GET", "/apps/{app}/collaborators", r.body)
		if l := r.list(t); len(l) != 2 || l[0]["role"] != "owner" || l[0]["user"].(map[string]any)["email"] != "ada@example.com" || l[1]["role"] != nil {
			t.Errorf("personal app's collaborators = %s, want its owner first, then con", r.body)
		}
		c.do("PATCH", "/teams/apps/solo-app/collaborators/con@example.com", map[string]any{"permissions": []string{"manage"}}, ada).wantError(t, 422, "invalid_params")
		c.do("DELETE", "/apps/solo-app", nil, con).wantError(t, 403, "forbidden")
		c.do("POST", "/apps/solo-app/collaborators", map[string]any{"user": "ada@example.com"}, ada).wantError(t, 422, "invalid_params")

		// Deleting an app ends its grants: an app made again under the
		// name is not the grantee's.
		c.do("DELETE", "/apps/solo-app", nil, ada).wantStatus(t, 200)
		c.do("POST", "/apps", map[string]any{"name": "solo-app"}, ada).wantStatus(t, 201)
		c.do("GET", "/apps/solo-app", nil, con).wantError(t, 404, "not_found")
	})
}

func permNames(collab map[string]any) string {
	var names []string
	for _, p := range collab["permissions"].([]any) {
		names = append(names, p.(map[string]any)["name"].(string))
	}
	return strings.Join(names, ",")
}

// TestJoinAndLeave: a member joins an unlocked team app with view,
// deploy and operate, not a locked one, and never with manage; a viewer
// joins nothing; anybody leaves an app on their own; removing a member
// from the team ends their grants on its apps.
func TestJoinAndLeave(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "mem", "vic")
		ada, mem, vic := p["ada"], p["mem"], p["vic"]
		c.do("POST", "/teams", map[string]any{"name": "guild"}, ada).wantStatus(t, 201)
		c.do("PUT", "/teams/guild/members", map[string]any{"email": "mem@example.com", "role": "member"}, ada).wantStatus(t, 200)
		c.do("PUT", "/teams/guild/members", map[string]any{"email": "vic@example.com", "role": "viewer"}, ada).wantStatus(t, 200)
		c.do("POST", "/teams/apps", map[string]any{"name": "open-app", "team": "guild"}, ada).wantStatus(t, 201)
		c.do("POST", "/teams/apps", map[string]any{"name": "shut-app", "team": "guild", "locked": true}, ada).wantStatus(t, 201)

		c.do("POST", "/teams/apps/open-app/collaborators", map[string]any{"user": "mem@example.com", "permissions": []string{"manage"}}, mem).wantError(t, 403, "forbidden")
		c.do("POST", "/teams/apps/shut-app/collaborators", map[string]any{"user": "mem@example.com"}, mem).wantError(t, 403, "forbidden")
		c.do("POST", "/teams/apps/open-app/collaborators", map[string]any{"user": "vic@example.com"}, vic).wantError(t, 403, "forbidden")
		r := c.do("POST", "/teams/apps/open-app/collaborators", map[string]any{"user": "mem@example.com"}, mem).wantStatus(t, 201)
		if names := permNames(r.json(t)); names != "view,deploy,operate" {
			t.Errorf("joined with %s", names)
		}
		if a := c.do("GET", "/teams/apps/open-app", nil, mem).wantStatus(t, 200).json(t); a["joined"] != true {
			t.Errorf("joined = %v", a["joined"])
		}
		c.do("GET", "/apps/open-app/config-vars", nil, mem).wantStatus(t, 200)
		c.do("GET", "/apps/shut-app/config-vars", nil, mem).wantError(t, 403, "forbidden")
		r = c.do("GET", "/teams/guild/members/mem@example.com/apps", nil, vic).wantStatus(t, 200)
		schematest.ValidateLink(t, "team-member", "GET", "/teams/{team}/members/{member}/apps", r.body)
		if l := r.list(t); len(l) != 1 || l[0]["name"] != "open-app" {
			t.Errorf("the member's apps = %s, want the one they joined", r.body)
		}
		if l := c.do("GET", "/teams/guild/members/ada@example.com/apps", nil, mem).wantStatus(t, 200).list(t); len(l) != 2 {
			t.Errorf("the admin's apps = %v, want both", l)
		}

		// Leaving needs no manage.
		c.do("DELETE", "/apps/open-app/collaborators/mem@example.com", nil, mem).wantStatus(t, 200)
		c.do("GET", "/apps/open-app/config-vars", nil, mem).wantError(t, 403, "forbidden")

		// Removed from the team, a member loses their grants on its apps.
		c.do("POST", "/teams/apps/open-app/collaborators", map[string]any{"user": "mem@example.com", "permissions": []string{"deploy"}}, ada).wantStatus(t, 201)
		c.do("DELETE", "/teams/guild/members/mem@example.com", nil, ada).wantStatus(t, 200)
		c.do("GET", "/apps/open-app", nil, mem).wantError(t, 404, "not_found")
		c.do("PUT", "/teams/guild/members", map[string]any{"email": "mem@example.com", "role": "member"}, ada).wantStatus(t, 200)
		c.do("GET", "/apps/open-app/config-vars", nil, mem).wantError(t, 403, "forbidden")
	})
}

// TestLastAdminUnderConcurrency: 20 admins of one team each step down at
// the same moment: exactly one stays admin. Then two admins remove each
// other at the same moment, ten times over: the team always keeps one.
func TestLastAdminUnderConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		const n = 20
		var names []string
		for i := range n {
			names = append(names, "admin"+string(rune('a'+i)))
		}
		p := people(t, ts, names...)
		first := p[names[0]]
		c.do("POST", "/teams", map[string]any{"name": "crowd"}, first).wantStatus(t, 201)
		for _, name := range names[1:] {
			c.do("PUT", "/teams/crowd/members", map[string]any{"email": name + "@example.com", "role": "admin"}, first).wantStatus(t, 200)
		}
		statuses := keyholetest.Parallel(n, func(i int) int {
			return c.do("PATCH", "/teams/crowd/members", map[string]any{"email": names[i] + "@example.com", "role": "member"}, p[names[i]]).status
		})
		ok, refused := 0, 0
		for _, s := range statuses {
			switch s {
			case 200:
				ok++
			case 422:
				refused++
			default:
				t.Errorf("step down: status %d", s)
			}
		}
		if ok != n-1 || refused != 1 {
			t.Errorf("%d stepped down and %d were refused, want %d and 1", ok, refused, n-1)
		}
		if admins := countAdmins(t, c, first, "crowd"); admins != 1 {
			t.Errorf("%d admins left, want 1", admins)
		}

		for round := range 10 {
			// Two admins, each removing or demoting the other.
			var a, b string
			for _, name := range names {
				if r := c.do("GET", "/teams/crowd", nil, p[name]); r.status == 200 && r.json(t)["role"] == "admin" {
					a = name
				}
			}
			b = names[(indexOf(names, a)+1+round)%n]
			if b == a {
				b = names[(indexOf(names, a)+2)%n]
			}
			c.do("PUT", "/teams/crowd/members", map[string]any{"email": b + "@example.com", "role": "admin"}, p[a]).wantStatus(t, 200)
			keyholetest.Parallel(2, func(i int) int {
				actor, other := a, b
				if i == 1 {
					actor, other = b, a
				}
				if round%2 == 0 {
					return c.do("DELETE", "/teams/crowd/members/"+other+"@example.com", nil, p[actor]).status
				}
				return c.do("PATCH", "/teams/crowd/members", map[string]any{"email": other + "@example.com", "role": "viewer"}, p[actor]).status
			})
			// Whoever was removed comes back as a member for the next round.
			for _, who := range []string{a, b} {
				if c.do("GET", "/teams/crowd", nil, p[who]).status == 404 {
					keeper := a
					if who == a {
						keeper = b
					}
					c.do("PUT", "/teams/crowd/members", map[string]any{"email": who + "@example.com", "role": "member"}, p[keeper]).wantStatus(t, 200)
				}
			}
			if admins := countAdmins(t, c, p[a], "crowd"); admins != 1 {
				t.Fatalf("round %d: %d admins after %s and %s took each other's role away, want exactly 1", round, admins, a, b)
			}
		}
	})
}

func indexOf(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

func countAdmins(t *testing.T, c client, who opt, team string) int {
	n := 0
	for _, m := range c.do("GET", "/teams/"+team+"/members", nil, who).wantStatus(t, 200).list(t) {
		if m["role"] == "admin" {
			n++
		}
	}
	return n
}

// TestTransferRules: only the team's admins move an app out of a team
// (a collaborator who may manage it may not take it); a move to an
// account takes manage from every grant and gives nobody more; an empty
// PATCH still needs operate; a member added with no role gets the team's
// default role.
func TestTransferRules(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "bob", "mgr", "vee", "von")
		ada, bob, mgr, vee, von := p["ada"], p["bob"], p["mgr"], p["vee"], p["von"]
		c.do("POST", "/teams", map[string]any{"name": "movers"}, ada).wantStatus(t, 201)
		c.do("POST", "/teams", map[string]any{"name": "elsewhere"}, bob).wantStatus(t, 201)
		c.do("PUT", "/teams/movers/members", map[string]any{"email": "bob@example.com", "role": "member"}, ada).wantStatus(t, 200)
		c.do("POST", "/teams/apps", map[string]any{"name": "moving-app", "team": "movers"}, ada).wantStatus(t, 201)
		c.do("PATCH", "/apps/moving-app/config-vars", map[string]any{"KEY": "s3cret"}, ada).wantStatus(t, 200)
		for who, ps := range map[string][]string{"mgr": {"manage"}, "vee": {"view"}, "bob": {"manage"}, "von": {"deploy"}} {
			c.do("POST", "/teams/apps/moving-app/collaborators", map[string]any{"user": who + "@example.com", "permissions": ps}, ada).wantStatus(t, 201)
		}

		m := c.do("PATCH", "/teams/apps/moving-app", map[string]any{"owner": "mgr@example.com"}, mgr).wantError(t, 403, "forbidden")
		if !strings.Contains(m["message"].(string), "Only admins") {
			t.Errorf("message = %q", m["message"])
		}
		c.do("PATCH", "/teams/apps/moving-app", map[string]any{"owner": "elsewhere"}, bob).wantError(t, 403, "forbidden")
		if a := c.do("GET", "/apps/moving-app", nil, ada).wantStatus(t, 200).json(t); a["team"] == nil {
			t.Fatalf("the app left its team: %v", a)
		}
		c.do("PATCH", "/apps/moving-app", map[string]any{}, vee).wantError(t, 403, "forbidden")
		c.do("PATCH", "/apps/moving-app", map[string]any{"maintenance": true}, vee).wantError(t, 403, "forbidden")

		c.do("PATCH", "/teams/apps/moving-app", map[string]any{"owner": "von@example.com"}, ada).wantStatus(t, 200)
		c.do("GET", "/apps/moving-app/config-vars", nil, vee).wantError(t, 403, "forbidden")
		c.do("DELETE", "/apps/moving-app", nil, mgr).wantError(t, 403, "forbidden")
		grants := map[string]string{}
		for _, g := range c.do("GET", "/apps/moving-app/collaborators", nil, von).wantStatus(t, 200).list(t) {
			grants[g["user"].(map[string]any)["email"].(string)] = permNames(g)
		}
		if grants["vee@example.com"] != "view" || grants["mgr@example.com"] != "view" || grants["bob@example.com"] != "view" {
			t.Errorf("grants after the move to an account = %v; want manage taken and nothing given", grants)
		}
		c.do("PATCH", "/teams/apps/moving-app", map[string]any{"locked": true}, von).wantError(t, 422, "invalid_params")

		c.do("PATCH", "/teams/movers/preferences", map[string]any{"default-permission": "viewer"}, ada).wantStatus(t, 200)
		ts.CreateAccount(t, "dan@example.com", password)
		if m := c.do("PUT", "/teams/movers/members", map[string]any{"email": "dan@example.com"}, ada).wantStatus(t, 200).json(t); m["role"] != "viewer" {
			t.Errorf("a member added with no role = %v, want the default viewer", m["role"])
		}
	})
}

// TestAddressesStayUnlisted: whether an address has an account is told
// only to somebody adding it, and then at most 30 unknown addresses an
// hour from one address; looking a grant up tells nothing.
func TestAddressesStayUnlisted(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		p := people(t, ts, "ada", "bob")
		ada := p["ada"]
		c.do("POST", "/apps", map[string]any{"name": "probe-app"}, ada).wantStatus(t, 201)
		unknown := c.do("GET", "/apps/probe-app/collaborators/nobody@example.com", nil, ada).wantError(t, 404, "not_found")
		known := c.do("GET", "/apps/probe-app/collaborators/bob@example.com", nil, ada).wantError(t, 404, "not_found")
		if unknown["message"] != known["message"] {
			t.Errorf("a grant's look-up tells addresses apart: %q and %q", unknown["message"], known["message"])
		}
		for i := range 30 {
			c.do("POST", "/apps/probe-app/collaborators", map[string]any{"user": fmt.Sprintf("nobody%d@example.com", i)}, ada).wantError(t, 404, "not_found")
		}
		c.do("POST", "/apps/probe-app/collaborators", map[string]any{"user": "nobody-more@example.com"}, ada).wantError(t, 429, "rate_limit")
		c.do("POST", "/teams", map[string]any{"name": "probers"}, ada).wantStatus(t, 201)
		c.do("PUT", "/teams/probers/members", map[string]any{"email": "nobody-else@example.com", "role": "member"}, ada).wantError(t, 429, "rate_limit")
	})
}
