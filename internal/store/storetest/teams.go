package storetest

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// newTeam creates a team named name whose first member, an admin, is the
// account.
func newTeam(t *testing.T, s store.Store, name, adminID string) keyhole.Team {
	t.Helper()
	tm := keyhole.Team{ID: id(), Name: name, CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateTeam(ctx, tm, membership(tm.ID, adminID, keyhole.RoleAdmin)))
	return tm
}

func membership(teamID, accountID string, role keyhole.TeamRole) keyhole.Member {
	return keyhole.Member{ID: id(), TeamID: teamID, AccountID: accountID, Role: role, CreatedAt: t0, UpdatedAt: t0}
}

// addMember adds the account to the team with the role.
func addMember(t *testing.T, s store.Store, teamID, accountID string, role keyhole.TeamRole) {
	t.Helper()
	must(t, s.AddMember(ctx, membership(teamID, accountID, role)))
}

// newApp creates an app named name owned by the account, or by the team
// when teamID is set.
func newApp(t *testing.T, s store.Store, name, accountID, teamID string) keyhole.App {
	t.Helper()
	a := keyhole.App{ID: id(), AccountID: accountID, TeamID: teamID, Name: name, Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateApp(ctx, a))
	return a
}

func grant(appID, accountID string, ps ...keyhole.Permission) keyhole.Collaborator {
	return keyhole.Collaborator{ID: id(), AppID: appID, AccountID: accountID, Permissions: ps, CreatedAt: t0, UpdatedAt: t0}
}

func invitation(teamID, email, invitedBy string) keyhole.Invitation {
	return keyhole.Invitation{ID: id(), TeamID: teamID, Email: email, Role: keyhole.RoleMember, InvitedBy: invitedBy,
		Hash: "hi-" + id(), CreatedAt: t0, UpdatedAt: t0, ExpiresAt: t0.Add(7 * 24 * time.Hour)}
}

func appNames(apps []keyhole.App) []string {
	out := make([]string, len(apps))
	for i, a := range apps {
		out[i] = a.Name
	}
	return out
}

func memberEmails(ms []keyhole.Member) []string {
	out := make([]string, len(ms))
	for i, m := range ms {
		out[i] = m.Email
	}
	return out
}

// admins counts the team's admins.
func admins(t *testing.T, s store.Store, teamID string) int {
	t.Helper()
	ms, err := s.Members(ctx, teamID)
	must(t, err)
	n := 0
	for _, m := range ms {
		if m.Role == keyhole.RoleAdmin {
			n++
		}
	}
	return n
}

// testTeams: teams with their first admin, by id and name, the teams of an
// account, updates, and deletion (refused while the team owns an app).
func testTeams(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := keyhole.Team{ID: id(), Name: "zeta", DefaultRole: keyhole.RoleViewer, CreatedAt: t0, UpdatedAt: t0.Add(time.Second)}
	must(t, s.CreateTeam(ctx, tm, membership(tm.ID, ada.ID, keyhole.RoleAdmin), event(ada.ID, keyhole.EventTeamCreated, t0)))
	got, err := s.Team(ctx, tm.ID)
	must(t, err)
	if got != tm || got.CreatedAt.Location() != time.UTC {
		t.Errorf("Team = %+v, want %+v", got, tm)
	}
	if got, err := s.TeamByName(ctx, "zeta"); err != nil || got != tm {
		t.Errorf("TeamByName = %+v, %v", got, err)
	}
	if m, err := s.Member(ctx, tm.ID, ada.ID); err != nil || m.Role != keyhole.RoleAdmin {
		t.Errorf("the creator's membership = %+v, %v; want an admin", m, err)
	}
	_, err = s.Team(ctx, id())
	wantErr(t, err, store.ErrNotFound)
	_, err = s.TeamByName(ctx, "ZETA")
	wantErr(t, err, store.ErrNotFound)

	// Conflicts and a missing admin write nothing.
	dup := keyhole.Team{ID: tm.ID, Name: "other", CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, s.CreateTeam(ctx, dup, membership(dup.ID, bob.ID, keyhole.RoleAdmin)), store.ErrConflict)
	dup = keyhole.Team{ID: id(), Name: "zeta", CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, s.CreateTeam(ctx, dup, membership(dup.ID, bob.ID, keyhole.RoleAdmin)), store.ErrConflict)
	orphan := keyhole.Team{ID: id(), Name: "orphan", CreatedAt: t0, UpdatedAt: t0}
	wantErr(t, s.CreateTeam(ctx, orphan, membership(orphan.ID, id(), keyhole.RoleAdmin)), store.ErrNotFound)
	_, err = s.TeamByName(ctx, "orphan")
	wantErr(t, err, store.ErrNotFound)
	if teams, _ := s.ListTeams(ctx, bob.ID); len(teams) != 0 {
		t.Errorf("failed creations left bob in %v", teams)
	}

	alpha := newTeam(t, s, "alpha", bob.ID)
	addMember(t, s, alpha.ID, ada.ID, keyhole.RoleViewer)
	newTeam(t, s, "bobs", bob.ID)
	teams, err := s.ListTeams(ctx, ada.ID)
	must(t, err)
	want := []store.TeamRole{{Team: alpha, Role: keyhole.RoleViewer}, {Team: tm, Role: keyhole.RoleAdmin}}
	if !reflect.DeepEqual(teams, want) {
		t.Errorf("ListTeams = %+v, want %+v", teams, want)
	}
	if teams, err := s.ListTeams(ctx, id()); err != nil || teams == nil || len(teams) != 0 {
		t.Errorf("ListTeams of nobody = %#v, %v; want an empty list", teams, err)
	}

	boom := errors.New("boom")
	_, err = s.UpdateTeam(ctx, tm.ID, func(x *keyhole.Team) error { x.Name = "changed"; return boom })
	if err != boom {
		t.Errorf("fn error = %v, want boom itself", err)
	}
	_, err = s.UpdateTeam(ctx, tm.ID, func(x *keyhole.Team) error { x.Name = "alpha"; return nil })
	wantErr(t, err, store.ErrConflict)
	_, err = s.UpdateTeam(ctx, id(), func(x *keyhole.Team) error { return nil })
	wantErr(t, err, store.ErrNotFound)
	later := t0.Add(time.Hour)
	updated, err := s.UpdateTeam(ctx, tm.ID, func(x *keyhole.Team) error {
		x.Name, x.DefaultRole, x.UpdatedAt = "omega", keyhole.RoleMember, later
		x.ID, x.CreatedAt = id(), later // not writable
		return nil
	}, event(ada.ID, keyhole.EventTeamChanged, t0))
	must(t, err)
	stored, _ := s.Team(ctx, tm.ID)
	if stored != updated || stored.Name != "omega" || stored.DefaultRole != keyhole.RoleMember || !stored.UpdatedAt.Equal(later) || !stored.CreatedAt.Equal(t0) {
		t.Errorf("after update: %+v (returned %+v)", stored, updated)
	}

	// A team that owns an app stays, with its members and invitations.
	inv := invitation(tm.ID, "cyd@example.com", ada.ID)
	_, err = s.PutInvitation(ctx, inv)
	must(t, err)
	app := newApp(t, s, "team-app", "", tm.ID)
	wantErr(t, s.DeleteTeam(ctx, tm.ID, event(ada.ID, keyhole.EventTeamDeleted, t0)), store.ErrInUse)
	if _, err := s.Member(ctx, tm.ID, ada.ID); err != nil {
		t.Errorf("a refused delete took the membership: %v", err)
	}
	if _, err := s.InvitationByHash(ctx, inv.Hash); err != nil {
		t.Errorf("a refused delete took the invitation: %v", err)
	}
	must(t, s.DeleteApp(ctx, app.ID))
	must(t, s.DeleteTeam(ctx, tm.ID, event(ada.ID, keyhole.EventTeamDeleted, t0)))
	_, err = s.Team(ctx, tm.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.Member(ctx, tm.ID, ada.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.InvitationByHash(ctx, inv.Hash)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.DeleteTeam(ctx, tm.ID), store.ErrNotFound)
	if teams, _ := s.ListTeams(ctx, ada.ID); len(teams) != 1 || teams[0].Team.ID != alpha.ID {
		t.Errorf("ListTeams after the delete = %+v", teams)
	}
	if got := types(events(t, s, ada.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventTeamCreated, keyhole.EventTeamChanged, keyhole.EventTeamDeleted}) {
		t.Errorf("events = %v; want the creation, the change and the one delete that happened", got)
	}
}

// testMembers: memberships with their accounts' fields, additions, role
// changes and removals, and the rule that a team keeps an admin.
func testMembers(t *testing.T, s store.Store) {
	cyd, _ := newAccount(t, s, "cyd@example.com")
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	must(t, s.EnableMFA(ctx, bob.ID, []byte("sealed"), nil, t0))
	tm := newTeam(t, s, "team", cyd.ID)
	must(t, s.AddMember(ctx, membership(tm.ID, ada.ID, keyhole.RoleMember), event(cyd.ID, keyhole.EventMemberAdded, t0)))
	bm := membership(tm.ID, bob.ID, keyhole.RoleViewer)
	must(t, s.AddMember(ctx, bm))

	ms, err := s.Members(ctx, tm.ID)
	must(t, err)
	if got := memberEmails(ms); !slices.Equal(got, []string{"ada@example.com", "bob@example.com", "cyd@example.com"}) {
		t.Errorf("Members by email = %v", got)
	}
	got, err := s.Member(ctx, tm.ID, bob.ID)
	must(t, err)
	want := bm
	want.Email, want.Name, want.MFAEnabled = bob.Email, bob.Name, true
	if got != want || got.CreatedAt.Location() != time.UTC {
		t.Errorf("Member = %+v, want %+v", got, want)
	}
	if !slices.Contains(ms, want) {
		t.Errorf("Members = %+v, want bob's membership %+v among them", ms, want)
	}
	if ms, err := s.Members(ctx, id()); err != nil || ms == nil || len(ms) != 0 {
		t.Errorf("Members of no team = %#v, %v", ms, err)
	}
	_, err = s.Member(ctx, tm.ID, id())
	wantErr(t, err, store.ErrNotFound)

	wantErr(t, s.AddMember(ctx, membership(tm.ID, bob.ID, keyhole.RoleAdmin)), store.ErrConflict)
	wantErr(t, s.AddMember(ctx, membership(id(), bob.ID, keyhole.RoleAdmin)), store.ErrNotFound)
	wantErr(t, s.AddMember(ctx, membership(tm.ID, id(), keyhole.RoleAdmin)), store.ErrNotFound)
	if got, _ := s.Member(ctx, tm.ID, bob.ID); got.Role != keyhole.RoleViewer {
		t.Errorf("a conflicting addition changed bob's role to %q", got.Role)
	}

	// The only admin cannot step down or leave; nothing is written.
	later := t0.Add(time.Minute + time.Microsecond)
	_, err = s.SetMemberRole(ctx, tm.ID, cyd.ID, keyhole.RoleMember, later, event(cyd.ID, keyhole.EventMemberChanged, later))
	wantErr(t, err, store.ErrLastAdmin)
	_, err = s.RemoveMember(ctx, tm.ID, cyd.ID, event(cyd.ID, keyhole.EventMemberRemoved, later))
	wantErr(t, err, store.ErrLastAdmin)
	if m, _ := s.Member(ctx, tm.ID, cyd.ID); m.Role != keyhole.RoleAdmin || !m.UpdatedAt.Equal(t0) {
		t.Errorf("after refused changes the admin is %+v", m)
	}
	// Staying admin is no demotion.
	_, err = s.SetMemberRole(ctx, tm.ID, cyd.ID, keyhole.RoleAdmin, later)
	must(t, err)
	_, err = s.SetMemberRole(ctx, tm.ID, id(), keyhole.RoleAdmin, later)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.SetMemberRole(ctx, id(), cyd.ID, keyhole.RoleAdmin, later)
	wantErr(t, err, store.ErrNotFound)

	promoted, err := s.SetMemberRole(ctx, tm.ID, ada.ID, keyhole.RoleAdmin, later, event(cyd.ID, keyhole.EventMemberChanged, later))
	must(t, err)
	if promoted.Role != keyhole.RoleAdmin || !promoted.UpdatedAt.Equal(later) || promoted.Email != ada.Email || !promoted.CreatedAt.Equal(t0) {
		t.Errorf("SetMemberRole = %+v", promoted)
	}
	if stored, _ := s.Member(ctx, tm.ID, ada.ID); stored != promoted {
		t.Errorf("stored %+v, returned %+v", stored, promoted)
	}
	// With two admins, one may step down.
	demoted, err := s.SetMemberRole(ctx, tm.ID, cyd.ID, keyhole.RoleViewer, later)
	must(t, err)
	if demoted.Role != keyhole.RoleViewer {
		t.Errorf("demoted = %+v", demoted)
	}

	removed, err := s.RemoveMember(ctx, tm.ID, bob.ID, event(cyd.ID, keyhole.EventMemberRemoved, later))
	must(t, err)
	if removed != want {
		t.Errorf("RemoveMember = %+v, want the membership as it was, %+v", removed, want)
	}
	_, err = s.Member(ctx, tm.ID, bob.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RemoveMember(ctx, tm.ID, bob.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RemoveMember(ctx, tm.ID, cyd.ID)
	must(t, err)
	if n := admins(t, s, tm.ID); n != 1 {
		t.Errorf("%d admins left, want ada", n)
	}
	if got := types(events(t, s, cyd.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventMemberAdded, keyhole.EventMemberChanged, keyhole.EventMemberRemoved}) {
		t.Errorf("events = %v; want only those of the changes made", got)
	}
}

// testRemoveMemberGrants: leaving a team takes the account's grants on the
// team's apps with it, and only those.
func testRemoveMemberGrants(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	other := newTeam(t, s, "other", ada.ID)
	addMember(t, s, tm.ID, bob.ID, keyhole.RoleMember)
	addMember(t, s, other.ID, bob.ID, keyhole.RoleMember)
	t1, t2 := newApp(t, s, "t1", "", tm.ID), newApp(t, s, "t2", "", tm.ID)
	o1 := newApp(t, s, "o1", "", other.ID)
	personal := newApp(t, s, "adas", ada.ID, "")
	for _, a := range []keyhole.App{t1, t2, o1, personal} {
		must(t, s.AddCollaborator(ctx, grant(a.ID, bob.ID, keyhole.PermView, keyhole.PermDeploy)))
	}
	// Another member's grant on the team's app stays too.
	cyd, _ := newAccount(t, s, "cyd@example.com")
	addMember(t, s, tm.ID, cyd.ID, keyhole.RoleMember)
	must(t, s.AddCollaborator(ctx, grant(t1.ID, cyd.ID, keyhole.PermView)))

	_, err := s.RemoveMember(ctx, tm.ID, bob.ID)
	must(t, err)
	for _, a := range []keyhole.App{t1, t2} {
		if _, err := s.Collaborator(ctx, a.ID, bob.ID); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("bob's grant on the team's app %s: %v; want it gone", a.Name, err)
		}
	}
	for _, a := range []keyhole.App{o1, personal} {
		if _, err := s.Collaborator(ctx, a.ID, bob.ID); err != nil {
			t.Errorf("bob's grant on %s (not the team's) went: %v", a.Name, err)
		}
	}
	if _, err := s.Collaborator(ctx, t1.ID, cyd.ID); err != nil {
		t.Errorf("another member's grant went: %v", err)
	}

	// A refused removal keeps the grants.
	must(t, s.AddCollaborator(ctx, grant(o1.ID, ada.ID, keyhole.PermView)))
	_, err = s.RemoveMember(ctx, other.ID, ada.ID)
	wantErr(t, err, store.ErrLastAdmin)
	if _, err := s.Collaborator(ctx, o1.ID, ada.ID); err != nil {
		t.Errorf("a refused removal took the grant: %v", err)
	}
}

// testInvitations: one invitation per team and email, replaced in place
// by a new one; lists, lookups, deletion, acceptance and the sweep.
func testInvitations(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	addMember(t, s, tm.ID, bob.ID, keyhole.RoleAdmin)
	inv := invitation(tm.ID, "Dee@Example.com", ada.ID)
	got, err := s.PutInvitation(ctx, inv, event(ada.ID, keyhole.EventInvitationSent, t0))
	must(t, err)
	if got != inv {
		t.Errorf("PutInvitation = %+v, want %+v", got, inv)
	}
	if got, err := s.InvitationByHash(ctx, inv.Hash); err != nil || got != inv || got.ExpiresAt.Location() != time.UTC {
		t.Errorf("InvitationByHash = %+v, %v; want %+v", got, err, inv)
	}
	_, err = s.InvitationByHash(ctx, "nope")
	wantErr(t, err, store.ErrNotFound)

	// Inviting the same address again, in another case, replaces the
	// invitation: same id and creation, new link, role, inviter and times.
	again := invitation(tm.ID, "dee@example.COM", bob.ID)
	again.Role, again.CreatedAt, again.UpdatedAt, again.ExpiresAt = keyhole.RoleViewer, t0.Add(time.Hour), t0.Add(time.Hour), t0.Add(8*24*time.Hour)
	replaced, err := s.PutInvitation(ctx, again, event(bob.ID, keyhole.EventInvitationSent, t0))
	must(t, err)
	want := keyhole.Invitation{ID: inv.ID, TeamID: tm.ID, Email: inv.Email, Role: keyhole.RoleViewer, InvitedBy: bob.ID, Hash: again.Hash,
		CreatedAt: inv.CreatedAt, UpdatedAt: again.UpdatedAt, ExpiresAt: again.ExpiresAt}
	if replaced != want {
		t.Errorf("replaced invitation = %+v, want %+v", replaced, want)
	}
	_, err = s.InvitationByHash(ctx, inv.Hash)
	wantErr(t, err, store.ErrNotFound)
	if got, err := s.InvitationByHash(ctx, again.Hash); err != nil || got != want {
		t.Errorf("by the new hash = %+v, %v", got, err)
	}

	// Another team may invite the same address; a hash is unique.
	other := newTeam(t, s, "other", ada.ID)
	_, err = s.PutInvitation(ctx, invitation(other.ID, "dee@example.com", ada.ID))
	must(t, err)
	clash := invitation(other.ID, "eve@example.com", ada.ID)
	clash.Hash = again.Hash
	_, err = s.PutInvitation(ctx, clash)
	wantErr(t, err, store.ErrConflict)
	_, err = s.PutInvitation(ctx, invitation(id(), "eve@example.com", ada.ID))
	wantErr(t, err, store.ErrNotFound)

	expired := invitation(tm.ID, "cal@example.com", ada.ID)
	expired.ExpiresAt = t0
	_, err = s.PutInvitation(ctx, expired)
	must(t, err)
	list, err := s.Invitations(ctx, tm.ID)
	must(t, err)
	// By email, case-insensitively: cal@ before Dee@.
	if len(list) != 2 || list[0] != expired || list[1] != want {
		t.Errorf("Invitations = %+v; want cal's (expired), then Dee's", list)
	}
	if list, err := s.Invitations(ctx, id()); err != nil || list == nil || len(list) != 0 {
		t.Errorf("Invitations of no team = %#v, %v", list, err)
	}

	deleted, err := s.DeleteInvitation(ctx, other.ID, "DEE@example.com", event(ada.ID, keyhole.EventInvitationRevoked, t0))
	must(t, err)
	if deleted.TeamID != other.ID || deleted.Email != "dee@example.com" {
		t.Errorf("DeleteInvitation = %+v", deleted)
	}
	_, err = s.DeleteInvitation(ctx, other.ID, "dee@example.com")
	wantErr(t, err, store.ErrNotFound)
	if _, err := s.InvitationByHash(ctx, again.Hash); err != nil {
		t.Errorf("deleting another team's invitation took this one: %v", err)
	}

	// Accepting: only a live invitation, of m's team, and only once.
	dee, _ := newAccount(t, s, "dee@example.com")
	at := t0.Add(2 * time.Hour)
	wantErr(t, s.AcceptInvitation(ctx, expired.Hash, t0, membership(tm.ID, dee.ID, keyhole.RoleMember)), store.ErrNotFound)
	wantErr(t, s.AcceptInvitation(ctx, again.Hash, at, membership(other.ID, dee.ID, keyhole.RoleMember)), store.ErrNotFound)
	wantErr(t, s.AcceptInvitation(ctx, again.Hash, at, membership(tm.ID, bob.ID, keyhole.RoleViewer)), store.ErrConflict)
	if _, err := s.InvitationByHash(ctx, again.Hash); err != nil {
		t.Errorf("a refused acceptance used the invitation: %v", err)
	}
	m := membership(tm.ID, dee.ID, keyhole.RoleViewer)
	must(t, s.AcceptInvitation(ctx, again.Hash, at, m, event(dee.ID, keyhole.EventInvitationAccepted, at)))
	if got, err := s.Member(ctx, tm.ID, dee.ID); err != nil || got.ID != m.ID || got.Role != keyhole.RoleViewer {
		t.Errorf("member after acceptance = %+v, %v", got, err)
	}
	_, err = s.InvitationByHash(ctx, again.Hash)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.AcceptInvitation(ctx, again.Hash, at, membership(tm.ID, ada.ID, keyhole.RoleMember)), store.ErrNotFound)
	if got := types(events(t, s, dee.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventInvitationAccepted}) {
		t.Errorf("dee's events = %v", got)
	}
	if got := types(events(t, s, ada.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventInvitationSent, keyhole.EventInvitationRevoked}) {
		t.Errorf("ada's events = %v", got)
	}

	// The sweep takes what expires at or before its time, at most limit.
	for i := range 3 {
		x := invitation(other.ID, fmt.Sprintf("x%d@example.com", i), ada.ID)
		x.ExpiresAt = t0.Add(time.Duration(i) * time.Second)
		_, err := s.PutInvitation(ctx, x)
		must(t, err)
	}
	live := invitation(other.ID, "live@example.com", ada.ID)
	_, err = s.PutInvitation(ctx, live)
	must(t, err)
	n, err := s.DeleteExpiredInvitations(ctx, t0.Add(2*time.Second), 2)
	must(t, err)
	if n != 2 {
		t.Errorf("first sweep = %d, want the limit, 2", n)
	}
	n, err = s.DeleteExpiredInvitations(ctx, t0.Add(2*time.Second), 100)
	must(t, err)
	if n != 2 {
		t.Errorf("second sweep = %d, want the rest, 2 (one of them tm's expired invitation)", n)
	}
	if _, err := s.InvitationByHash(ctx, live.Hash); err != nil {
		t.Errorf("the sweep took a live invitation: %v", err)
	}
}

// testCollaborators: grants on apps, with their accounts' fields and the
// permissions in their order.
func testCollaborators(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	cyd, _ := newAccount(t, s, "cyd@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	app := newApp(t, s, "zeta", "", tm.ID)
	c := grant(app.ID, cyd.ID, keyhole.PermView, keyhole.PermManage, keyhole.PermDeploy)
	must(t, s.AddCollaborator(ctx, c, event(ada.ID, keyhole.EventPermissionGranted, t0)))
	must(t, s.AddCollaborator(ctx, grant(app.ID, bob.ID, keyhole.PermView)))
	got, err := s.Collaborator(ctx, app.ID, cyd.ID)
	must(t, err)
	want := c
	want.Email, want.Name = cyd.Email, cyd.Name
	if !reflect.DeepEqual(got, want) || got.UpdatedAt.Location() != time.UTC {
		t.Errorf("Collaborator = %+v, want %+v (permissions in the order given)", got, want)
	}
	cs, err := s.Collaborators(ctx, app.ID)
	must(t, err)
	if len(cs) != 2 || cs[0].Email != bob.Email || !reflect.DeepEqual(cs[1], want) {
		t.Errorf("Collaborators = %+v; want bob's, then cyd's", cs)
	}
	if cs, err := s.Collaborators(ctx, id()); err != nil || cs == nil || len(cs) != 0 {
		t.Errorf("Collaborators of no app = %#v, %v", cs, err)
	}
	_, err = s.Collaborator(ctx, app.ID, ada.ID)
	wantErr(t, err, store.ErrNotFound)
	wantErr(t, s.AddCollaborator(ctx, grant(app.ID, cyd.ID, keyhole.PermView)), store.ErrConflict)
	wantErr(t, s.AddCollaborator(ctx, grant(id(), cyd.ID, keyhole.PermView)), store.ErrNotFound)
	wantErr(t, s.AddCollaborator(ctx, grant(app.ID, id(), keyhole.PermView)), store.ErrNotFound)

	// An empty list of permissions reads back empty.
	none := grant(newApp(t, s, "bare", ada.ID, "").ID, cyd.ID)
	must(t, s.AddCollaborator(ctx, none))
	if got, err := s.Collaborator(ctx, none.AppID, cyd.ID); err != nil || len(got.Permissions) != 0 {
		t.Errorf("no permissions = %#v, %v", got.Permissions, err)
	}

	later := t0.Add(time.Minute)
	changed, err := s.SetPermissions(ctx, app.ID, cyd.ID, []keyhole.Permission{keyhole.PermOperate, keyhole.PermView}, later,
		event(ada.ID, keyhole.EventPermissionChanged, later))
	must(t, err)
	want.Permissions, want.UpdatedAt = []keyhole.Permission{keyhole.PermOperate, keyhole.PermView}, later
	if !reflect.DeepEqual(changed, want) {
		t.Errorf("SetPermissions = %+v, want %+v", changed, want)
	}
	if stored, _ := s.Collaborator(ctx, app.ID, cyd.ID); !reflect.DeepEqual(stored, want) {
		t.Errorf("stored %+v, want %+v", stored, want)
	}
	_, err = s.SetPermissions(ctx, app.ID, ada.ID, nil, later)
	wantErr(t, err, store.ErrNotFound)

	// CollaboratorApps: the team's apps the account has a grant on, by name.
	alpha := newApp(t, s, "alpha", "", tm.ID)
	newApp(t, s, "mid", "", tm.ID)
	must(t, s.AddCollaborator(ctx, grant(alpha.ID, cyd.ID, keyhole.PermView)))
	apps, err := s.CollaboratorApps(ctx, tm.ID, cyd.ID)
	must(t, err)
	if !slices.Equal(appNames(apps), []string{"alpha", "zeta"}) || apps[1] != app {
		t.Errorf("CollaboratorApps = %+v; want alpha and zeta (not bare, a personal app)", apps)
	}
	if apps, err := s.CollaboratorApps(ctx, tm.ID, ada.ID); err != nil || apps == nil || len(apps) != 0 {
		t.Errorf("CollaboratorApps without grants = %#v, %v", apps, err)
	}

	removed, err := s.RemoveCollaborator(ctx, app.ID, cyd.ID, event(ada.ID, keyhole.EventPermissionRevoked, later))
	must(t, err)
	if !reflect.DeepEqual(removed, want) {
		t.Errorf("RemoveCollaborator = %+v, want the grant as it was, %+v", removed, want)
	}
	_, err = s.Collaborator(ctx, app.ID, cyd.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = s.RemoveCollaborator(ctx, app.ID, cyd.ID)
	wantErr(t, err, store.ErrNotFound)

	// Grants go with their app.
	must(t, s.DeleteApp(ctx, app.ID))
	must(t, s.CreateApp(ctx, app))
	if cs, _ := s.Collaborators(ctx, app.ID); len(cs) != 0 {
		t.Errorf("grants outlived their app: %+v", cs)
	}
	if got := types(events(t, s, ada.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventPermissionGranted, keyhole.EventPermissionChanged, keyhole.EventPermissionRevoked}) {
		t.Errorf("events = %v", got)
	}
}

// testTeamApps: apps owned by teams, and the apps an account sees: its
// own, those it collaborates on and its teams', each once.
func testTeamApps(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := newTeam(t, s, "team", bob.ID)
	addMember(t, s, tm.ID, ada.ID, keyhole.RoleViewer)
	theirs := newTeam(t, s, "theirs", bob.ID)

	locked := keyhole.App{ID: id(), TeamID: tm.ID, Locked: true, Name: "t-app", Region: "eu", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
	must(t, s.CreateApp(ctx, locked))
	if got, err := s.App(ctx, locked.ID); err != nil || got != locked {
		t.Errorf("App = %+v, %v; want %+v", got, err, locked)
	}
	if got, err := s.AppByName(ctx, "t-app"); err != nil || got != locked {
		t.Errorf("AppByName = %+v, %v", got, err)
	}
	wantErr(t, s.CreateApp(ctx, keyhole.App{ID: id(), TeamID: id(), Name: "nowhere", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}), store.ErrNotFound)
	wantErr(t, s.CreateApp(ctx, keyhole.App{ID: id(), AccountID: id(), Name: "nobody", Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}), store.ErrNotFound)

	own := newApp(t, s, "a-own", ada.ID, "")
	shared := newApp(t, s, "b-shared", bob.ID, "")
	other := newApp(t, s, "t-other", "", tm.ID)
	newApp(t, s, "b-private", bob.ID, "")
	newApp(t, s, "u-theirs", "", theirs.ID)
	must(t, s.AddCollaborator(ctx, grant(shared.ID, ada.ID, keyhole.PermView)))
	// A grant on a team app ada sees anyway lists it once.
	must(t, s.AddCollaborator(ctx, grant(locked.ID, ada.ID, keyhole.PermView)))

	all, err := s.ListApps(ctx, ada.ID, store.Range{Field: "name"})
	must(t, err)
	if got := appNames(all); !slices.Equal(got, []string{"a-own", "b-shared", "t-app", "t-other"}) {
		t.Errorf("ListApps = %v; want ada's own, the one she collaborates on and her team's, each once", got)
	}
	if !slices.Contains(all, locked) || !slices.Contains(all, own) || !slices.Contains(all, other) {
		t.Errorf("ListApps = %+v; want every field as stored", all)
	}
	page, err := s.ListApps(ctx, ada.ID, store.Range{Field: "name", Start: "b-shared", Exclusive: true, Max: 1})
	must(t, err)
	if got := appNames(page); !slices.Equal(got, []string{"t-app"}) {
		t.Errorf("ListApps after b-shared, max 1 = %v", got)
	}
	page, err = s.ListApps(ctx, ada.ID, store.Range{Field: "name", Start: "t-app", Desc: true})
	must(t, err)
	if got := appNames(page); !slices.Equal(got, []string{"t-app", "b-shared", "a-own"}) {
		t.Errorf("ListApps from t-app down = %v", got)
	}
	ids := []string{own.ID, shared.ID, locked.ID, other.ID}
	sort.Strings(ids)
	byID, err := s.ListApps(ctx, ada.ID, store.Range{Start: ids[1], Max: 2})
	must(t, err)
	if len(byID) != 2 || byID[0].ID != ids[1] || byID[1].ID != ids[2] {
		t.Errorf("ListApps by id from the second = %+v, want ids %v", byID, ids[1:3])
	}

	teamApps, err := s.ListTeamApps(ctx, tm.ID, store.Range{Field: "name", Desc: true})
	must(t, err)
	if got := appNames(teamApps); !slices.Equal(got, []string{"t-other", "t-app"}) {
		t.Errorf("ListTeamApps = %v", got)
	}
	if apps, err := s.ListTeamApps(ctx, id(), store.Range{}); err != nil || apps == nil || len(apps) != 0 {
		t.Errorf("ListTeamApps of no team = %#v, %v", apps, err)
	}
	if _, err := s.ListTeamApps(ctx, tm.ID, store.Range{Field: "region"}); err == nil {
		t.Error("ListTeamApps ordered by an unknown field")
	}

	// Personal apps: owned or collaborated on, no team's, even one with
	// a grant.
	personal, err := s.ListPersonalApps(ctx, ada.ID, store.Range{Field: "name"})
	must(t, err)
	if got := appNames(personal); !slices.Equal(got, []string{"a-own", "b-shared"}) {
		t.Errorf("ListPersonalApps = %v, want a-own and b-shared", got)
	}
	personal, err = s.ListPersonalApps(ctx, ada.ID, store.Range{Field: "name", Desc: true, Max: 1})
	must(t, err)
	if got := appNames(personal); !slices.Equal(got, []string{"b-shared"}) {
		t.Errorf("ListPersonalApps, newest name first, max 1 = %v", got)
	}
	if apps, err := s.ListPersonalApps(ctx, id(), store.Range{}); err != nil || apps == nil || len(apps) != 0 {
		t.Errorf("ListPersonalApps of nobody = %#v, %v", apps, err)
	}

	// Leaving the team hides its apps (the grant went with the membership).
	_, err = s.RemoveMember(ctx, tm.ID, ada.ID)
	must(t, err)
	all, err = s.ListApps(ctx, ada.ID, store.Range{Field: "name"})
	must(t, err)
	if got := appNames(all); !slices.Equal(got, []string{"a-own", "b-shared"}) {
		t.Errorf("ListApps after leaving the team = %v", got)
	}
}

// testUpdateAppOwner: moving an app between owners, with what goes with a
// move, and the new fields written by UpdateApp.
func testUpdateAppOwner(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	cyd, _ := newAccount(t, s, "cyd@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	app := newApp(t, s, "app", ada.ID, "")
	must(t, s.AddCollaborator(ctx, grant(app.ID, bob.ID, keyhole.PermView, keyhole.PermDeploy)))
	must(t, s.AddCollaborator(ctx, grant(app.ID, cyd.ID, keyhole.PermView)))

	// Into a team: the grants stay as they are.
	at := t0.Add(time.Hour)
	moved, err := s.UpdateApp(ctx, app.ID, func(a *keyhole.App) error {
		a.AccountID, a.TeamID, a.Locked, a.UpdatedAt = "", tm.ID, true, at
		return nil
	}, event(ada.ID, keyhole.EventAppTransferred, at))
	must(t, err)
	want := app
	want.AccountID, want.TeamID, want.Locked, want.UpdatedAt = "", tm.ID, true, at
	if moved != want {
		t.Errorf("UpdateApp = %+v, want %+v", moved, want)
	}
	if got, _ := s.App(ctx, app.ID); got != want {
		t.Errorf("stored %+v, want %+v", got, want)
	}
	if cs, _ := s.Collaborators(ctx, app.ID); len(cs) != 2 || len(cs[0].Permissions) != 2 || len(cs[1].Permissions) != 1 {
		t.Errorf("grants after moving into a team = %+v; want them as they were", cs)
	}
	if got, _ := s.ListTeamApps(ctx, tm.ID, store.Range{}); len(got) != 1 || got[0].ID != app.ID {
		t.Errorf("ListTeamApps = %+v", got)
	}

	// Give cyd's grant everything and dee view alone; moving to bob ends
	// bob's own grant, takes manage from cyd's and leaves dee's as it is.
	_, err = s.SetPermissions(ctx, app.ID, cyd.ID, keyhole.AllPermissions(), at)
	must(t, err)
	dee, _ := newAccount(t, s, "dee@example.com")
	must(t, s.AddCollaborator(ctx, grant(app.ID, dee.ID, keyhole.PermView)))
	at2 := at.Add(time.Minute)
	moved, err = s.UpdateApp(ctx, app.ID, func(a *keyhole.App) error {
		a.AccountID, a.TeamID, a.UpdatedAt = bob.ID, "", at2
		return nil
	}, event(ada.ID, keyhole.EventAppTransferred, at2))
	must(t, err)
	if moved.AccountID != bob.ID || moved.TeamID != "" || !moved.Locked {
		t.Errorf("UpdateApp to bob = %+v", moved)
	}
	_, err = s.Collaborator(ctx, app.ID, bob.ID)
	wantErr(t, err, store.ErrNotFound)
	c, err := s.Collaborator(ctx, app.ID, cyd.ID)
	must(t, err)
	if !slices.Equal(c.Permissions, keyhole.PersonalPermissions) {
		t.Errorf("cyd's permissions on bob's app = %v, want %v", c.Permissions, keyhole.PersonalPermissions)
	}
	c, err = s.Collaborator(ctx, app.ID, dee.ID)
	must(t, err)
	if !slices.Equal(c.Permissions, []keyhole.Permission{keyhole.PermView}) {
		t.Errorf("dee's permissions on bob's app = %v, want view alone: a move takes manage away, and gives nothing", c.Permissions)
	}
	if bobs, _ := s.ListApps(ctx, bob.ID, store.Range{}); len(bobs) != 1 || bobs[0].ID != app.ID {
		t.Errorf("bob's apps = %+v", bobs)
	}
	if got, _ := s.ListTeamApps(ctx, tm.ID, store.Range{}); len(got) != 0 {
		t.Errorf("the team still lists %+v", got)
	}

	// A missing owner, or a name taken: ErrNotFound, ErrConflict, nothing
	// written (no event either).
	for _, fn := range []func(*keyhole.App){
		func(a *keyhole.App) { a.AccountID, a.TeamID = "", id() },
		func(a *keyhole.App) { a.AccountID = id() },
	} {
		_, err = s.UpdateApp(ctx, app.ID, func(a *keyhole.App) error { fn(a); a.Name = "renamed"; return nil },
			event(ada.ID, keyhole.EventAppTransferred, at2))
		wantErr(t, err, store.ErrNotFound)
	}
	newApp(t, s, "taken", cyd.ID, "")
	_, err = s.UpdateApp(ctx, app.ID, func(a *keyhole.App) error { a.AccountID, a.Name = cyd.ID, "taken"; return nil },
		event(ada.ID, keyhole.EventAppTransferred, at2))
	wantErr(t, err, store.ErrConflict)
	if got, _ := s.App(ctx, app.ID); got.AccountID != bob.ID || got.Name != "app" {
		t.Errorf("failed updates wrote %+v", got)
	}
	if _, err := s.Collaborator(ctx, app.ID, cyd.ID); err != nil {
		t.Errorf("a failed move took cyd's grant: %v", err)
	}
	_, err = s.UpdateApp(ctx, id(), func(a *keyhole.App) error { return nil })
	wantErr(t, err, store.ErrNotFound)

	// Without a change of owner, ev is not recorded ("when the owner
	// changes, ev is recorded with it"), and the grants stay.
	_, err = s.UpdateApp(ctx, app.ID, func(a *keyhole.App) error { a.Locked, a.Maintenance = false, true; return nil },
		event(ada.ID, keyhole.EventAppTransferred, at2))
	must(t, err)
	if got, _ := s.App(ctx, app.ID); got.Locked || !got.Maintenance {
		t.Errorf("Locked and Maintenance not written: %+v", got)
	}
	if _, err := s.Collaborator(ctx, app.ID, cyd.ID); err != nil {
		t.Errorf("an update without a move took cyd's grant: %v", err)
	}
	if got := types(events(t, s, ada.ID)); !slices.Equal(got, []keyhole.EventType{keyhole.EventAppTransferred, keyhole.EventAppTransferred}) {
		t.Errorf("events = %v; want the two transfers", got)
	}
}

// teamOfAdmins makes a team whose n members are all admins, and returns
// it with their account ids.
func teamOfAdmins(t *testing.T, s store.Store, n int) (keyhole.Team, []string) {
	t.Helper()
	ids := make([]string, n)
	for i := range ids {
		a, _ := newAccount(t, s, fmt.Sprintf("admin%d-%s@example.com", i, id()[:8]))
		ids[i] = a.ID
	}
	tm := newTeam(t, s, "team-"+id()[:8], ids[0])
	for _, a := range ids[1:] {
		addMember(t, s, tm.ID, a, keyhole.RoleAdmin)
	}
	return tm, ids
}

// lastAdmin checks that of errs exactly one is ErrLastAdmin and the rest
// succeeded, and that the team has exactly one admin left.
func lastAdmin(t *testing.T, s store.Store, what, teamID string, errs []error) {
	t.Helper()
	ok, refused := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrLastAdmin):
			refused++
		default:
			t.Errorf("%s: %v", what, err)
		}
	}
	if ok != len(errs)-1 || refused != 1 {
		t.Errorf("%d concurrent %s: %d succeeded, %d refused as the last admin; want all but one, and one", len(errs), what, ok, refused)
	}
	if n := admins(t, s, teamID); n != 1 {
		t.Errorf("after %d concurrent %s the team has %d admins, want 1", len(errs), what, n)
	}
}

// testConcurrentDemotions: 20 admins each demoted at once: all but one
// step down, and the team keeps one admin.
func testConcurrentDemotions(t *testing.T, s store.Store) {
	tm, ids := teamOfAdmins(t, s, 20)
	errs := race(t, len(ids), func(i int) error {
		_, err := s.SetMemberRole(ctx, tm.ID, ids[i], keyhole.RoleMember, t0.Add(time.Second))
		return err
	})
	lastAdmin(t, s, "demotions", tm.ID, errs)
}

// testConcurrentRemovals: 20 admins each removed at once: all but one
// leave, and the one left is an admin.
func testConcurrentRemovals(t *testing.T, s store.Store) {
	tm, ids := teamOfAdmins(t, s, 20)
	errs := race(t, len(ids), func(i int) error {
		_, err := s.RemoveMember(ctx, tm.ID, ids[i])
		return err
	})
	lastAdmin(t, s, "removals", tm.ID, errs)
	if ms, _ := s.Members(ctx, tm.ID); len(ms) != 1 {
		t.Errorf("%d members left, want 1", len(ms))
	}
}

// testConcurrentDemoteAndRemove: of two admins, one demotes the first
// while another removes the second, at the same moment, again and again:
// exactly one of the two changes is made each time.
func testConcurrentDemoteAndRemove(t *testing.T, s store.Store) {
	for round := range 10 {
		tm, ids := teamOfAdmins(t, s, 2)
		errs := race(t, 2, func(i int) error {
			var err error
			if i == 0 {
				_, err = s.SetMemberRole(ctx, tm.ID, ids[0], keyhole.RoleViewer, t0.Add(time.Second))
			} else {
				_, err = s.RemoveMember(ctx, tm.ID, ids[1])
			}
			return err
		})
		lastAdmin(t, s, fmt.Sprintf("changes (round %d)", round), tm.ID, errs)
	}
}

// testConcurrentAcceptInvitation: 20 people accept one invitation at once:
// exactly one joins.
func testConcurrentAcceptInvitation(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	inv, err := s.PutInvitation(ctx, invitation(tm.ID, "dee@example.com", ada.ID))
	must(t, err)
	const n = 20
	ids := make([]string, n)
	for i := range ids {
		a, _ := newAccount(t, s, fmt.Sprintf("p%d@example.com", i))
		ids[i] = a.ID
	}
	errs := race(t, n, func(i int) error {
		return s.AcceptInvitation(ctx, inv.Hash, t0, membership(tm.ID, ids[i], keyhole.RoleMember),
			event(ids[i], keyhole.EventInvitationAccepted, t0))
	})
	ok, gone := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, store.ErrNotFound):
			gone++
		default:
			t.Errorf("accept: %v", err)
		}
	}
	if ok != 1 || gone != n-1 {
		t.Errorf("%d concurrent acceptances: %d joined, %d found it used; want exactly one to join", n, ok, gone)
	}
	if ms, _ := s.Members(ctx, tm.ID); len(ms) != 2 {
		t.Errorf("the team has %d members, want ada and the one who accepted", len(ms))
	}
}

// testConcurrentAddMember: one account added 20 times at once joins once.
func testConcurrentAddMember(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	errs := race(t, 20, func(int) error { return s.AddMember(ctx, membership(tm.ID, bob.ID, keyhole.RoleMember)) })
	if ok, conflict, other := count(errs); ok != 1 || conflict != 19 {
		t.Errorf("20 concurrent additions: %d won, %d conflicts, %d other errors (%v); want exactly one", ok, conflict, other, errs)
	}
	if ms, _ := s.Members(ctx, tm.ID); len(ms) != 2 {
		t.Errorf("the team has %d members, want 2", len(ms))
	}
}

// testDeleteTeamRacesCreateApp: deletions of a team and creations of apps
// in it at the same moment never leave an app without its team: either
// the team goes and no app was made, or apps were made and every deletion
// was refused.
func testDeleteTeamRacesCreateApp(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	for round := range 5 {
		tm := newTeam(t, s, fmt.Sprintf("team-%d", round), ada.ID)
		apps := make([]keyhole.App, 20)
		for i := range apps {
			apps[i] = keyhole.App{ID: id(), TeamID: tm.ID, Name: fmt.Sprintf("app-%d-%d", round, i), Region: "us", Stack: "heroku-24", CreatedAt: t0, UpdatedAt: t0}
		}
		errs := race(t, len(apps), func(i int) error {
			if i%2 == 0 {
				return s.DeleteTeam(ctx, tm.ID)
			}
			return s.CreateApp(ctx, apps[i])
		})
		var deleted, refused, gone, created int
		for i, err := range errs {
			switch {
			case i%2 == 0 && err == nil:
				deleted++
			case i%2 == 0 && errors.Is(err, store.ErrInUse):
				refused++
			case i%2 == 0 && errors.Is(err, store.ErrNotFound):
				gone++
			case i%2 == 0:
				t.Errorf("round %d: DeleteTeam: %v", round, err)
			case err == nil:
				created++
			case !errors.Is(err, store.ErrNotFound):
				t.Errorf("round %d: CreateApp: %v", round, err)
			}
		}
		_, teamErr := s.Team(ctx, tm.ID)
		stored, err := s.ListTeamApps(ctx, tm.ID, store.Range{})
		must(t, err)
		// Either one deletion won, before any app was made, and the
		// other deletions found no team; or an app was made first, and
		// every deletion was refused as the team is in use.
		won := deleted == 1 && gone == len(apps)/2-1 && created == 0 && len(stored) == 0 && errors.Is(teamErr, store.ErrNotFound)
		kept := deleted == 0 && refused == len(apps)/2 && created > 0 && len(stored) == created && teamErr == nil
		if !won && !kept {
			t.Errorf("round %d: %d deletions, %d refused as in use, %d found no team; %d apps created, %d stored; team: %v",
				round, deleted, refused, gone, created, len(stored), teamErr)
		}
		for i, a := range apps {
			if i%2 == 1 && errs[i] == nil {
				if _, err := s.App(ctx, a.ID); err != nil {
					t.Errorf("round %d: created app %s: %v", round, a.Name, err)
				}
			}
		}
	}
}

// testInvitationsEndWithSender: an admin's invitations end when they stop
// being an admin (demoted or removed), in the same change; another
// admin's stay, and so do theirs when their role changes between others
// than admin.
func testInvitationsEndWithSender(t *testing.T, s store.Store) {
	ada, _ := newAccount(t, s, "ada@example.com")
	bob, _ := newAccount(t, s, "bob@example.com")
	cyd, _ := newAccount(t, s, "cyd@example.com")
	tm := newTeam(t, s, "team", ada.ID)
	addMember(t, s, tm.ID, bob.ID, keyhole.RoleAdmin)
	addMember(t, s, tm.ID, cyd.ID, keyhole.RoleAdmin)
	put := func(email, by string) keyhole.Invitation {
		inv, err := s.PutInvitation(ctx, invitation(tm.ID, email, by))
		must(t, err)
		return inv
	}
	fromAda, fromBob, fromCyd := put("one@example.com", ada.ID), put("two@example.com", bob.ID), put("three@example.com", cyd.ID)
	live := func(inv keyhole.Invitation) bool {
		_, err := s.InvitationByHash(ctx, inv.Hash)
		return err == nil
	}

	_, err := s.SetMemberRole(ctx, tm.ID, bob.ID, keyhole.RoleMember, t0)
	must(t, err)
	if live(fromBob) || !live(fromAda) || !live(fromCyd) {
		t.Errorf("after bob's demotion: ada's %v, bob's %v, cyd's %v; want only bob's gone", live(fromAda), live(fromBob), live(fromCyd))
	}
	_, err = s.RemoveMember(ctx, tm.ID, cyd.ID)
	must(t, err)
	if live(fromCyd) || !live(fromAda) {
		t.Errorf("after cyd's removal: ada's %v, cyd's %v; want cyd's gone", live(fromAda), live(fromCyd))
	}
	_, err = s.SetMemberRole(ctx, tm.ID, ada.ID, keyhole.RoleAdmin, t0)
	must(t, err)
	if !live(fromAda) {
		t.Error("an admin kept admin lost their invitations")
	}
}
