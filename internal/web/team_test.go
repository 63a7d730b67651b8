package web_test

import (
	"context"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/internal/service"
)

// actorOf returns the service actor of an account, for checking what the
// pages did without going through them.
func actorOf(t *testing.T, ts *keyholetest.Server, email string) service.Actor {
	t.Helper()
	a, err := ts.Service.VerifyToken(context.Background(), ts.Login(t, email, password))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

var actionRe = regexp.MustCompile(`<form [^>]*method="post"[^>]*action="([^"]+)"`)

// editForms lists the actions of a page's forms, sign-out left out.
func editForms(p page) []string {
	var out []string
	for _, m := range actionRe.FindAllStringSubmatch(p.body, -1) {
		if m[1] != "/logout" {
			out = append(out, html.UnescapeString(m[1]))
		}
	}
	return out
}

// roles returns the team's members as email → role, read by the service.
func roles(t *testing.T, ts *keyholetest.Server, actor service.Actor, team string) map[string]keyhole.TeamRole {
	t.Helper()
	list, err := ts.Service.Members(context.Background(), actor, team)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]keyhole.TeamRole{}
	for _, m := range list {
		out[m.Email] = m.Role
	}
	return out
}

// TestTeamPages: an admin creates a team, adds members (an address with
// no account gets an invitation, listed as pending), changes a role,
// creates a team app, revokes an invitation, cannot delete the team while
// it owns an app, and renames it; a member sees the create-app form and
// no admin forms; a viewer sees no form at all and a forged one is
// refused; an outsider gets the not-found page, as for a team that does
// not exist.
func TestTeamPages(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		for _, e := range []string{"ada@example.com", "bob@example.com", "vic@example.com", "eve@example.com"} {
			ts.CreateAccount(t, e, password)
		}
		ada := signedIn(t, ts, "ada@example.com")
		adaActor := actorOf(t, ts, "ada@example.com")

		if p := ada.post(t, ts.URL, "/dashboard/teams", "/dashboard/teams", url.Values{"name": {"Not A Name"}}); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "Team names start with a letter") {
			t.Errorf("a bad team name: %d %q", p.status, errorText(p))
		}
		p := ada.post(t, ts.URL, "/dashboard/teams", "/dashboard/teams", url.Values{"name": {"platform"}})
		if p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/teams/platform?done=team-created" {
			t.Fatalf("create a team: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if p := ada.post(t, ts.URL, "/dashboard/teams", "/dashboard/teams", url.Values{"name": {"platform"}}); p.status != http.StatusConflict || !strings.Contains(errorText(p), "already taken") {
			t.Errorf("a taken team name: %d %q", p.status, errorText(p))
		}
		team := "/dashboard/teams/platform"
		add := func(email, role string) page {
			t.Helper()
			return ada.post(t, ts.URL, team, team+"/members/add", url.Values{"email": {email}, "role": {role}})
		}
		for email, role := range map[string]string{"bob@example.com": "member", "vic@example.com": "viewer"} {
			if p := add(email, role); p.status != http.StatusSeeOther || p.header.Get("Location") != team+"?done=member-added" {
				t.Fatalf("add %s: %d %q %q", email, p.status, p.header.Get("Location"), errorText(p))
			}
		}
		if p := add("bob@example.com", "admin"); p.status != http.StatusConflict || !strings.Contains(errorText(p), "already a member") {
			t.Errorf("adding a member twice: %d %q", p.status, errorText(p))
		}
		if p := add("carol@example.com", "boss"); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "roles are admin, member and viewer") {
			t.Errorf("an unknown role: %d %q", p.status, errorText(p))
		}
		p = add("new@example.com", "member")
		if p.status != http.StatusSeeOther || p.header.Get("Location") != team+"?done=invited" {
			t.Fatalf("add an address without an account: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		ts.Mail().Take(t, "new@example.com", "you are invited to join the team platform")
		p = ada.do("GET", ts.URL+p.header.Get("Location"), nil)
		if !strings.Contains(p.body, "we mailed it an invitation") || !strings.Contains(p.body, `class="row invitation" data-email="new@example.com"`) {
			t.Errorf("the invitation is not shown as mailed and pending: %s", p.body)
		}
		if got := roles(t, ts, adaActor, "platform"); len(got) != 3 || got["bob@example.com"] != "member" || got["vic@example.com"] != "viewer" || got["new@example.com"] != "" {
			t.Errorf("members = %v", got)
		}

		// The admin's page has every form.
		for _, want := range []string{team + "/members/role", team + "/members/remove", team + "/members/add", team + "/invitations/revoke", team + "/apps", team + "/rename", team + "/delete"} {
			if !strings.Contains(strings.Join(editForms(p), " "), want) {
				t.Errorf("the admin's team page has no form %s", want)
			}
		}
		if p := ada.post(t, ts.URL, team, team+"/apps", url.Values{"name": {"web-app"}, "region": {"eu"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/apps/web-app?done=app-created" {
			t.Fatalf("create a team app: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		p = ada.do("GET", ts.URL+team, nil)
		if !strings.Contains(p.body, `href="/dashboard/apps/web-app"`) || !strings.Contains(p.body, "eu ·") {
			t.Errorf("the team page does not list its app: %s", p.body)
		}
		if p := ada.do("GET", ts.URL+"/dashboard/teams", nil); !strings.Contains(p.body, `href="/dashboard/teams/platform"`) || !strings.Contains(p.body, `badge ok">admin<`) {
			t.Errorf("the teams page: %s", p.body)
		}

		// A member: the create-app form, no admin form, roles as text.
		bob := signedIn(t, ts, "bob@example.com")
		p = bob.do("GET", ts.URL+team, nil)
		if got := editForms(p); p.status != 200 || len(got) != 2 || got[0] != team+"/members/remove" || got[1] != team+"/apps" {
			t.Errorf("the member's team page: %d, forms %v, want leave and create an app", p.status, got)
		}
		if !strings.Contains(p.body, `data-email="vic@example.com"`) || !strings.Contains(p.body, `badge role">viewer<`) {
			t.Errorf("the member does not see the members with their roles: %s", p.body)
		}
		if p := bob.do("GET", ts.URL+"/dashboard/teams", nil); !strings.Contains(p.body, `href="/dashboard/teams/platform"`) || !strings.Contains(p.body, `badge">member<`) {
			t.Errorf("the member's teams page: %s", p.body)
		}
		if p := bob.post(t, ts.URL, team, team+"/members/role", url.Values{"email": {"bob@example.com"}, "role": {"admin"}}); p.status != http.StatusForbidden || !strings.Contains(errorText(p), "Only admins") {
			t.Errorf("a member making themselves admin: %d %q", p.status, errorText(p))
		}

		// A viewer: no form but the one that leaves, and forged ones are
		// refused.
		vic := signedIn(t, ts, "vic@example.com")
		p = vic.do("GET", ts.URL+team, nil)
		if got := editForms(p); p.status != 200 || len(got) != 1 || got[0] != team+"/members/remove" || !strings.Contains(p.body, "web-app") || !strings.Contains(p.body, "Leave team") {
			t.Errorf("the viewer's team page: %d, forms %v", p.status, got)
		}
		for _, forged := range []struct {
			action string
			fields url.Values
			want   string
		}{
			{team + "/members/add", url.Values{"email": {"eve@example.com"}, "role": {"admin"}}, "Only admins"},
			{team + "/members/role", url.Values{"email": {"vic@example.com"}, "role": {"admin"}}, "Only admins"},
			{team + "/members/remove", url.Values{"email": {"bob@example.com"}}, "Only admins"},
			{team + "/invitations/revoke", url.Values{"email": {"new@example.com"}}, "Only admins"},
			{team + "/apps", url.Values{"name": {"vics-app"}}, "Viewers of team platform cannot create apps"},
			{team + "/rename", url.Values{"name": {"vics-team"}}, "Only admins"},
			{team + "/delete", nil, "Only admins"},
		} {
			p := vic.post(t, ts.URL, team, forged.action, forged.fields)
			if p.status != http.StatusForbidden || !strings.Contains(errorText(p), forged.want) {
				t.Errorf("the viewer's forged %s: %d %q", forged.action, p.status, errorText(p))
			}
		}
		if got := roles(t, ts, adaActor, "platform"); len(got) != 3 || got["vic@example.com"] != "viewer" || got["eve@example.com"] != "" {
			t.Errorf("members after the viewer's forged forms = %v", got)
		}
		if apps, err := ts.Service.TeamApps(context.Background(), adaActor, "platform", storeByName); err != nil || len(apps) != 1 {
			t.Errorf("team apps after the viewer's forged forms: %v %v", apps, err)
		}

		// An outsider: the not-found page, as for no team at all.
		eve := signedIn(t, ts, "eve@example.com")
		none := eve.do("GET", ts.URL+"/dashboard/teams/no-such-team", nil)
		p = eve.do("GET", ts.URL+team, nil)
		if none.status != http.StatusNotFound || p.status != none.status || mainText(p) != mainText(none) {
			t.Errorf("an outsider at the team: %d %q; at no team: %d %q", p.status, mainText(p), none.status, mainText(none))
		}
		if p := eve.post(t, ts.URL, "/dashboard/teams", team+"/members/add", url.Values{"email": {"eve@example.com"}, "role": {"admin"}}); p.status != http.StatusNotFound {
			t.Errorf("an outsider adding themselves: %d", p.status)
		}
		if p := eve.do("GET", ts.URL+"/dashboard/teams", nil); strings.Contains(p.body, "platform") {
			t.Error("the outsider's teams page lists the team")
		}

		// The admin changes a role, revokes the invitation, cannot delete
		// the team while it owns an app, and renames it.
		if p := ada.post(t, ts.URL, team, team+"/members/role", url.Values{"email": {"vic@example.com"}, "role": {"member"}}); p.status != http.StatusSeeOther {
			t.Errorf("change a role: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, team, team+"/members/role", url.Values{"email": {"ada@example.com"}, "role": {"viewer"}}); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "needs at least one admin") {
			t.Errorf("the last admin stepping down: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, team, team+"/invitations/revoke", url.Values{"email": {"new@example.com"}}); p.status != http.StatusSeeOther {
			t.Errorf("revoke the invitation: %d %q", p.status, errorText(p))
		}
		if p := ada.do("GET", ts.URL+team, nil); strings.Contains(p.body, `data-email="new@example.com"`) || !strings.Contains(p.body, "No invitation is waiting") {
			t.Error("the revoked invitation is still listed")
		}
		if p := ada.post(t, ts.URL, team, team+"/delete", nil); p.status != http.StatusBadRequest || !strings.Contains(errorText(p), "still owns apps") {
			t.Errorf("delete a team with an app: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, team, team+"/members/remove", url.Values{"email": {"bob@example.com"}}); p.status != http.StatusSeeOther {
			t.Errorf("remove a member: %d %q", p.status, errorText(p))
		}
		if p := bob.do("GET", ts.URL+team, nil); p.status != http.StatusNotFound {
			t.Errorf("the removed member at the team: %d", p.status)
		}
		// The viewer leaves on their own, back to their teams.
		if p := vic.post(t, ts.URL, team, team+"/members/remove", url.Values{"email": {"vic@example.com"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/teams?done=left-team" {
			t.Errorf("the viewer leaving: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if p := vic.do("GET", ts.URL+team, nil); p.status != http.StatusNotFound {
			t.Errorf("the viewer after leaving: %d", p.status)
		}
		if p := ada.post(t, ts.URL, team, team+"/rename", url.Values{"name": {"core"}}); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/teams/core?done=team-renamed" {
			t.Errorf("rename: %d %q %q", p.status, p.header.Get("Location"), errorText(p))
		}
		if p := ada.post(t, ts.URL, "/dashboard/apps/web-app", "/dashboard/apps/web-app/delete", nil); p.status != http.StatusSeeOther {
			t.Fatalf("delete the app: %d %q", p.status, errorText(p))
		}
		if p := ada.post(t, ts.URL, "/dashboard/teams/core", "/dashboard/teams/core/delete", nil); p.status != http.StatusSeeOther || p.header.Get("Location") != "/dashboard/teams?done=team-deleted" {
			t.Errorf("delete the team: %d %q", p.status, errorText(p))
		}
		if p := ada.do("GET", ts.URL+"/dashboard/teams/core", nil); p.status != http.StatusNotFound {
			t.Errorf("the deleted team: %d", p.status)
		}
	})
}

var mainRe = regexp.MustCompile(`(?s)<main[^>]*>(.*)</main>`)

// mainText is the content of a page's main element, the form tokens left
// out: what differs between two pages apart from the session.
func mainText(p page) string {
	m := mainRe.FindStringSubmatch(p.body)
	if m == nil {
		return ""
	}
	return csrfRe.ReplaceAllString(m[1], "")
}

// TestInvitationPage: the link of an invitation mailed to an address
// without an account shows the team, the role and who sent it; a visitor
// is offered to sign up, and after signing up, confirming the address and
// signing in comes back to accept it and is a member. The link then no
// longer works; a link forwarded to another account is refused, and a
// made-up one is a friendly page.
func TestInvitationPage(t *testing.T) {
	eachBackend(t, func(t *testing.T, be keyholetest.Backend) {
		ts := keyholetest.NewServer(t, keyholetest.Options{Store: be.Open(t)})
		ts.CreateAccount(t, "ada@example.com", password)
		ts.CreateAccount(t, "mallory@example.com", password)
		ada := signedIn(t, ts, "ada@example.com")
		if p := ada.post(t, ts.URL, "/dashboard/teams", "/dashboard/teams", url.Values{"name": {"platform"}}); p.status != http.StatusSeeOther {
			t.Fatalf("create a team: %d %q", p.status, errorText(p))
		}
		team := "/dashboard/teams/platform"
		for _, email := range []string{"new@example.com", "other@example.com"} {
			if p := ada.post(t, ts.URL, team, team+"/members/add", url.Values{"email": {email}, "role": {"viewer"}}); p.status != http.StatusSeeOther {
				t.Fatalf("invite %s: %d %q", email, p.status, errorText(p))
			}
		}
		link := ts.Mail().Take(t, "new@example.com", "you are invited to join the team platform").Link(service.InvitationPath + "?token=")
		forwarded := ts.Mail().Take(t, "other@example.com", "you are invited to join the team platform").Link(service.InvitationPath + "?token=")
		if link == "" || forwarded == "" {
			t.Fatal("no invitation link in the mails")
		}
		// Where the visitor comes back to: the page without the link's
		// secret, which stays in a cookie of that path alone.
		here := service.InvitationPath
		secret := strings.TrimPrefix(strings.TrimPrefix(link, ts.URL), service.InvitationPath+"?token=")

		b := newBrowser(t)
		p := b.do("GET", link, nil)
		if p.status != 200 || !strings.Contains(p.body, "Join the team platform") || !strings.Contains(p.body, "<dd>viewer</dd>") || !strings.Contains(p.body, "<dd>ada@example.com</dd>") {
			t.Fatalf("the invitation page for a visitor: %d %s", p.status, p.body)
		}
		if strings.Contains(p.body, `action="`+service.InvitationPath+`"`) {
			t.Error("a visitor is offered the Accept button")
		}
		signup := "/signup?next=" + url.QueryEscape(here)
		if !strings.Contains(strings.ToLower(p.body), strings.ToLower(html.EscapeString(signup))) {
			t.Fatalf("no sign-up link coming back to %s: %s", here, p.body)
		}
		// Accepting without an account only leads to signing in.
		if strings.Contains(p.body, secret) {
			t.Errorf("the visitor's page carries the link's secret (in a sign-in or sign-up link)")
		}
		accept := url.Values{"csrf": {b.do("GET", ts.URL+"/login", nil).csrf(t)}, "token": {secret}}
		if p := b.do("POST", ts.URL+service.InvitationPath, accept); p.status != http.StatusSeeOther || p.header.Get("Location") != "/login?next="+url.QueryEscape(here) {
			t.Errorf("a visitor's accept: %d %q, want a redirect without the secret", p.status, p.header.Get("Location"))
		}

		// Sign up, confirm the address, sign in: back at the invitation.
		form := b.do("GET", ts.URL+signup, nil)
		fields := formFields(form)
		if fields.Get("next") != here {
			t.Fatalf("the sign-up form carries next=%q, want %q", fields.Get("next"), here)
		}
		fields.Set("email", "new@example.com")
		fields.Set("password", password)
		sent := b.do("POST", ts.URL+"/signup", fields)
		if strings.Contains(sent.body, secret) || strings.Contains(sent.header.Get("Location"), secret) {
			t.Errorf("the sign-up answer carries the invitation's secret")
		}
		if sent.status != 200 || !strings.Contains(strings.ToLower(sent.body), strings.ToLower(html.EscapeString("/login?next="+url.QueryEscape(here)))) {
			t.Fatalf("the check-your-mail page does not lead back: %d %s", sent.status, sent.body)
		}
		verify := b.do("GET", ts.Mail().Take(t, "new@example.com", "confirm your email address").Link("/email/verify?token="), nil)
		if p := b.do("POST", ts.URL+"/email/verify", formFields(verify)); p.status != 200 {
			t.Fatalf("confirm the address: %d %s", p.status, p.body)
		}
		login := b.do("GET", ts.URL+"/login?next="+url.QueryEscape(here), nil)
		lf := formFields(login)
		lf.Set("email", "new@example.com")
		lf.Set("password", password)
		p = b.do("POST", ts.URL+"/login", lf)
		if p.status != http.StatusSeeOther || p.header.Get("Location") != here {
			t.Fatalf("sign in: %d → %q, want %q", p.status, p.header.Get("Location"), here)
		}
		// Back without the secret in the address: the cookie has it.
		p = b.do("GET", ts.URL+here, nil)
		if p.status != 200 || !strings.Contains(p.body, `action="`+service.InvitationPath+`"`) || !strings.Contains(p.body, "signed in as <b>new@example.com</b>") {
			t.Fatalf("the invitation page signed in: %d %s", p.status, p.body)
		}
		p = b.do("POST", ts.URL+service.InvitationPath, formFields(p))
		if p.status != http.StatusSeeOther || !strings.HasSuffix(p.header.Get("Location"), "?done=joined") {
			t.Fatalf("accept: %d %q %s", p.status, p.header.Get("Location"), p.body)
		}
		p = b.do("GET", ts.URL+p.header.Get("Location"), nil)
		if p.status != 200 || !strings.Contains(p.body, "Welcome: you joined the team") || !strings.Contains(p.body, "You are a viewer of this team") {
			t.Errorf("the team page after joining: %d %s", p.status, p.body)
		}
		if got := roles(t, ts, actorOf(t, ts, "ada@example.com"), "platform"); got["new@example.com"] != keyhole.RoleViewer {
			t.Errorf("members after accepting = %v", got)
		}
		if p := b.do("GET", link, nil); p.status != http.StatusNotFound || !strings.Contains(p.body, "This invitation link is not valid") {
			t.Errorf("the used link: %d %s", p.status, p.body)
		}

		// The forwarded link: another account's accept is refused.
		mal := signedIn(t, ts, "mallory@example.com")
		p = mal.do("GET", forwarded, nil)
		if p.status != 200 {
			t.Fatalf("the forwarded link: %d", p.status)
		}
		if p := mal.do("POST", ts.URL+service.InvitationPath, formFields(p)); p.status != http.StatusForbidden || !strings.Contains(p.body, "This invitation is for other@example.com") {
			t.Errorf("accepting another's invitation: %d %s", p.status, p.body)
		}
		if got := roles(t, ts, actorOf(t, ts, "ada@example.com"), "platform"); got["mallory@example.com"] != "" {
			t.Errorf("the forwarded link let mallory in: %v", got)
		}
		if p := mal.do("GET", ts.URL+service.InvitationPath+"?token=made-up", nil); p.status != http.StatusNotFound || !strings.Contains(p.body, "This invitation link is not valid") || !strings.Contains(p.header.Get("Content-Type"), "text/html") {
			t.Errorf("a made-up link: %d %s", p.status, p.body)
		}
	})
}
