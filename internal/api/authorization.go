package api

import (
	"bytes"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"time"

	"github.com/keyhole/keyhole/internal/service"
)

type tokenJSON struct {
	ExpiresIn *int64 `json:"expires_in"`
	ID        string `json:"id"`
	Token     string `json:"token"`
}

type grantJSON struct {
	Code      string `json:"code"`
	ExpiresIn int64  `json:"expires_in"`
	ID        string `json:"id"`
}

type clientRefJSON struct {
	ID          string `json:"id"`
	Name        string `json:"name"`
	RedirectURI string `json:"redirect_uri"`
}

type idJSON struct {
	ID string `json:"id"`
}

type userJSON struct {
	ID       string  `json:"id"`
	Email    string  `json:"email"`
	FullName *string `json:"full_name"`
}

// authorizationJSON is the oauth-authorization resource.
type authorizationJSON struct {
	AccessToken  *tokenJSON     `json:"access_token"`
	Client       *clientRefJSON `json:"client"`
	CreatedAt    string         `json:"created_at"`
	Description  string         `json:"description"`
	Grant        *grantJSON     `json:"grant"`
	ID           string         `json:"id"`
	RefreshToken *tokenJSON     `json:"refresh_token"`
	Scope        []string       `json:"scope"`
	Session      *idJSON        `json:"session"`
	UpdatedAt    string         `json:"updated_at"`
	User         userJSON       `json:"user"`
}

// expiresIn is the whole seconds left until t, or nil for never.
func expiresIn(t time.Time, now time.Time) *int64 {
	if t.IsZero() {
		return nil
	}
	n := max(int64((t.Sub(now)+time.Second/2)/time.Second), 0)
	return &n
}

func newTokenJSON(t *service.IssuedToken, now time.Time) *tokenJSON {
	if t == nil {
		return nil
	}
	return &tokenJSON{ExpiresIn: expiresIn(t.ExpiresAt, now), ID: t.ID, Token: t.Shown()}
}

func newAuthorizationJSON(in service.AuthorizationInfo, now time.Time) authorizationJSON {
	out := authorizationJSON{
		AccessToken: newTokenJSON(in.Access, now), CreatedAt: timeJSON(in.CreatedAt),
		Description: in.Description, ID: in.ID, RefreshToken: newTokenJSON(in.Refresh, now),
		Scope: in.Scope, UpdatedAt: timeJSON(in.UpdatedAt),
		User: userJSON{ID: in.User.ID, Email: in.User.Email, FullName: stringOrNull(in.User.Name)},
	}
	if out.Scope == nil {
		out.Scope = []string{}
	}
	if in.Client != nil {
		out.Client = &clientRefJSON{ID: in.Client.ID, Name: in.Client.Name, RedirectURI: in.Client.RedirectURI}
	}
	if in.Grant != nil {
		var left int64
		if p := expiresIn(in.Grant.ExpiresAt, now); p != nil {
			left = *p
		}
		out.Grant = &grantJSON{Code: in.Grant.Shown(), ExpiresIn: left, ID: in.Grant.ID}
	}
	if in.SessionID != "" {
		out.Session = &idJSON{ID: in.SessionID}
	}
	return out
}

// flexInt is an integer that may arrive as a JSON number, a numeric string
// (the Heroku CLI sends `"expires_in":"3600"`) or null.
type flexInt struct {
	Set   bool
	Value int
}

// UnmarshalJSON implements json.Unmarshaler.
func (f *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = flexInt{}
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		b = []byte(s)
	}
	n, err := strconv.Atoi(string(b))
	if err != nil {
		return &json.UnmarshalTypeError{Value: "non-integer " + clip(string(b), 20), Type: reflect.TypeOf(0)}
	}
	*f = flexInt{Set: true, Value: n}
	return nil
}

// clientID is a client named by its id as a string, or as {"id": …}
// (id.heroku.com sends the object form).
type clientID string

// UnmarshalJSON implements json.Unmarshaler.
func (c *clientID) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*c = ""
		return nil
	case len(b) > 0 && b[0] == '{':
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(b, &v); err != nil {
			return err
		}
		*c = clientID(v.ID)
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	*c = clientID(s)
	return nil
}

func (f flexInt) ptr() *int {
	if !f.Set {
		return nil
	}
	return &f.Value
}

func (a *API) authorizationCreate() http.Handler {
	type request struct {
		Description *string  `json:"description"`
		Scope       []string `json:"scope"`
		ExpiresIn   flexInt  `json:"expires_in"`
		Client      clientID `json:"client"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		p := service.AuthorizationParams{Scope: req.Scope, ExpiresIn: req.ExpiresIn.ptr()}
		if req.Description != nil {
			p.Description = *req.Description
		}
		var info service.AuthorizationInfo
		var err error
		creds, login := loginFrom(r.Context())
		switch {
		case req.Client != "" && !login:
			// Consent to a client: the answer carries a grant code.
			info, err = a.svc.CreateGrant(r.Context(), actorFrom(r.Context()), service.GrantParams{
				ClientID: string(req.Client), Scope: req.Scope, Description: p.Description,
			})
		case login:
			info, err = a.svc.Login(r.Context(), service.LoginRequest{
				Email: creds.email, Password: creds.password, OTP: creds.otp,
				IP: clientIP(r), UserAgent: r.UserAgent(), Params: p,
			})
		default:
			info, err = a.svc.CreateAuthorization(r.Context(), actorFrom(r.Context()), p)
		}
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusCreated, newAuthorizationJSON(info, a.svc.Now()))
	})
}

var authorizationRanges = []string{"id"}

func (a *API) authorizationList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg, err := parseRange(r.Header.Get("Range"), authorizationRanges)
		if err != nil {
			a.error(w, r, err)
			return
		}
		page := rg
		page.Max++
		infos, err := a.svc.Authorizations(r.Context(), actorFrom(r.Context()), page)
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]authorizationJSON, len(infos))
		for i, in := range infos {
			out[i] = newAuthorizationJSON(in, a.svc.Now())
		}
		list(a, w, r, rg, authorizationRanges, out, func(v authorizationJSON) string { return v.ID })
	})
}

func (a *API) authorizationInfo() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := a.svc.Authorization(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAuthorizationJSON(info, a.svc.Now()))
	})
}

func (a *API) authorizationUpdate() http.Handler {
	type request struct {
		Description *string          `json:"description"`
		Client      *json.RawMessage `json:"client"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		moving := req.Client != nil && string(bytes.TrimSpace(*req.Client)) != "null"
		info, err := a.svc.UpdateAuthorization(r.Context(), actorFrom(r.Context()), r.PathValue("id"), service.AuthorizationUpdate{Description: req.Description, MoveToClient: moving})
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAuthorizationJSON(info, a.svc.Now()))
	})
}

func (a *API) authorizationDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := a.svc.RevokeAuthorization(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAuthorizationJSON(info, a.svc.Now()))
	})
}

func (a *API) authorizationRegenerate() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		info, err := a.svc.RegenerateTokens(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newAuthorizationJSON(info, a.svc.Now()))
	})
}
