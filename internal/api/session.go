package api

import (
	"net/http"
	"time"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// sessionJSON is a login session. The public schema has no oauth-session
// definition; this is the shape Heroku's clients read (id, description).
type sessionJSON struct {
	CreatedAt   string `json:"created_at"`
	Description string `json:"description"`
	ExpiresIn   int64  `json:"expires_in"`
	ID          string `json:"id"`
}

func newSessionJSON(s keyhole.Session, now time.Time) sessionJSON {
	left := max(int64(s.ExpiresAt.Sub(now)/time.Second), 0)
	return sessionJSON{CreatedAt: timeJSON(s.CreatedAt), Description: s.Description, ExpiresIn: left, ID: s.ID}
}

var sessionRanges = []string{"id"}

func (a *API) sessionList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg, err := parseRange(r.Header.Get("Range"), sessionRanges)
		if err != nil {
			a.error(w, r, err)
			return
		}
		page := rg
		page.Max++
		ss, err := a.svc.Sessions(r.Context(), actorFrom(r.Context()), page)
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]sessionJSON, len(ss))
		for i, s := range ss {
			out[i] = newSessionJSON(s, a.svc.Now())
		}
		list(a, w, r, rg, sessionRanges, out, func(v sessionJSON) string { return v.ID })
	})
}

func (a *API) sessionDelete() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, err := a.svc.DeleteSession(r.Context(), actorFrom(r.Context()), r.PathValue("id"))
		if err != nil {
			a.error(w, r, err)
			return
		}
		a.respond(w, r, http.StatusOK, newSessionJSON(s, a.svc.Now()))
	})
}
