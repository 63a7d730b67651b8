// Package metrics is what Keyhole tells Prometheus: requests by route and
// status with their latency, tokens issued and revoked, failed sign-ins,
// the token cache and the database pool. It uses the official client
// library with a registry of its own.
package metrics

import (
	"database/sql"
	"net/http"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/keyhole/keyhole/internal/store/cached"
)

// Metrics holds Keyhole's collectors.
type Metrics struct {
	reg       *prometheus.Registry
	requests  *prometheus.CounterVec
	latency   *prometheus.HistogramVec
	issued    *prometheus.CounterVec
	revoked   *prometheus.CounterVec
	signins   *prometheus.CounterVec
	throttled *prometheus.CounterVec
}

// New returns the collectors, registered with the Go runtime's and the
// process's.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_http_requests_total", Help: "HTTP requests answered, by route pattern and status code.",
		}, []string{"route", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "keyhole_http_request_duration_seconds", Help: "Time to answer HTTP requests, by route pattern.",
			Buckets: []float64{.0002, .0005, .001, .002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"route"}),
		issued: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_tokens_issued_total", Help: "Access tokens issued, by grant.",
		}, []string{"grant"}),
		revoked: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_authorizations_revoked_total", Help: "Authorizations and tokens revoked, by cause.",
		}, []string{"cause"}),
		signins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_signin_failures_total", Help: "Failed sign-ins (wrong email or password).",
		}, []string{}),
		throttled: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "keyhole_throttled_total", Help: "Secret checks refused by a throttle, by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.issued, m.revoked, m.signins, m.throttled,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in Prometheus's text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Request records one answered request.
func (m *Metrics) Request(route string, code int, took time.Duration) {
	if route == "" {
		route = "unmatched"
	}
	m.requests.WithLabelValues(route, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(took.Seconds())
}

// Issued records an access token issued by grant.
func (m *Metrics) Issued(grant string) { m.issued.WithLabelValues(grant).Inc() }

// Revoked records a revocation by cause.
func (m *Metrics) Revoked(cause string) { m.revoked.WithLabelValues(cause).Inc() }

// SignInFailed records a failed sign-in.
func (m *Metrics) SignInFailed() { m.signins.WithLabelValues().Inc() }

// Throttled records a secret check refused by a throttle.
func (m *Metrics) Throttled(kind string) { m.throttled.WithLabelValues(kind).Inc() }

// Cache exports the token cache's counters.
func (m *Metrics) Cache(c *cached.Store) {
	for name, v := range map[string]func() int64{
		"hits": c.Stats.Hits.Load, "misses": c.Stats.Misses.Load, "bypassed": c.Stats.Bypassed.Load,
		"invalidations": c.Stats.Invalidations.Load,
	} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "keyhole_cache_" + name + "_total", Help: "Token cache " + name + ".",
		}, func() float64 { return float64(v()) }))
	}
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "keyhole_cache_entries", Help: "Values the token cache holds.",
	}, func() float64 { return float64(c.Len()) }))
}

// PgxPool exports a PostgreSQL pool's statistics.
func (m *Metrics) PgxPool(p *pgxpool.Pool) {
	gauge := func(name, help string, f func(*pgxpool.Stat) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "keyhole_db_" + name, Help: help},
			func() float64 { return f(p.Stat()) }))
	}
	gauge("connections_in_use", "Database connections in use.", func(s *pgxpool.Stat) float64 { return float64(s.AcquiredConns()) })
	gauge("connections_idle", "Idle database connections.", func(s *pgxpool.Stat) float64 { return float64(s.IdleConns()) })
	gauge("connections_max", "Most database connections the pool opens.", func(s *pgxpool.Stat) float64 { return float64(s.MaxConns()) })
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "keyhole_db_waits_total", Help: "Times a request waited for a database connection.",
	}, func() float64 { return float64(p.Stat().EmptyAcquireCount()) }))
}

// SQLDB exports a database/sql pool's statistics (SQLite).
func (m *Metrics) SQLDB(db *sql.DB) {
	m.reg.MustRegister(collectors.NewDBStatsCollector(db, "keyhole"))
}
