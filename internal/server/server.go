// Package server assembles Keyhole's HTTP server: it builds the three
// surfaces (the Platform API, the OAuth protocol endpoints and the web
// pages), lets each mount its own routes on one mux, and puts the
// middleware they share in front.
package server

import (
	"io"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/keyhole/keyhole/internal/api"
	"github.com/keyhole/keyhole/internal/metrics"
	"github.com/keyhole/keyhole/internal/oauth"
	"github.com/keyhole/keyhole/internal/ratelimit"
	"github.com/keyhole/keyhole/internal/requestid"
	"github.com/keyhole/keyhole/internal/secret"
	"github.com/keyhole/keyhole/internal/service"
	"github.com/keyhole/keyhole/internal/web"
)

// Config is what the server is built from.
type Config struct {
	Service *service.Service
	// Keys is the server key's sealer; the pages make their form tokens
	// with it.
	Keys *secret.Sealer
	Log  *slog.Logger
	// Issuer is the public base URL, such as https://id.example.com.
	Issuer string
	// Signup lets people create accounts at /signup.
	Signup bool
	// RateLimit rations Platform API calls per account; nil: no limit.
	RateLimit ratelimit.Budget
	// Metrics, when set, counts every request; MetricsPath, when set too,
	// serves them on this handler (else they are served elsewhere, on
	// --metrics-addr).
	Metrics     *metrics.Metrics
	MetricsPath string
	// AccessLog, when set, is where the access log's lines go, in the
	// format of slog's TextHandler, without going through Log: what Log
	// writes to when it is a TextHandler.
	AccessLog io.Writer
	// Draining, when set and true, makes /readyz answer 503: the process
	// is shutting down and the load balancer should stop sending to it.
	Draining *atomic.Bool
	// BehindProxy trusts X-Forwarded-For (its last address, the one the
	// load balancer added) as the client's address, for throttles and
	// logs. Only when asked: otherwise a client could name any address.
	BehindProxy bool
	// HSTSIncludeSubdomains adds includeSubDomains to the
	// Strict-Transport-Security header (sent only when Issuer is https),
	// for an operator who owns the whole domain: every subdomain is then
	// reached over https only, by every browser that saw the header.
	HSTSIncludeSubdomains bool
}

// New returns the whole server: health checks and every surface, behind
// request ids, the access log, the headers every answer carries, and a
// last-resort recoverer (each surface recovers in its own shape first).
func New(c Config) http.Handler {
	log := c.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeText(w, http.StatusOK, "ok\n")
	})
	mux.HandleFunc("GET /readyz", func(w http.ResponseWriter, r *http.Request) {
		if c.Draining != nil && c.Draining.Load() {
			writeText(w, http.StatusServiceUnavailable, "shutting down\n")
			return
		}
		if err := c.Service.Ready(r.Context()); err != nil {
			log.WarnContext(r.Context(), "not ready", "err", err)
			writeText(w, http.StatusServiceUnavailable, "database unreachable\n")
			return
		}
		writeText(w, http.StatusOK, "ok\n")
	})
	a := api.New(api.Deps{Service: c.Service, Log: log, Limiter: c.RateLimit})
	a.Register(mux)
	oauth.New(oauth.Deps{Service: c.Service, Log: log, Issuer: c.Issuer}).Register(mux)
	pages := web.New(web.Deps{Service: c.Service, Keys: c.Keys, Log: log, Issuer: c.Issuer, Signup: c.Signup})
	pages.Register(mux)
	if c.Metrics != nil && c.MetricsPath != "" {
		mux.Handle("GET "+c.MetricsPath, c.Metrics.Handler())
	}
	// Any other path: a page for browsers, the API's JSON for programs.
	mux.Handle("/", notFound(a.NotFound(), pages.NotFound()))
	var hsts []string // none over http
	if strings.HasPrefix(c.Issuer, "https://") {
		hsts = hstsValue
		if c.HSTSIncludeSubdomains {
			hsts = hstsSubdomains
		}
	}
	var h http.Handler = requestid.Middleware(accessLog(log, c.AccessLog, c.Metrics, headers(hsts, recoverer(log, mux))))
	if c.BehindProxy {
		h = forwarded(h)
	}
	return h
}

// forwarded takes the client's address from the last X-Forwarded-For
// entry, the one the load balancer in front appended.
func forwarded(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if xff := r.Header.Values("X-Forwarded-For"); len(xff) > 0 {
			last := xff[len(xff)-1]
			if i := strings.LastIndexByte(last, ','); i >= 0 {
				last = last[i+1:]
			}
			if ip := net.ParseIP(strings.TrimSpace(last)); ip != nil {
				r = r.Clone(r.Context())
				r.RemoteAddr = net.JoinHostPort(ip.String(), "0")
			}
		}
		next.ServeHTTP(w, r)
	})
}

// notFound answers a path no surface serves: with the web's page when the
// client asks for HTML (a browser), else with the API's error.
func notFound(apiNotFound, pageNotFound http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.Header.Get("Accept"), "text/html") {
			pageNotFound.ServeHTTP(w, r)
			return
		}
		apiNotFound.ServeHTTP(w, r)
	})
}

// headers sets what every answer carries: no MIME sniffing, and HSTS
// (RFC 6797) when hsts, its value, is set: when the server is reached over
// https.
func headers(hsts []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// The values are shared by every answer rather than made for each:
		// net/http copies them to write them, and nothing changes them.
		h := w.Header()
		h["X-Content-Type-Options"] = nosniff
		if hsts != nil {
			h["Strict-Transport-Security"] = hsts
		}
		next.ServeHTTP(w, r)
	})
}

// lines hold access log lines while they are made.
var lines = sync.Pool{New: func() any { b := make([]byte, 0, 256); return &b }}

var (
	nosniff        = []string{"nosniff"}
	hstsValue      = []string{"max-age=63072000"}
	hstsSubdomains = []string{"max-age=63072000; includeSubDomains"}
)

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
// in headers and bodies, which are never logged. It counts the request in
// m, when set, under the route pattern that served it.
// With out set (the log is text), lines are written to out directly, as
// slog's TextHandler would write them (appendAccessLine).
func accessLog(log *slog.Logger, out io.Writer, m *metrics.Metrics, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status == 0 {
			sw.status = http.StatusOK
		}
		took := time.Since(start)
		if m != nil {
			// The mux records the pattern it matched on the request.
			m.Request(r.Pattern, sw.status, took)
		}
		id := requestid.From(r.Context())
		path := redactPath(r.URL.Path)
		if out != nil {
			bp := lines.Get().(*[]byte)
			line, ok := appendAccessLine((*bp)[:0], time.Now(), id, r.Method, path, sw.status, sw.bytes, took)
			if ok {
				_, _ = out.Write(line)
			}
			*bp = line
			lines.Put(bp)
			if ok {
				return
			}
		}
		log.LogAttrs(r.Context(), slog.LevelInfo, "request",
			slog.String("request_id", id),
			slog.String("method", r.Method),
			slog.String("path", path),
			slog.Int("status", sw.status),
			slog.Int("bytes", sw.bytes),
			slog.Duration("duration", took),
		)
	})
}

// recoverer is the last resort for a panic outside the surfaces, whose own
// recoverers answer in their shape: a logged, generic 500.
func recoverer(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				log.ErrorContext(r.Context(), "panic", "request_id", requestid.From(r.Context()), "panic", v, "stack", string(debug.Stack()))
				writeText(w, http.StatusInternalServerError, "An internal error occurred. Please try again later.\n")
			}
		}()
		next.ServeHTTP(w, r)
	})
}
