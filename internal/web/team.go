package web

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/store"
)

// Teams on the dashboard: the teams of the signed-in person, and one
// team's members, invitations and apps. Who may change what is the
// service's to say: the pages leave out the forms a person may not use,
// and a forged form is refused by the service and shown on the page.

// teamList is what the teams page shows.
type teamList struct {
	Teams []service.TeamInfo
}

// teamView is what a team's page shows.
type teamView struct {
	Team        service.TeamInfo
	Admin       bool
	CanCreate   bool
	Members     []memberRow
	Invitations []service.InvitationInfo
	Apps        []service.AppInfo
	Roles       []keyhole.TeamRole
	Regions     []keyhole.Named
	// DefaultRole is the team's role for people added without one.
	DefaultRole keyhole.TeamRole
	// AppName and NewName refill the create-app and rename forms after
	// an error.
	AppName, NewName string
}

// memberRow is one member as the team's page lists them.
type memberRow struct {
	keyhole.Member
	Me bool
}

// teamsPage is /dashboard/teams: the teams the person belongs to, with
// their role in each, and the form that creates one.
func (h *Web) teamsPage(w http.ResponseWriter, r *http.Request, m me) {
	h.showTeams(w, r, m, page{}, nil)
}

// showTeams renders the teams page, with err (a failed create) above it.
func (h *Web) showTeams(w http.ResponseWriter, r *http.Request, m me, p page, err error) {
	list, lerr := h.svc.Teams(r.Context(), m.actor)
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	p.Title, p.Data = "Teams", teamList{Teams: list}
	if err != nil {
		h.showError(w, r, m, "teams", "teams", p, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "teams", "teams", p)
}

// teamCreate creates a team with the person as its admin.
func (h *Web) teamCreate(w http.ResponseWriter, r *http.Request, m me) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	t, err := h.svc.CreateTeam(r.Context(), m.actor, name)
	if err != nil {
		h.showTeams(w, r, m, page{Name: name}, err)
		return
	}
	done(w, r, teamPath(t.Name), "team-created")
}

func teamPath(name string) string { return "/dashboard/teams/" + url.PathEscape(name) }

// teamPage is /dashboard/teams/{team}: its members with their roles, its
// pending invitations and its apps; for admins the forms that change
// them. A team the person is no member of is not found, as one that does
// not exist.
func (h *Web) teamPage(w http.ResponseWriter, r *http.Request, m me) {
	h.showTeam(w, r, m, r.PathValue("team"), teamView{}, nil)
}

// showTeam renders the page of the team named, with err (a refused or
// failed form) above it; v carries what the forms are refilled with.
func (h *Web) showTeam(w http.ResponseWriter, r *http.Request, m me, name string, v teamView, err error) {
	ctx := r.Context()
	t, lerr := h.svc.Team(ctx, m.actor, name)
	var members []keyhole.Member
	if lerr == nil {
		members, lerr = h.svc.Members(ctx, m.actor, t.ID)
	}
	if lerr == nil {
		v.Invitations, lerr = h.svc.Invitations(ctx, m.actor, t.ID)
	}
	if lerr == nil {
		v.Apps, lerr = h.svc.TeamApps(ctx, m.actor, t.ID, store.Range{Field: "name"})
	}
	if lerr != nil {
		h.fail(w, r, lerr)
		return
	}
	v.Team, v.Roles, v.Regions = t, keyhole.TeamRoles, keyhole.Regions
	v.DefaultRole = t.DefaultRole
	if v.DefaultRole == "" {
		v.DefaultRole = keyhole.RoleMember
	}
	v.Admin = t.Role == keyhole.RoleAdmin
	v.CanCreate = t.Role == keyhole.RoleAdmin || t.Role == keyhole.RoleMember
	for _, mb := range members {
		v.Members = append(v.Members, memberRow{Member: mb, Me: mb.AccountID == m.acct.ID})
	}
	p := page{Title: "Team " + t.Name, Data: v}
	if err != nil {
		h.showError(w, r, m, "team", "teams", p, err)
		return
	}
	h.show(w, r, m, http.StatusOK, "team", "teams", p)
}

// teamRename renames the team: admins only.
func (h *Web) teamRename(w http.ResponseWriter, r *http.Request, m me) {
	name := strings.TrimSpace(r.PostFormValue("name"))
	t, err := h.svc.UpdateTeam(r.Context(), m.actor, r.PathValue("team"), service.TeamUpdate{Name: &name})
	if err != nil {
		h.showTeam(w, r, m, r.PathValue("team"), teamView{NewName: name}, err)
		return
	}
	done(w, r, teamPath(t.Name), "team-renamed")
}

// teamDefaultRole sets the role of people added without one: admins only.
func (h *Web) teamDefaultRole(w http.ResponseWriter, r *http.Request, m me) {
	role := r.PostFormValue("role")
	t, err := h.svc.UpdateTeam(r.Context(), m.actor, r.PathValue("team"), service.TeamUpdate{DefaultRole: &role})
	if err != nil {
		h.showTeam(w, r, m, r.PathValue("team"), teamView{}, err)
		return
	}
	done(w, r, teamPath(t.Name), "default-role-saved")
}

// teamDelete deletes the team: admins only, and only once it owns no app.
func (h *Web) teamDelete(w http.ResponseWriter, r *http.Request, m me) {
	if _, err := h.svc.DeleteTeam(r.Context(), m.actor, r.PathValue("team")); err != nil {
		h.showTeam(w, r, m, r.PathValue("team"), teamView{}, err)
		return
	}
	done(w, r, "/dashboard/teams", "team-deleted")
}

// memberAdd adds somebody to the team by email, or mails an invitation to
// an address that has no account: admins only.
func (h *Web) memberAdd(w http.ResponseWriter, r *http.Request, m me) {
	team := r.PathValue("team")
	res, err := h.svc.PutMember(r.Context(), m.actor, team, r.PostFormValue("email"), r.PostFormValue("role"), service.MemberCreate)
	switch {
	case err != nil:
		h.showTeam(w, r, m, team, teamView{}, err)
	case res.Invitation != nil:
		done(w, r, teamPath(team), "invited")
	default:
		done(w, r, teamPath(team), "member-added")
	}
}

// memberRole changes a member's role: admins only.
func (h *Web) memberRole(w http.ResponseWriter, r *http.Request, m me) {
	team := r.PathValue("team")
	if _, err := h.svc.PutMember(r.Context(), m.actor, team, r.PostFormValue("email"), r.PostFormValue("role"), service.MemberUpdate); err != nil {
		h.showTeam(w, r, m, team, teamView{}, err)
		return
	}
	done(w, r, teamPath(team), "member-changed")
}

// memberRemove takes a member out of the team, with their access to its
// apps: admins only.
func (h *Web) memberRemove(w http.ResponseWriter, r *http.Request, m me) {
	team := r.PathValue("team")
	gone, err := h.svc.RemoveMember(r.Context(), m.actor, team, r.PostFormValue("email"))
	if err != nil {
		h.showTeam(w, r, m, team, teamView{}, err)
		return
	}
	if gone.AccountID == m.acct.ID {
		done(w, r, "/dashboard/teams", "left-team")
		return
	}
	done(w, r, teamPath(team), "member-removed")
}

// invitationRevoke deletes a pending invitation; its link stops working.
func (h *Web) invitationRevoke(w http.ResponseWriter, r *http.Request, m me) {
	team := r.PathValue("team")
	if _, err := h.svc.RevokeInvitation(r.Context(), m.actor, team, r.PostFormValue("email")); err != nil {
		h.showTeam(w, r, m, team, teamView{}, err)
		return
	}
	done(w, r, teamPath(team), "invitation-revoked")
}

// teamAppCreate creates an app of the team: its admins and members.
func (h *Web) teamAppCreate(w http.ResponseWriter, r *http.Request, m me) {
	team := r.PathValue("team")
	p := appParams(r)
	p.Team = &team
	locked := r.PostFormValue("locked") == "on"
	p.Locked = &locked
	a, err := h.svc.CreateApp(r.Context(), m.actor, p)
	if err != nil {
		h.showTeam(w, r, m, team, teamView{AppName: r.PostFormValue("name")}, err)
		return
	}
	done(w, r, appPath(a.Name), "app-created")
}

// invitationView is what the page of an invitation link shows.
type invitationView struct {
	service.InvitationInfo
	// Here is the page's own address, to come back to after signing in:
	// without the link's secret, which the invitation cookie keeps.
	Here string
}

// invitationCookie keeps an invitation link's secret while its visitor
// signs in or signs up, so that the secret is in no redirect and no
// "next" address: only on this page's path, for an hour.
func (h *Web) invitationCookie() string {
	if h.secure {
		return "__Secure-keyhole_invitation"
	}
	return "keyhole_invitation"
}

func (h *Web) keepInvitation(w http.ResponseWriter, tok string) {
	age := 3600
	if tok == "" {
		age = -1
	}
	http.SetCookie(w, &http.Cookie{Name: h.invitationCookie(), Value: tok, Path: service.InvitationPath, MaxAge: age,
		HttpOnly: true, Secure: h.secure, SameSite: http.SameSiteLaxMode})
}

// invitationToken is the secret of the invitation being looked at: the
// link's, or the one kept while its visitor signed in.
func (h *Web) invitationToken(r *http.Request, tok string) string {
	if tok != "" {
		return tok
	}
	if c, err := r.Cookie(h.invitationCookie()); err == nil {
		return c.Value
	}
	return ""
}

// invitation is the page a mailed team invitation opens
// (service.InvitationPath): which team, which role, from whom. A GET only
// shows it (mail scanners fetch links); the person accepts with a POST,
// signed in with the address it was sent to. A visitor is offered to sign
// in or sign up, and comes back here after.
func (h *Web) invitation(w http.ResponseWriter, r *http.Request) {
	actor, _, signedIn := h.current(r)
	if r.Method == http.MethodPost {
		if !h.parsePost(w, r) {
			return
		}
		tok := h.invitationToken(r, r.PostFormValue("token"))
		if !signedIn {
			h.keepInvitation(w, tok)
			http.Redirect(w, r, loginURL(service.InvitationPath), http.StatusSeeOther)
			return
		}
		mb, err := h.svc.AcceptInvitation(r.Context(), actor, tok)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		h.keepInvitation(w, "")
		done(w, r, teamPath(mb.TeamID), "joined")
		return
	}
	tok := h.invitationToken(r, r.URL.Query().Get("token"))
	info, err := h.svc.Invitation(r.Context(), tok, from(r))
	if err != nil {
		h.fail(w, r, err)
		return
	}
	h.keepInvitation(w, tok)
	p := page{Title: "Join the team " + info.Team.Name, Token: tok, Data: invitationView{InvitationInfo: info, Here: service.InvitationPath}}
	if signedIn {
		acct, err := h.svc.Account(r.Context(), actor)
		if err != nil {
			h.fail(w, r, err)
			return
		}
		p.Me = &acct
	}
	h.render(w, r, http.StatusOK, "invitation", p)
}
