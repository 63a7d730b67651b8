package api

import (
	"encoding/json"
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/service"
)

// teamJSON is the team resource. Keyhole's teams are of type "team",
// have no billing, enterprise account or identity provider, and no
// membership limit.
type teamJSON struct {
	CreatedAt             string    `json:"created_at"`
	CreditCardCollections bool      `json:"credit_card_collections"`
	Default               bool      `json:"default"`
	EnterpriseAccount     *struct{} `json:"enterprise_account"`
	ID                    string    `json:"id"`
	IdentityProvider      *struct{} `json:"identity_provider"`
	MembershipLimit       *float64  `json:"membership_limit"`
	Name                  string    `json:"name"`
	ProvisionedLicenses   bool      `json:"provisioned_licenses"`
	Role                  *string   `json:"role"`
	Type                  string    `json:"type"`
	UpdatedAt             string    `json:"updated_at"`
}

func newTeamJSON(t service.TeamInfo) teamJSON {
	return teamJSON{CreatedAt: timeJSON(t.CreatedAt), ID: t.ID, Name: t.Name, Role: stringOrNull(string(t.Role)),
		Type: "team", UpdatedAt: timeJSON(t.UpdatedAt)}
}

type teamRequest struct {
	Name *string `json:"name"`
	// Default is accepted and ignored: Keyhole has no default team.
	Default *bool `json:"default"`
}

func (a *API) teamCreate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req teamRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		name := ""
		if req.Name != nil {
			name = *req.Name
		}
		t, err := a.svc.CreateTeam(r.Context(), actorFrom(r.Context()), name)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newTeamJSON(t))
	})
}

func (a *API) teamList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.Teams(r.Context(), actorFrom(r.Context()))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]teamJSON, len(list))
		for i, t := range list {
			out[i] = newTeamJSON(t)
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

func (a *API) teamInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.Team(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newTeamJSON(t))
	})
}

func (a *API) teamUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req teamRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		t, err := a.svc.UpdateTeam(r.Context(), actorFrom(r.Context()), r.PathValue("team"), service.TeamUpdate{Name: req.Name})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newTeamJSON(t))
	})
}

func (a *API) teamDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.DeleteTeam(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newTeamJSON(t))
	})
}

type featureJSON struct {
	CreatedAt     string `json:"created_at"`
	Description   string `json:"description"`
	DisplayName   string `json:"display_name"`
	DocURL        string `json:"doc_url"`
	Enabled       bool   `json:"enabled"`
	FeedbackEmail string `json:"feedback_email"`
	ID            string `json:"id"`
	Name          string `json:"name"`
	State         string `json:"state"`
	UpdatedAt     string `json:"updated_at"`
}

func (a *API) teamFeatures() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.Team(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]featureJSON, len(service.TeamFeatures))
		for i, f := range service.TeamFeatures {
			out[i] = featureJSON{CreatedAt: timeJSON(t.CreatedAt), UpdatedAt: timeJSON(t.CreatedAt), Description: f.Description,
				DisplayName: f.DisplayName, DocURL: featureDocs, Enabled: f.Enabled, ID: f.ID, Name: f.Name, State: "general"}
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

// featureDocs is where the team features are explained.
const featureDocs = "https://devcenter.heroku.com/articles/app-permissions"

type preferencesJSON struct {
	DefaultPermission *string `json:"default-permission"`
	AddonsControls    *bool   `json:"addons-controls"`
}

func newPreferencesJSON(t service.TeamInfo) preferencesJSON {
	off := false
	return preferencesJSON{DefaultPermission: stringOrNull(string(t.DefaultRole)), AddonsControls: &off}
}

func (a *API) teamPreferences() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		t, err := a.svc.Team(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newPreferencesJSON(t))
	})
}

func (a *API) teamPreferencesUpdate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			// A JSON null clears the preference; absent leaves it.
			DefaultPermission json.RawMessage `json:"default-permission"`
			AddonsControls    *bool           `json:"addons-controls"`
		}
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		var u service.TeamUpdate
		if req.DefaultPermission != nil {
			role := ""
			if string(req.DefaultPermission) != "null" {
				if err := json.Unmarshal(req.DefaultPermission, &role); err != nil {
					a.error(w, r, &apiError{http.StatusUnprocessableEntity, "invalid_params", "Invalid type for default-permission: expected a string or null."})
					return
				}
			}
			u.DefaultRole = &role
		}
		t, err := a.svc.UpdateTeam(r.Context(), actorFrom(r.Context()), r.PathValue("team"), u)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newPreferencesJSON(t))
	})
}

// memberJSON is the team-member resource.
type memberJSON struct {
	CreatedAt        string      `json:"created_at"`
	Email            string      `json:"email"`
	Federated        bool        `json:"federated"`
	ID               string      `json:"id"`
	IdentityProvider *struct{}   `json:"identity_provider"`
	Role             *string     `json:"role"`
	TwoFactor        bool        `json:"two_factor_authentication"`
	UpdatedAt        string      `json:"updated_at"`
	User             invitedJSON `json:"user"`
}

func newMemberJSON(m keyhole.Member) memberJSON {
	return memberJSON{CreatedAt: timeJSON(m.CreatedAt), Email: m.Email, ID: m.ID, Role: stringOrNull(string(m.Role)),
		TwoFactor: m.MFAEnabled, UpdatedAt: timeJSON(m.UpdatedAt), User: invitedJSON{Email: m.Email, ID: m.AccountID, Name: stringOrNull(m.Name)}}
}

func (a *API) memberList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.Members(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]memberJSON, len(list))
		for i, m := range list {
			out[i] = newMemberJSON(m)
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

type memberRequest struct {
	Email string `json:"email"`
	Role  string `json:"role"`
	// Federated is accepted and ignored: Keyhole's teams have no identity
	// provider yet.
	Federated *bool `json:"federated"`
}

// memberPut serves PUT, POST and PATCH of /teams/{team}/members. An
// address without an account is invited by mail: the answer is then
// 202 Accepted with the pending invitation as a team-member whose user
// has no id yet (docs/heroku-compatibility.md).
func memberPut(mode service.MemberMode) func(*API) http.Handler {
	return func(a *API) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			var req memberRequest
			if err := decode(w, r, &req); err != nil {
				a.error(w, r, err)
				return
			}
			res, err := a.svc.PutMember(r.Context(), actorFrom(r.Context()), r.PathValue("team"), req.Email, req.Role, mode)
			if err != nil {
				a.error(w, r, err)
				return
			}
			if inv := res.Invitation; inv != nil {
				a.respond(w, r, http.StatusAccepted, memberJSON{CreatedAt: timeJSON(inv.CreatedAt), Email: inv.Email, ID: inv.ID,
					Role: stringOrNull(string(inv.Role)), UpdatedAt: timeJSON(inv.UpdatedAt), User: invitedJSON{Email: inv.Email}})
				return
			}
			status := http.StatusOK
			if mode == service.MemberCreate {
				status = http.StatusCreated
			}
			a.respond(w, r, status, newMemberJSON(res.Member))
		})
	}
}

func (a *API) memberDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := a.svc.RemoveMember(r.Context(), actorFrom(r.Context()), r.PathValue("team"), r.PathValue("member"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newMemberJSON(m))
	})
}

func (a *API) memberApps() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		apps, err := a.svc.MemberApps(r.Context(), actorFrom(r.Context()), r.PathValue("team"), r.PathValue("member"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, appsJSON(apps))
	})
}

func appsJSON(apps []service.AppInfo) []appJSON {
	out := make([]appJSON, len(apps))
	for i, app := range apps {
		out[i] = newAppJSON(app)
	}
	return out
}

// invitedJSON is a person: an invited address has no account yet, so no
// id, and a person without a name has none.
type invitedJSON struct {
	Email string  `json:"email,omitempty"`
	ID    string  `json:"id,omitempty"`
	Name  *string `json:"name,omitempty"`
}

// invitationJSON is the team-invitation resource.
type invitationJSON struct {
	CreatedAt string      `json:"created_at"`
	ID        string      `json:"id"`
	InvitedBy invitedJSON `json:"invited_by"`
	Team      namedJSON   `json:"team"`
	Role      *string     `json:"role"`
	UpdatedAt string      `json:"updated_at"`
	User      invitedJSON `json:"user"`
}

func newInvitationJSON(inv service.InvitationInfo) invitationJSON {
	by := inv.InvitedBy
	return invitationJSON{CreatedAt: timeJSON(inv.CreatedAt), ID: inv.ID, Role: stringOrNull(string(inv.Role)),
		UpdatedAt: timeJSON(inv.UpdatedAt), User: invitedJSON{Email: inv.Email}, Team: namedJSON{ID: inv.Team.ID, Name: inv.Team.Name},
		InvitedBy: invitedJSON{Email: by.Email, ID: by.ID, Name: stringOrNull(by.Name)}}
}

func (a *API) invitationList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		list, err := a.svc.Invitations(r.Context(), actorFrom(r.Context()), r.PathValue("team"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]invitationJSON, len(list))
		for i, inv := range list {
			out[i] = newInvitationJSON(inv)
		}
		a.respond(w, r, http.StatusOK, out)
	})
}

func (a *API) invitationPut() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req memberRequest
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		inv, err := a.svc.Invite(r.Context(), actorFrom(r.Context()), r.PathValue("team"), req.Email, req.Role)
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newInvitationJSON(inv))
	})
}

func (a *API) invitationDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := a.svc.RevokeInvitation(r.Context(), actorFrom(r.Context()), r.PathValue("team"), r.PathValue("invitation"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newInvitationJSON(inv))
	})
}

func (a *API) invitationInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inv, err := a.svc.InvitationFor(r.Context(), actorFrom(r.Context()), r.PathValue("token"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newInvitationJSON(inv))
	})
}

func (a *API) invitationAccept() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		m, err := a.svc.AcceptInvitation(r.Context(), actorFrom(r.Context()), r.PathValue("token"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newMemberJSON(m))
	})
}
