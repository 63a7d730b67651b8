// Package api is Keyhole's Platform API surface: Heroku's Platform API v3
// JSON over HTTP. Handlers decode, call one service method and encode.
package api

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/service"
)

// Deps are the API's dependencies.
type Deps struct {
	Service *service.Service
	Log     *slog.Logger
	// Limiter rations calls per account (per client address before login).
	Limiter ratelimit.Budget
}

// API serves the Platform API.
type API struct {
	svc     *service.Service
	log     *slog.Logger
	limiter ratelimit.Budget
}

// New returns the Platform API surface.
func New(d Deps) *API {
	a := &API{svc: d.Service, log: d.Log, limiter: d.Limiter}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	return a
}

// Register mounts every route of the table on mux, each path once more
// without a method so that another method gets the API's own 404.
//
// The routes under one team, /teams/{team}/…, are mounted on a mux of
// their own behind the one pattern /teams/{team}/: Heroku's paths
// /teams/apps/{app}/… and /teams/invitations/{token}/… would otherwise
// overlap them (a team named "apps"), which net/http refuses. Those
// more specific paths win, and the team names they use are reserved.
func (a *API) Register(mux *http.ServeMux) {
	team := http.NewServeMux()
	team.Handle("/", a.NotFound())
	mux.Handle(teamPrefix, team)
	routes := a.routes()
	var all []string
	for _, rt := range routes {
		_, path, _ := strings.Cut(rt.Pattern, " ")
		all = append(all, path)
	}
	paths := map[string]bool{}
	for _, rt := range routes {
		on := mux
		_, path, _ := strings.Cut(rt.Pattern, " ")
		if strings.HasPrefix(path, teamPrefix) {
			on = team
		}
		on.Handle(rt.Pattern, a.surface(a.endpoint(rt)))
		// A literal path that a wildcard path also matches (/teams/apps,
		// /teams/{team}) gets its other methods from the wildcard's.
		if !paths[path] && !shadowed(path, all) {
			paths[path] = true
			on.Handle(path, a.NotFound())
		}
	}
}

// shadowed reports whether another of paths, with a wildcard where path
// has a literal segment, matches path.
func shadowed(path string, paths []string) bool {
	segs := strings.Split(path, "/")
	for _, p := range paths {
		other := strings.Split(p, "/")
		if p == path || len(other) != len(segs) {
			continue
		}
		match := true
		for i := range segs {
			if other[i] != segs[i] && !strings.HasPrefix(other[i], "{") {
				match = false
				break
			}
		}
		if match {
			return true
		}
	}
	return false
}

const teamPrefix = "/teams/{team}/"

// NotFound answers a route the API does not have, in the API's shape.
func (a *API) NotFound() http.Handler {
	return a.surface(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.error(w, r, &apiError{status: http.StatusNotFound, id: "not_found", message: "That route does not exist: " + r.Method + " " + clip(r.URL.Path, 100) + "."})
	}))
}

// surface wraps every API handler: a panic becomes the API's 500, and the
// Accept header must ask for version 3.
func (a *API) surface(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				a.error(w, r, fmt.Errorf("panic: %v\n%s", v, debug.Stack()))
			}
		}()
		if err := checkAccept(r.Header.Get("Accept")); err != nil {
			a.error(w, r, err)
			return
		}
		h.ServeHTTP(w, r)
	})
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
