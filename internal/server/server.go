// Package server joins Keyhole's HTTP surfaces and the middleware they
// share into one http.Handler.
package server

import (
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/keyhole/keyhole/internal/api"
	"github.com/keyhole/keyhole/internal/oauth"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/service"
)

// Deps are what the server is built from.
type Deps struct {
	Service *service.Service
	API     *api.API
	OAuth   *oauth.OAuth
	// Web is the HTML surface, mounted at WebPaths.
	Web      http.Handler
	WebPaths []string
	Log      *slog.Logger
}

// New returns the whole server: health checks, then every surface, behind
// recovery, request ids and the access log.
func New(d Deps) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if err := d.Service.Ready(r.Context()); err != nil {
			d.Log.WarnContext(r.Context(), "not ready", "err", err)
			writeText(w, http.StatusServiceUnavailable, "database unreachable\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	if d.OAuth != nil {
		for _, p := range oauth.Paths() {
			mux.Handle(p, d.OAuth)
		}
	}
	if d.Web != nil {
		for _, p := range d.WebPaths {
			mux.Handle(p, d.Web)
		}
	}
	mux.Handle("/", d.API)
	return requestid.Middleware(accessLog(d.Log, recoverer(d.Log, mux)))
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(s))
}

// statusWriter remembers the status a handler wrote.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += n
	return n, err
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// accessLog logs one line per request: id, method, path (never the query,
// which may hold a code), status and duration. Tokens and passwords travel
// in headers and bodies, which are never logged.
func accessLog(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", requestid.From(r.Context())),
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", time.Since(start)),
		)
	})
}

// recoverer turns a panic into a logged 500 with a generic body.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "request_id", requestid.From(r.Context()), "panic", v, "stack", string(debug.Stack()))
				w.Header().Set("Content-Type", "application/json; charset=utf-8")
				w.WriteHeader(http.StatusInternalServerError)
				_, _ = w.Write([]byte(`{"id":"internal_server_error","message":"An internal error occurred. Please try again later."}` + "\n"))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
