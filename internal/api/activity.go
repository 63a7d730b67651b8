package api

import (
	"net/http"

	"github.com/keyhole/keyhole/internal/keyhole"
)

// eventJSON is one event of the account's activity log. The public schema
// has no such definition; the fields follow its conventions.
type eventJSON struct {
	CreatedAt   string  `json:"created_at"`
	Description string  `json:"description"`
	Detail      *string `json:"detail"`
	ID          string  `json:"id"`
	IP          *string `json:"ip"`
	Subject     *string `json:"subject"`
	Type        string  `json:"type"`
	UserAgent   *string `json:"user_agent"`
}

func newEventJSON(e keyhole.Event) eventJSON {
	return eventJSON{
		CreatedAt: timeJSON(e.CreatedAt), Description: keyhole.EventTitles[e.Type], Detail: stringOrNull(e.Detail), ID: e.ID,
		IP: stringOrNull(e.IP), Subject: stringOrNull(e.Subject), Type: string(e.Type), UserAgent: stringOrNull(e.UserAgent),
	}
}

// Event ids sort as the events happened, so id order is time order;
// `order=desc` gives the newest first.
var activityRanges = []string{"id"}

func (a *API) activityList() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rg, err := parseRange(r.Header.Get("Range"), activityRanges)
		if err != nil {
			a.error(w, r, err)
			return
		}
		page := rg
		page.Max++
		events, err := a.svc.Activity(r.Context(), actorFrom(r.Context()), page)
		if err != nil {
			a.error(w, r, err)
			return
		}
		out := make([]eventJSON, len(events))
		for i, e := range events {
			out[i] = newEventJSON(e)
		}
		list(a, w, r, rg, activityRanges, out, func(v eventJSON) string { return v.ID })
	})
}
