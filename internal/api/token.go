package api

import (
	"bytes"
	"encoding/json"
	"net/http"

	"github.com/keyhole/keyhole/internal/service"
)

// oauthTokenJSON is the oauth-token resource: the answer to POST /oauth/tokens.
type oauthTokenJSON struct {
	AccessToken   tokenJSON       `json:"access_token"`
	Authorization idJSON          `json:"authorization"`
	Client        *clientRefToken `json:"client"`
	CreatedAt     string          `json:"created_at"`
	Grant         grantRefJSON    `json:"grant"`
	ID            string          `json:"id"`
	RefreshToken  *tokenJSON      `json:"refresh_token,omitempty"`
	Session       *idJSON         `json:"session,omitempty"`
	UpdatedAt     string          `json:"updated_at"`
	User          idJSON          `json:"user"`
}

// clientRefToken is how a token names its client: only by the secret used,
// which the caller already has. Keyhole never repeats it: null.
type clientRefToken struct {
	Secret string `json:"secret"`
}

type grantRefJSON struct {
	Code string `json:"code"`
	Type string `json:"type"`
}

// nullableObject accepts a JSON object or null; Heroku's clients send
// `"refresh_token": {"token": null}` and `"grant": {"type": "refresh_token"}`.
type nullableString struct{ s string }

func (n *nullableString) UnmarshalJSON(b []byte) error {
	if bytes.Equal(bytes.TrimSpace(b), []byte("null")) {
		n.s = ""
		return nil
	}
	return json.Unmarshal(b, &n.s)
}

func (a *API) tokenCreate() http.Handler {
	type request struct {
		Client *struct {
			ID     nullableString `json:"id"`
			Secret nullableString `json:"secret"`
		} `json:"client"`
		Grant *struct {
			Code nullableString `json:"code"`
			Type nullableString `json:"type"`
		} `json:"grant"`
		RefreshToken *struct {
			Token nullableString `json:"token"`
		} `json:"refresh_token"`
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req request
		if err := decode(w, r, &req); err != nil {
			a.error(w, r, err)
			return
		}
		tr := service.TokenRequest{GrantType: service.GrantAuthorizationCode, Client: service.ClientAuth{IP: clientIP(r)}}
		if req.Client != nil {
			tr.Client.ID, tr.Client.Secret = req.Client.ID.s, req.Client.Secret.s
		}
		if req.Grant != nil {
			tr.Code = req.Grant.Code.s
			if req.Grant.Type.s != "" {
				tr.GrantType = req.Grant.Type.s
			}
		}
		if req.RefreshToken != nil {
			tr.RefreshToken = req.RefreshToken.Token.s
		}
		g, err := a.svc.Exchange(r.Context(), tr)
		if err != nil {
			a.error(w, r, err)
			return
		}
		now := a.svc.Now()
		out := oauthTokenJSON{
			AccessToken:   *newTokenJSON(&g.Access, now),
			Authorization: idJSON{ID: g.Authorization.ID},
			CreatedAt:     timeJSON(g.Access.CreatedAt),
			Grant:         grantRefJSON{Code: tr.Code, Type: tr.GrantType},
			ID:            g.Access.ID,
			RefreshToken:  newTokenJSON(g.Refresh, now),
			UpdatedAt:     timeJSON(g.Access.CreatedAt),
			User:          idJSON{ID: g.Authorization.AccountID},
		}
		if g.Authorization.SessionID != "" {
			out.Session = &idJSON{ID: g.Authorization.SessionID}
		}
		a.respond(w, r, http.StatusCreated, out)
	})
}
