package keyholeapi_test

import (
	"context"
	"net/url"
	"slices"
	"testing"

	"github.com/keyhole/keyhole/internal/keyholetest"
	"github.com/keyhole/keyhole/keyholeapi"
)

// TestTeamsAndCollaborators drives the teams, members, invitations, team
// apps and collaborators endpoints through the client on each backend:
// every answer is checked against the schema by the recorder.
func TestTeamsAndCollaborators(t *testing.T) {
	eachBackend(t, func(t *testing.T, ts *keyholetest.Server) {
		ctx := context.Background()
		for _, e := range []string{"ada@example.com", "grace+ops@example.com", "bob@example.com"} {
			ts.CreateAccount(t, e, password)
		}
		rec := &recorder{tb: t}
		ada := newClient(t, ts, rec, ts.Login(t, "ada@example.com", password))
		grace := newClient(t, ts, rec, ts.Login(t, "grace+ops@example.com", password))
		bob := newClient(t, ts, rec, ts.Login(t, "bob@example.com", password))

		// Teams.
		team, err := ada.CreateTeam(ctx, keyholeapi.TeamCreate{Name: "platform"})
		if err != nil || team.Name != "platform" || team.Role != "admin" || team.ID == "" {
			t.Fatalf("CreateTeam = %+v, %v", team, err)
		}
		if got, err := ada.Team(ctx, team.ID); err != nil || got.Name != "platform" {
			t.Errorf("Team(id) = %+v, %v", got, err)
		}
		name := "core"
		if got, err := ada.UpdateTeam(ctx, "platform", keyholeapi.TeamUpdate{Name: &name}); err != nil || got.Name != "core" || got.ID != team.ID {
			t.Fatalf("UpdateTeam = %+v, %v", got, err)
		}
		if teams, err := ada.Teams(ctx, nil); err != nil || len(teams) != 1 || teams[0].Name != "core" || teams[0].Role != "admin" {
			t.Errorf("Teams = %+v, %v", teams, err)
		}
		if _, err := bob.Team(ctx, "core"); !keyholeapi.IsNotFound(err) {
			t.Errorf("an outsider's Team: %v, want not_found", err)
		}
		features, err := ada.TeamFeatures(ctx, "core")
		if err != nil || !slices.ContainsFunc(features, func(f keyholeapi.TeamFeature) bool { return f.Name == "org-access-controls" && f.Enabled }) {
			t.Errorf("TeamFeatures = %+v, %v", features, err)
		}
		viewer := "viewer"
		if p, err := ada.UpdateTeamPreferences(ctx, "core", keyholeapi.TeamPreferencesUpdate{DefaultPermission: &viewer}); err != nil || p.DefaultPermission == nil || *p.DefaultPermission != viewer {
			t.Errorf("UpdateTeamPreferences = %+v, %v", p, err)
		}
		if p, err := ada.TeamPreferences(ctx, "core"); err != nil || p.DefaultPermission == nil || *p.DefaultPermission != viewer {
			t.Errorf("TeamPreferences = %+v, %v", p, err)
		}

		// Members: an account is added, an address without one invited.
		res, err := ada.PutMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "grace+ops@example.com", Role: "member"})
		if err != nil || res.Invited || res.Member.Email != "grace+ops@example.com" || res.Member.Role != "member" || res.Member.User.ID == "" {
			t.Fatalf("PutMember(account) = %+v, %v", res, err)
		}
		res, err = ada.PutMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "new@example.com", Role: "viewer"})
		if err != nil || !res.Invited || res.Member.Email != "new@example.com" || res.Member.Role != "viewer" || res.Member.User.ID != "" {
			t.Fatalf("PutMember(no account) = %+v, %v", res, err)
		}
		if _, err := ada.CreateMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "grace+ops@example.com", Role: "member"}); errorID(err) != "conflict" {
			t.Errorf("CreateMember(a member): %v, want conflict", err)
		}
		if _, err := ada.PutMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "bob@example.com", Role: "owner"}); errorID(err) != "invalid_params" {
			t.Errorf("PutMember(role owner): %v, want invalid_params", err)
		}
		if m, err := ada.UpdateMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "grace+ops@example.com", Role: "admin"}); err != nil || m.Role != "admin" {
			t.Errorf("UpdateMember = %+v, %v", m, err)
		}
		if _, err := ada.UpdateMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "grace+ops@example.com", Role: "member"}); err != nil {
			t.Fatal(err)
		}
		if _, err := grace.PutMember(ctx, "core", keyholeapi.TeamMemberInput{Email: "bob@example.com", Role: "member"}); !keyholeapi.IsForbidden(err) {
			t.Errorf("a member's PutMember: %v, want forbidden", err)
		}
		members, err := ada.Members(ctx, "core", &keyholeapi.ListOptions{PageSize: 1})
		if err != nil || len(members) != 2 {
			t.Fatalf("Members = %+v, %v", members, err)
		}
		invs, err := ada.Invitations(ctx, "core")
		if err != nil || len(invs) != 1 || invs[0].User.Email != "new@example.com" || invs[0].Team.Name != "core" || invs[0].InvitedBy.Email != "ada@example.com" {
			t.Fatalf("Invitations = %+v, %v", invs, err)
		}
		if inv, err := ada.RevokeInvitation(ctx, "core", "new@example.com"); err != nil || inv.User.Email != "new@example.com" {
			t.Errorf("RevokeInvitation = %+v, %v", inv, err)
		}
		if invs, err := ada.Invitations(ctx, "core"); err != nil || len(invs) != 0 {
			t.Errorf("Invitations after the revocation = %+v, %v", invs, err)
		}

		// An invitation mailed, shown and accepted once the address has an
		// account.
		ts.Mail().Take(t, "new@example.com", "invited to join the team core")
		if inv, err := ada.Invite(ctx, "core", keyholeapi.TeamInvitationCreate{Email: "new@example.com", Role: "member"}); err != nil || inv.Role != "member" {
			t.Fatalf("Invite = %+v, %v", inv, err)
		}
		link, err := url.Parse(ts.Mail().Take(t, "new@example.com", "invited to join the team core").Link("token="))
		if err != nil {
			t.Fatal(err)
		}
		tok := link.Query().Get("token")
		if inv, err := bob.Invitation(ctx, tok); err != nil || inv.Team.Name != "core" || inv.Role != "member" {
			t.Errorf("Invitation = %+v, %v", inv, err)
		}
		if _, err := bob.AcceptInvitation(ctx, tok); !keyholeapi.IsForbidden(err) {
			t.Errorf("AcceptInvitation by another address: %v, want forbidden", err)
		}
		ts.CreateAccount(t, "new@example.com", password)
		newcomer := newClient(t, ts, rec, ts.Login(t, "new@example.com", password))
		if m, err := newcomer.AcceptInvitation(ctx, tok); err != nil || m.Email != "new@example.com" || m.Role != "member" {
			t.Fatalf("AcceptInvitation = %+v, %v", m, err)
		}
		if _, err := newcomer.AcceptInvitation(ctx, tok); !keyholeapi.IsNotFound(err) {
			t.Errorf("AcceptInvitation twice: %v, want not_found", err)
		}
		if m, err := newcomer.RemoveMember(ctx, "core", "new@example.com"); err != nil || m.Email != "new@example.com" {
			t.Errorf("RemoveMember(oneself) = %+v, %v", m, err)
		}

		// Team apps.
		appName, teamName, locked := "billing", "core", true
		app, err := ada.CreateTeamApp(ctx, keyholeapi.TeamAppCreate{Name: &appName, Team: &teamName, Locked: &locked})
		if err != nil || app.Team == nil || app.Team.Name != "core" || !app.Locked || app.Owner.Email != "core@herokumanager.com" {
			t.Fatalf("CreateTeamApp = %+v, %v", app, err)
		}
		if got, err := ada.App(ctx, "billing"); err != nil || got.Team == nil || got.Team.ID != team.ID || !got.Locked || got.Owner.ID != team.ID {
			t.Errorf("App(team app) = %+v, %v", got, err)
		}
		if got, err := grace.TeamApp(ctx, app.ID); err != nil || got.Name != "billing" {
			t.Errorf("TeamApp = %+v, %v", got, err)
		}
		unlocked := false
		if got, err := ada.UpdateTeamApp(ctx, "billing", keyholeapi.TeamAppUpdate{Locked: &unlocked}); err != nil || got.Locked {
			t.Errorf("UpdateTeamApp(unlock) = %+v, %v", got, err)
		}
		if apps, err := grace.TeamApps(ctx, "core", nil); err != nil || len(apps) != 1 || apps[0].Name != "billing" {
			t.Errorf("TeamApps = %+v, %v", apps, err)
		}
		if apps, err := grace.PersonalApps(ctx, nil); err != nil || len(apps) != 0 {
			t.Errorf("PersonalApps of a member with no app of her own = %+v, %v", apps, err)
		}
		if apps, err := ada.MemberApps(ctx, "core", "ada@example.com"); err != nil || len(apps) != 1 {
			t.Errorf("MemberApps(admin) = %+v, %v", apps, err)
		}

		// Collaborators and permissions.
		perms, err := bob.Permissions(ctx)
		if err != nil || len(perms) != 4 || perms[0].Name != "view" || perms[0].Description == "" {
			t.Errorf("Permissions = %+v, %v", perms, err)
		}
		cl, err := ada.AddTeamCollaborator(ctx, "billing", "bob@example.com", []string{"deploy"})
		if err != nil || cl.User.Email != "bob@example.com" || cl.App.Name != "billing" || !slices.Equal(names(cl.Permissions), []string{"view", "deploy"}) {
			t.Fatalf("AddTeamCollaborator = %+v, %v", cl, err)
		}
		if _, err := ada.AddTeamCollaborator(ctx, "billing", "grace+ops@example.com", []string{"fly"}); errorID(err) != "invalid_params" {
			t.Errorf("AddTeamCollaborator(fly): %v, want invalid_params", err)
		}
		if _, err := ada.AddTeamCollaborator(ctx, "billing", "bob@example.com", []string{"deploy"}); errorID(err) != "conflict" {
			t.Errorf("AddTeamCollaborator twice: %v, want conflict", err)
		}
		if cl, err := ada.UpdateCollaborator(ctx, "billing", "bob@example.com", []string{"operate", "deploy"}); err != nil || !slices.Equal(names(cl.Permissions), []string{"view", "deploy", "operate"}) {
			t.Errorf("UpdateCollaborator = %+v, %v", cl, err)
		}
		if cl, err := bob.TeamCollaborator(ctx, "billing", "bob@example.com"); err != nil || len(cl.Permissions) != 3 {
			t.Errorf("TeamCollaborator = %+v, %v", cl, err)
		}
		if list, err := ada.TeamCollaborators(ctx, "billing"); err != nil || !slices.ContainsFunc(list, func(c keyholeapi.Collaborator) bool { return c.User.Email == "bob@example.com" }) {
			t.Errorf("TeamCollaborators = %+v, %v", list, err)
		}
		if list, err := bob.Collaborators(ctx, "billing"); err != nil || !slices.ContainsFunc(list, func(c keyholeapi.Collaborator) bool { return c.User.Email == "bob@example.com" }) {
			t.Errorf("Collaborators = %+v, %v", list, err)
		}
		if cl, err := ada.Collaborator(ctx, "billing", "bob@example.com"); err != nil || cl.User.Email != "bob@example.com" {
			t.Errorf("Collaborator = %+v, %v", cl, err)
		}
		entities, err := ada.TeamPermissions(ctx, "core")
		if err != nil || len(entities) != 1 || entities[0].Name != "billing" {
			t.Errorf("TeamPermissions = %+v, %v", entities, err)
		}
		if _, err := bob.DeleteApp(ctx, "billing"); !keyholeapi.IsForbidden(err) {
			t.Errorf("a deployer's DeleteApp: %v, want forbidden", err)
		}
		if cl, err := ada.RemoveTeamCollaborator(ctx, "billing", "bob@example.com"); err != nil || cl.User.Email != "bob@example.com" {
			t.Errorf("RemoveTeamCollaborator = %+v, %v", cl, err)
		}
		if _, err := bob.App(ctx, "billing"); !keyholeapi.IsNotFound(err) {
			t.Errorf("App after the removal: %v, want not_found", err)
		}

		// A personal app: collaborators without chosen permissions, then a
		// transfer to the team and back.
		mine := "mine"
		if _, err := ada.CreateApp(ctx, keyholeapi.AppCreate{Name: &mine}); err != nil {
			t.Fatal(err)
		}
		if cl, err := ada.AddCollaborator(ctx, "mine", "bob@example.com"); err != nil || cl.User.Email != "bob@example.com" {
			t.Errorf("AddCollaborator = %+v, %v", cl, err)
		}
		if _, err := ada.AddTeamCollaborator(ctx, "mine", "grace+ops@example.com", []string{"deploy"}); errorID(err) != "invalid_params" {
			t.Errorf("AddTeamCollaborator(personal app): %v, want invalid_params", err)
		}
		if cl, err := ada.RemoveCollaborator(ctx, "mine", "bob@example.com"); err != nil || cl.User.Email != "bob@example.com" {
			t.Errorf("RemoveCollaborator = %+v, %v", cl, err)
		}
		if got, err := ada.UpdateTeamApp(ctx, "mine", keyholeapi.TeamAppUpdate{Owner: &teamName}); err != nil || got.Team == nil || got.Team.Name != "core" {
			t.Errorf("UpdateTeamApp(to the team) = %+v, %v", got, err)
		}
		back := "ada@example.com"
		if got, err := ada.UpdateTeamApp(ctx, "mine", keyholeapi.TeamAppUpdate{Owner: &back}); err != nil || got.Team != nil || got.Owner.Email != back {
			t.Errorf("UpdateTeamApp(to ada) = %+v, %v", got, err)
		}

		// Leaving and deleting.
		if m, err := ada.RemoveMember(ctx, "core", "grace+ops@example.com"); err != nil || m.Email != "grace+ops@example.com" {
			t.Errorf("RemoveMember = %+v, %v", m, err)
		}
		if _, err := grace.TeamApps(ctx, "core", nil); !keyholeapi.IsNotFound(err) {
			t.Errorf("a removed member's TeamApps: %v, want not_found", err)
		}
		if _, err := ada.DeleteTeam(ctx, "core"); err == nil {
			t.Errorf("DeleteTeam with an app succeeded")
		}
		if _, err := ada.DeleteApp(ctx, "billing"); err != nil {
			t.Fatal(err)
		}
		if got, err := ada.DeleteTeam(ctx, "core"); err != nil || got.Name != "core" {
			t.Errorf("DeleteTeam = %+v, %v", got, err)
		}
		if _, err := ada.Team(ctx, "core"); !keyholeapi.IsNotFound(err) {
			t.Errorf("deleted team: %v", err)
		}
		if n := rec.count("PUT /teams/core/members"); n != 4 {
			t.Errorf("PUT /teams/core/members sent %d times, want 4", n)
		}
	})
}

func names(ps []keyholeapi.Permission) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Name
	}
	return out
}
