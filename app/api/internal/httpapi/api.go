// Package httpapi serves the user API over HTTP/JSON, with health and
// readiness probes and Prometheus metrics.
package httpapi

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// readyTimeout bounds a readiness check.
const readyTimeout = time.Second

// Options are what New needs.
type Options struct {
	// Store keeps the users.
	Store *users.Store
	// Ready returns nil when the service can take traffic, or an error whose
	// message, shown to the caller of /readyz, says why not.
	Ready func(context.Context) error
	// Logger receives access logs and failures.
	Logger *slog.Logger
	// Registry receives the HTTP metrics, and /metrics serves all it holds.
	Registry *prometheus.Registry
}

// api holds what the handlers share.
type api struct {
	store   *users.Store
	ready   func(context.Context) error
	log     *slog.Logger
	metrics *metrics
}

// New returns the handler of the whole service. Every response body,
// including those for unknown paths and methods, is JSON, except /metrics.
func New(opts Options) http.Handler {
	a := &api{
		store:   opts.Store,
		ready:   opts.Ready,
		log:     opts.Logger,
		metrics: newMetrics(opts.Registry),
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.healthz)
	mux.HandleFunc("GET /readyz", a.readyz)
	mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{
		ErrorLog: slog.NewLogLogger(opts.Logger.Handler(), slog.LevelError),
	}))
	mux.Handle("POST /api/users", a.handle(a.createUser))
	mux.Handle("GET /api/users", a.handle(a.listUsers))
	mux.Handle("GET /api/users/{id}", a.handle(a.getUser))
	mux.Handle("PUT /api/users/{id}", a.handle(a.replaceUser))
	mux.Handle("PATCH /api/users/{id}", a.handle(a.patchUser))
	mux.Handle("DELETE /api/users/{id}", a.handle(a.deleteUser))
	return a.instrument(mux)
}

// healthz reports that the process is alive.
func (a *api) healthz(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

// readyz reports whether the service can take traffic.
func (a *api) readyz(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), readyTimeout)
	defer cancel()
	if err := a.ready(ctx); err != nil {
		writeJSON(w, http.StatusServiceUnavailable, &apiError{Message: "not ready: " + err.Error()})
		return
	}
	writeJSON(w, http.StatusOK, map[string]string{"status": "ready"})
}

// errorHandler is a handler that returns its error for handle to answer.
type errorHandler func(w http.ResponseWriter, r *http.Request) error

// handle adapts h to http.Handler: an error h returns is answered as JSON,
// and logged when it is the server's fault.
func (a *api) handle(h errorHandler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := h(w, r)
		if err == nil {
			return
		}
		e := toAPIError(err)
		if e.Status >= http.StatusInternalServerError {
			a.log.ErrorContext(r.Context(), "request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		}
		writeJSON(w, e.Status, e)
	})
}
