package web_test

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

var storeByName = store.Range{Field: "name"}

// TestAppPages: the apps page lists personal and team apps with their
// owner or team, and creates a personal app. On a team app the admin
// grants a collaborator deploy, who then sees the app and its config vars
// (on a page never cached) and sets one, but has no form to delete the
// app, manage access or switch maintenance, and whose forged forms are
// refused; a team viewer sees no config vars and no form; an outsider
// gets the not-found page, as for no app at all. The admin then adds
// operate, which brings the maintenance form, locks the app, and removes
// the collaborator, who can no longer see it.
func TestAppPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		for _, e := range []string{"ada@example.com", "col@example.com", "vic@example.com", "eve@example.com"} {
			ts.CreateAccount(t, e, password)
		}
		ada := signedIn(t, ts, "ada@example.com")
		if p := ada.post(t, ts.URL, "/dashboard/apps", "/dashboard/apps", url.Values{"name": {"adas-app"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/apps/adas-app?done=app-created" {
			t.Fatalf("create a personal app: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if p := ada.post(t, ts.URL, "/dashboard/apps", "/dashboard/apps", url.Values{"name": {"adas-app"}}); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "already taken") {
			t.Errorf("a taken app name: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, "/dashboard/teams", "/dashboard/teams", url.Values{"name": {"platform"}}); p.status != http.StatusSeeOther {
			t.Fatalf("create a team: %d %q", p.status, errorText(p))
		}
		team := "/dashboard/teams/platform"
		if p := ada.post(t, ts.URL, team, team+"/members/add", url.Values{"email": {"vic@example.com"}, "role": {"viewer"}}); p.status != http.StatusSeeOther {
			t.Fatalf("add a viewer: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, team, team+"/apps", url.Values{"name": {"web-app"}}); p.status != http.StatusSeeOther {
			t.Fatalf("create a team app: %d %q", p.status, errorText(p))
		}
		list := ada.do("GET", ts.URL+"/dashboard/apps", nil)
		if list.status != 200 || !strings.Contains(list.body, `href="/dashboard/apps/adas-app"`) || !strings.Contains(list.body, "owned by</span> ada@example.com") ||
			!strings.Contains(list.body, `href="/dashboard/apps/web-app"`) || !strings.Contains(list.body, `team</span> <a href="/dashboard/teams/platform">platform</a>`) {
			t.Errorf("the apps page: %d %s", list.status, list.body)
		}

		app := "/dashboard/apps/web-app"
		p := ada.do("GET", ts.URL+app, nil)
		for _, want := range []string{app + "/config-vars", app + "/maintenance", app + "/lock", app + "/collaborators/add", app + "/delete"} {
			if !slices.Contains(editForms(p), want) {
				t.Errorf("the admin's app page has no form %s: %v", want, editForms(p))
			}
		}
		if p := ada.post(t, ts.URL, app, app+"/collaborators/add", url.Values{"email": {"nobody@example.com"}, "permissions": {"1"}, "permission": {"deploy"}}); p.status != http.StatusNotFound || !strings.Contains(errorText(p), "Couldn't find a Keyhole account") {
			t.Errorf("a collaborator without an account: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, app, app+"/collaborators/add", url.Values{"email": {"col@example.com"}, "permissions": {"1"}, "permission": {"deploy"}}); p.status != http.StatusSeeOther {
			t.Fatalf("grant deploy: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, app, app+"/config-vars", url.Values{"key": {"DATABASE_URL"}, "value": {"postgres://secret@db/web"}}); p.status != http.StatusSeeOther {
			t.Fatalf("set a config var: %d %q", p.status, errorText(p))
		}

		// The collaborator with deploy: the app, its config vars, no
		// delete, access or maintenance form; forged ones are refused.
		col := signedIn(t, ts, "col@example.com")
		if p := col.do("GET", ts.URL+"/dashboard/apps", nil); !strings.Contains(p.body, `href="/dashboard/apps/web-app"`) || strings.Contains(p.body, "adas-app") {
			t.Errorf("the collaborator's apps page: %s", p.body)
		}
		p = col.do("GET", ts.URL+app, nil)
		if p.status != 200 || p.header.Get("Cache-Control") != "no-store" || !strings.Contains(p.body, `<code class="value">postgres://secret@db/web</code>`) {
			t.Fatalf("the collaborator's app page: %d %v %s", p.status, p.header, p.body)
		}
		if got := editForms(p); !slices.Contains(got, app+"/config-vars") || slices.Contains(got, app+"/delete") || slices.Contains(got, app+"/collaborators/add") ||
			slices.Contains(got, app+"/collaborators/update") || slices.Contains(got, app+"/maintenance") || slices.Contains(got, app+"/lock") {
			t.Errorf("the collaborator's forms: %v", got)
		}
		if !strings.Contains(p.body, `<dd id="my-permissions">view, deploy</dd>`) {
			t.Errorf("the collaborator's permissions are not shown: %s", p.body)
		}
		if p := col.post(t, ts.URL, app, app+"/config-vars", url.Values{"key": {"LOG_LEVEL"}, "value": {"debug"}}); p.status != http.StatusSeeOther {
			t.Errorf("the collaborator sets a config var: %d %q", p.status, errorText(p))
		}
		for _, forged := range []struct {
			action string
			fields url.Values
			want   string
		}{
			{app + "/delete", nil, "You need the manage permission on web-app"},
			{app + "/maintenance", url.Values{"maintenance": {"on"}}, "You need the operate permission on web-app"},
			{app + "/lock", url.Values{"locked": {"on"}}, "You need the manage permission on web-app"},
			{app + "/collaborators/add", url.Values{"email": {"eve@example.com"}, "permissions": {"1"}, "permission": {"manage"}}, "You need the manage permission on web-app"},
			{app + "/collaborators/update", url.Values{"email": {"col@example.com"}, "permissions": {"1"}, "permission": {"manage"}}, "You need the manage permission on web-app"},
		} {
			if p := col.post(t, ts.URL, app, forged.action, forged.fields); p.status != http.StatusForbidden || !strings.Contains(errorText(p), forged.want) {
				t.Errorf("the collaborator's forged %s: %d %q", forged.action, p.status, errorText(p))
			}
		}
		adaActor := actorOf(t, ts, "ada@example.com")
		got, err := ts.Service.App(context.Background(), adaActor, "web-app")
		if err != nil || got.Maintenance || got.Locked {
			t.Errorf("the app after the collaborator's forged forms: %+v %v", got, err)
		}
		grants, err := ts.Service.Collaborators(context.Background(), adaActor, "web-app")
		if err != nil || len(grants) != 1 || !slices.Equal(grants[0].Permissions, []keyhole.Permission{keyhole.PermView, keyhole.PermDeploy}) {
			t.Errorf("grants after the collaborator's forged forms: %+v %v", grants, err)
		}

		// A team viewer: the app and who has access, no config vars, no form.
		vic := signedIn(t, ts, "vic@example.com")
		p = vic.do("GET", ts.URL+app, nil)
		if p.status != 200 || strings.Contains(p.body, "postgres://secret") || strings.Contains(p.body, `id="config-vars"`) || len(editForms(p)) != 0 || !strings.Contains(p.body, `data-email="col@example.com"`) {
			t.Errorf("the viewer's app page: %d forms %v %s", p.status, editForms(p), p.body)
		}
		if p := vic.post(t, ts.URL, app, app+"/config-vars", url.Values{"key": {"X"}, "value": {"y"}}); p.status != http.StatusForbidden || !strings.Contains(errorText(p), "deploy permission") {
			t.Errorf("the viewer's forged config var: %d %q", p.status, errorText(p))
		}

		// An outsider: not found, as for no app at all.
		eve := signedIn(t, ts, "eve@example.com")
		none := eve.do("GET", ts.URL+"/dashboard/apps/no-such-app", nil)
		p = eve.do("GET", ts.URL+app, nil)
		if none.status != http.StatusNotFound || p.status != none.status || mainText(p) != mainText(none) || strings.Contains(p.body, "web-app") {
			t.Errorf("an outsider at the app: %d %q; at no app: %d %q", p.status, mainText(p), none.status, mainText(none))
		}
		if p := eve.post(t, ts.URL, "/dashboard/apps", app+"/delete", nil); p.status != http.StatusNotFound {
			t.Errorf("an outsider's delete: %d", p.status)
		}
		if p := eve.do("GET", ts.URL+"/dashboard/apps/adas-app", nil); p.status != http.StatusNotFound {
			t.Errorf("an outsider at a personal app: %d", p.status)
		}

		// The admin adds operate: the collaborator gets the maintenance form.
		if p := ada.post(t, ts.URL, app, app+"/collaborators/update", url.Values{"email": {"col@example.com"}, "permissions": {"1"}, "permission": {"deploy", "operate"}}); p.status != http.StatusSeeOther {
			t.Fatalf("grant operate: %d %q", p.status, errorText(p))
		}
		if p := col.post(t, ts.URL, app, app+"/maintenance", url.Values{"maintenance": {"on"}}); p.status != http.StatusSeeOther {
			t.Errorf("maintenance with operate: %d %q", p.status, errorText(p))
		}
		if p := col.do("GET", ts.URL+app, nil); !slices.Contains(editForms(p), app+"/maintenance") || !strings.Contains(p.body, "Turn maintenance off") {
			t.Errorf("the collaborator with operate has no maintenance form: %v", editForms(p))
		}
		if p := ada.post(t, ts.URL, app, app+"/lock", url.Values{"locked": {"on"}}); p.status != http.StatusSeeOther {
			t.Errorf("lock: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, app, app+"/config-vars", url.Values{"key": {"LOG_LEVEL"}, "unset": {"1"}}); p.status != http.StatusSeeOther {
			t.Errorf("unset a config var: %d %q", p.status, errorText(p))
		}
		p = ada.do("GET", ts.URL+app, nil)
		if !strings.Contains(p.body, `<span class="badge">locked</span>`) || !strings.Contains(p.body, "Unlock") || strings.Contains(p.body, `data-key="LOG_LEVEL"`) || !strings.Contains(p.body, `data-key="DATABASE_URL"`) {
			t.Errorf("the app page after lock and unset: %s", p.body)
		}
		if p := ada.post(t, ts.URL, app, app+"/collaborators/remove", url.Values{"email": {"col@example.com"}}); p.status != http.StatusSeeOther {
			t.Fatalf("remove the collaborator: %d %q", p.status, errorText(p))
		}
		if p := col.do("GET", ts.URL+app, nil); p.status != http.StatusNotFound {
			t.Errorf("the removed collaborator at the app: %d", p.status)
		}

		// A personal app's collaborators hold fixed permissions: no boxes.
		personal := "/dashboard/apps/adas-app"
		if p := ada.post(t, ts.URL, personal, personal+"/collaborators/add", url.Values{"email": {"col@example.com"}}); p.status != http.StatusSeeOther {
			t.Fatalf("a personal app's collaborator: %d %q", p.status, errorText(p))
		}
		p = ada.do("GET", ts.URL+personal, nil)
		if strings.Contains(p.body, `name="permission"`) || !strings.Contains(p.body, `<p class="perms">view, deploy, operate</p>`) || slices.Contains(editForms(p), personal+"/lock") {
			t.Errorf("the personal app's page: %v %s", editForms(p), p.body)
		}
		if !strings.Contains(p.body, `<span class="badge role">owner</span>`) || strings.Count(p.body, `action="`+personal+`/collaborators/remove"`) != 1 {
			t.Errorf("the personal app's owner is not listed apart, with no remove form of their own: %s", p.body)
		}
		// The collaborator leaves it on their own, back to their apps.
		if p := col.do("GET", ts.URL+personal, nil); !strings.Contains(p.body, "Leave app") {
			t.Errorf("the collaborator's page of the personal app has no leave form: %v", editForms(p))
		}
		if p := col.post(t, ts.URL, personal, personal+"/collaborators/remove", url.Values{"email": {"col@example.com"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/apps?done=left-app" {
			t.Errorf("the collaborator leaving: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if p := col.do("GET", ts.URL+personal, nil); p.status != http.StatusNotFound {
			t.Errorf("the collaborator after leaving: %d", p.status)
		}
		if p := ada.post(t, ts.URL, personal, personal+"/delete", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/apps?done=app-deleted" {
			t.Errorf("delete the personal app: %d %q", p.status, errorText(p))
		}
		if p := ada.do("GET", ts.URL+personal, nil); p.status != http.StatusNotFound {
			t.Errorf("the deleted app: %d", p.status)
		}
	})
}

// TestTransferAndDefaultRolePages: the transfer form is there for whoever
// may move the app (a team app's admins, a personal app's owner) and not
// for a collaborator who manages it; a transfer to a team and back to a
// collaborator lands where the person may still look; the default role
// is set on the team's page and preselected for the next member.
func TestTransferAndDefaultRolePages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		for _, e := range []string{"ada@example.com", "mgr@example.com"} {
			ts.CreateAccount(t, e, password)
		}
		ada, mgr := signedIn(t, ts, "ada@example.com"), signedIn(t, ts, "mgr@example.com")
		ctx := context.Background()
		adaActor := actorOf(t, ts, "ada@example.com")
		if _, err := ts.Service.CreateTeam(ctx, adaActor, "movers"); err != nil {
			t.Fatal(err)
		}
		name := "solo-app"
		if _, err := ts.Service.CreateApp(ctx, adaActor, service.AppParams{Name: &name}); err != nil {
			t.Fatal(err)
		}
		if _, err := ts.Service.AddCollaborator(ctx, adaActor, name, "mgr@example.com", nil); err != nil {
			t.Fatal(err)
		}
		app := "/dashboard/apps/" + name
		if got := editForms(ada.do("GET", ts.URL+app, nil)); !slices.Contains(got, app+"/transfer") {
			t.Errorf("the owner's app page has no transfer form: %v", got)
		}
		if p := ada.post(t, ts.URL, app, app+"/transfer", url.Values{"owner": {"movers"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != app+"?done=transferred" {
			t.Fatalf("transfer to the team: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if a, err := ts.Service.App(ctx, adaActor, name); err != nil || a.Team.Name != "movers" {
			t.Fatalf("after the transfer: %+v %v", a, err)
		}
		if _, err := ts.Service.UpdateCollaborator(ctx, adaActor, name, "mgr@example.com", []string{"manage"}); err != nil {
			t.Fatal(err)
		}
		if got := editForms(mgr.do("GET", ts.URL+app, nil)); slices.Contains(got, app+"/transfer") || !slices.Contains(got, app+"/delete") {
			t.Errorf("the managing collaborator's forms = %v, want delete and no transfer", got)
		}
		if p := mgr.post(t, ts.URL, app, app+"/transfer", url.Values{"owner": {"mgr@example.com"}}); p.status != http.StatusForbidden || !strings.Contains(errorText(p), "Only admins") {
			t.Errorf("the collaborator's forged transfer: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, app, app+"/transfer", url.Values{"owner": {"mgr@example.com"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/apps?done=transferred" {
			t.Fatalf("transfer to the collaborator: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if a, err := ts.Service.App(ctx, actorOf(t, ts, "mgr@example.com"), name); err != nil || a.AccountID == "" || !a.Access.Owner {
			t.Errorf("mgr after the transfer: %+v %v", a, err)
		}

		team := "/dashboard/teams/movers"
		if p := ada.post(t, ts.URL, team, team+"/default-role", url.Values{"role": {"viewer"}}); p.status != http.StatusSeeOther {
			t.Fatalf("set the default role: %d %q", p.status, errorText(p))
		}
		if tm, err := ts.Service.Team(ctx, adaActor, "movers"); err != nil || tm.DefaultRole != keyhole.RoleViewer {
			t.Errorf("default role = %q, %v", tm.DefaultRole, err)
		}
		p := ada.do("GET", ts.URL+team, nil)
		if !strings.Contains(p.body, `<select id="member-role" name="role"><option value="admin">admin</option><option value="member">member</option><option value="viewer" selected>viewer</option>`) {
			t.Errorf("the add-member form does not preselect the default role: %s", p.body)
		}
		if p := ada.post(t, ts.URL, team, team+"/default-role", url.Values{"role": {"boss"}}); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "roles are admin, member and viewer") {
			t.Errorf("an unknown default role: %d %q", p.status, errorText(p))
		}
	})
}
