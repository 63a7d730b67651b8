// Package api is Keyhole's Platform API surface: Heroku's Platform API v3
// JSON over HTTP. Handlers decode, call one service method and encode.
package api

import (
	"log/slog"
	"net/http"

	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/service"
)

// Deps are the API's dependencies.
type Deps struct {
	Service *service.Service
	Log     *slog.Logger
	// Limiter rations calls per account (per client address before login).
	Limiter *ratelimit.Limiter
}

// API serves the Platform API.
type API struct {
	svc     *service.Service
	log     *slog.Logger
	limiter *ratelimit.Limiter
	mux     *http.ServeMux
}

// New returns the Platform API handler.
func New(d Deps) *API {
	a := &API{svc: d.Service, log: d.Log, limiter: d.Limiter, mux: http.NewServeMux()}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	for _, rt := range a.routes() {
		a.mux.Handle(rt.Pattern, a.endpoint(rt))
	}
	a.mux.Handle("/", a.notFound())
	return a
}

// ServeHTTP checks the Accept version, then routes.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if err := checkAccept(r.Header.Get("Accept")); err != nil {
		a.error(w, r, err)
		return
	}
	a.mux.ServeHTTP(w, r)
}

func (a *API) notFound() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.error(w, r, &apiError{status: http.StatusNotFound, id: "not_found", message: "That route does not exist: " + r.Method + " " + clip(r.URL.Path, 100) + "."})
	})
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
