package api_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/api"
	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
)

// holds is, written out by hand, what each person of the matrix holds on
// the team app and on the personal app: the rule of issue 18 (owner, team
// admin, grant, view for team members and viewers), not derived from the
// code that enforces it.
var holds = map[string]struct{ team, personal []keyhole.Permission }{
	"admin":    {team: all},
	"member":   {team: []keyhole.Permission{"view"}},
	"viewer":   {team: []keyhole.Permission{"view"}},
	"c-view":   {team: []keyhole.Permission{"view"}},
	"c-deploy": {team: []keyhole.Permission{"view", "deploy"}},
	"c-oper":   {team: []keyhole.Permission{"view", "operate"}},
	"c-manage": {team: []keyhole.Permission{"view", "manage"}},
	"owner":    {personal: all},
	"p-collab": {personal: []keyhole.Permission{"view", "deploy", "operate"}},
	"outsider": {},
}

var all = []keyhole.Permission{"view", "deploy", "operate", "manage"}

// matrixCall is one request of an app route: the body it sends, and the
// permission it needs when the body decides (PATCH /apps/{app}).
type matrixCall struct {
	pattern string
	body    any
	need    keyhole.Permission
}

func matrixCalls() []matrixCall {
	target := "target@example.com"
	var calls []matrixCall
	for _, rt := range api.Routes() {
		if rt.Permission == "" {
			continue
		}
		method, _, _ := strings.Cut(rt.Pattern, " ")
		c := matrixCall{pattern: rt.Pattern, need: rt.Permission}
		switch {
		case rt.Pattern == "PATCH /apps/{app}":
			c.body = map[string]any{"maintenance": true}
			calls = append(calls, matrixCall{pattern: rt.Pattern, body: map[string]any{"name": "{name}"}, need: keyhole.PermManage})
		case strings.HasSuffix(rt.Pattern, "/config-vars") && method == "PATCH":
			c.body = map[string]any{"RELEASE": "v2"}
		case rt.Pattern == "POST /teams/apps/{app}/collaborators":
			c.body = map[string]any{"user": target, "permissions": []string{"view", "deploy"}}
		case strings.HasSuffix(rt.Pattern, "/collaborators") && method == "POST":
			c.body = map[string]any{"user": target}
		case strings.HasPrefix(rt.Pattern, "PATCH /teams/apps/{app}/collaborators"):
			c.body = map[string]any{"permissions": []string{"operate"}}
		case rt.Pattern == "PATCH /teams/apps/{app}":
			c.body = map[string]any{"locked": false}
		case method == "PATCH" || method == "POST":
			c.body = map[string]any{}
		}
		calls = append(calls, c)
	}
	return calls
}

// TestAppPermissionMatrix walks every app route of the table (its
// Permission column), for each kind of person (team admin, member and
// viewer; collaborators holding each permission; the owner of a personal
// app and its collaborator; an outsider), with a token of each scope, on
// a team app and on a personal app. Each request must get exactly one of:
// 403 naming the scope when the token's scope does not cover the route;
// 404 for the app when the person may not view it; 403 naming the
// permission when they may view it but not do this; and otherwise an
// answer that is neither (the change made, or refused for its own
// reason). The target of the collaborator routes is somebody else, so
// the join and leave rules let nobody through here (TestJoinAndLeave
// covers them). Both checks must pass: a read token of the app's admin cannot
// change its config vars.
func TestAppPermissionMatrix(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server, c client) {
		tokens := map[string]map[string]string{} // person → scope → token
		global := map[string]string{}
		for person := range holds {
			email := person + "@example.com"
			ts.CreateAccount(t, email, password)
			global[person] = ts.Login(t, email, password)
			tokens[person] = map[string]string{}
			for _, scope := range keyhole.APIScopes {
				r := c.do("POST", "/oauth/authorizations", map[string]any{"scope": []string{scope}}, bearer(global[person]))
				if r.status != 201 {
					t.Fatalf("%s token of %s: %d %s", scope, person, r.status, r.body)
				}
				tokens[person][scope] = r.json(t)["access_token"].(map[string]any)["token"].(string)
			}
		}
		ts.CreateAccount(t, "target@example.com", password)
		admin := bearer(global["admin"])
		c.do("POST", "/teams", map[string]any{"name": "matrix"}, admin).wantStatus(t, 201)
		for _, p := range []struct{ who, role string }{{"member", "member"}, {"viewer", "viewer"}} {
			c.do("PUT", "/teams/matrix/members", map[string]any{"email": p.who + "@example.com", "role": p.role}, admin).wantStatus(t, 200)
		}
		// fixtures (re)creates both apps with their grants, after a
		// request of the matrix deleted one.
		fixtures := func() {
			if r := c.do("GET", "/apps/team-app", nil, admin); r.status == 404 {
				c.do("POST", "/teams/apps", map[string]any{"name": "team-app", "team": "matrix"}, admin).wantStatus(t, 201)
				for who, ps := range map[string][]string{"c-view": {"view"}, "c-deploy": {"deploy"}, "c-oper": {"operate"}, "c-manage": {"manage"}} {
					c.do("POST", "/teams/apps/team-app/collaborators", map[string]any{"user": who + "@example.com", "permissions": ps}, admin).wantStatus(t, 201)
				}
			}
			owner := bearer(global["owner"])
			if r := c.do("GET", "/apps/personal-app", nil, owner); r.status == 404 {
				c.do("POST", "/apps", map[string]any{"name": "personal-app"}, owner).wantStatus(t, 201)
				c.do("POST", "/apps/personal-app/collaborators", map[string]any{"user": "p-collab@example.com"}, owner).wantStatus(t, 201)
			}
		}
		fixtures()

		calls := matrixCalls()
		routes := map[string]api.Route{}
		for _, rt := range api.Routes() {
			routes[rt.Pattern] = rt
		}
		checked := 0
		for _, app := range []string{"team-app", "personal-app"} {
			for person, h := range holds {
				has := h.team
				if app == "personal-app" {
					has = h.personal
				}
				for _, scope := range keyhole.APIScopes {
					for _, call := range calls {
						rt := routes[call.pattern]
						method, path, _ := strings.Cut(call.pattern, " ")
						path = strings.ReplaceAll(path, "{app}", app)
						path = strings.ReplaceAll(path, "{user}", url.PathEscape("target@example.com"))
						body := call.body
						if m, ok := body.(map[string]any); ok && m["name"] == "{name}" {
							body = map[string]any{"name": app}
						}
						r := c.do(method, path, body, bearer(tokens[person][scope]))
						checked++
						what := person + " (" + scope + " token) " + method + " " + path
						switch {
						case !keyhole.Grants([]string{scope}, rt.Scope):
							m := r.wantErrorOf(t, what, 403, "forbidden")
							if !strings.Contains(m["message"].(string), string(rt.Scope)) {
								t.Errorf("%s: %s does not name the scope %s", what, m["message"], rt.Scope)
							}
						case len(has) == 0:
							if m := r.wantErrorOf(t, what, 404, "not_found"); m["resource"] != "app" {
								t.Errorf("%s: 404 is not about the app: %s", what, r.body)
							}
						case !slices.Contains(has, call.need):
							m := r.wantErrorOf(t, what, 403, "forbidden")
							if !strings.Contains(m["message"].(string), string(call.need)+" permission") {
								t.Errorf("%s: %s does not name the permission %s", what, m["message"], call.need)
							}
						default:
							if r.status == 403 || (r.status == 404 && strings.Contains(string(r.body), `"resource":"app"`)) || r.status >= 500 {
								t.Errorf("%s = %d, want it allowed; %s", what, r.status, r.body)
							}
							if method == "DELETE" && strings.HasSuffix(path, "/"+app) && r.status == 200 {
								fixtures()
							}
						}
					}
				}
			}
		}
		if checked < 1000 {
			t.Errorf("the matrix made %d requests; the routes or people went missing", checked)
		}
	})
}

// TestEveryAppRouteHasAPermission: a route of one app that names no
// permission would be checked by scope alone.
func TestEveryAppRouteHasAPermission(t *testing.T) {
	for _, rt := range api.Routes() {
		if strings.Contains(rt.Pattern, "{app}") && rt.Permission == "" {
			t.Errorf("%s names no app permission", rt.Pattern)
		}
		if !strings.Contains(rt.Pattern, "{app}") && rt.Permission != "" {
			t.Errorf("%s names a permission but no app", rt.Pattern)
		}
	}
}
