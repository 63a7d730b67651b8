package web

import (
	"net/http"
	"net/url"

	"github.com/keyhole/keyhole/internal/keyhole"
	"github.com/keyhole/keyhole/internal/store"
)

// activityPageSize is how many events one page of the activity log shows.
const activityPageSize = 50

// eventRow is one event as the activity page lists it.
type eventRow struct {
	keyhole.Event
	Title string
}

// activityLog is one page of the activity log; Older links to the next.
type activityLog struct {
	Events []eventRow
	Older  string
	First  bool
}

// activityPage is /dashboard/activity: the account's events, newest
// first, a page at a time (?before=<event id>).
func (h *Web) activityPage(w http.ResponseWriter, r *http.Request, m me) {
	before := clip(r.URL.Query().Get("before"))
	list, err := h.svc.Activity(r.Context(), m.actor, store.Range{Start: before, Exclusive: before != "", Desc: true, Max: activityPageSize + 1})
	if err != nil {
		h.fail(w, r, err)
		return
	}
	log := activityLog{First: before == ""}
	if len(list) > activityPageSize {
		list = list[:activityPageSize]
		log.Older = "/dashboard/activity?before=" + url.QueryEscape(list[len(list)-1].ID)
	}
	for _, e := range list {
		title := keyhole.EventTitles[e.Type]
		if title == "" {
			title = string(e.Type)
		}
		log.Events = append(log.Events, eventRow{Event: e, Title: title})
	}
	h.show(w, r, m, http.StatusOK, "activity", "activity", page{Title: "Activity", Data: log})
}
