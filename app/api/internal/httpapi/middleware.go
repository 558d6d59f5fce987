package httpapi

import (
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// unmatchedRoute is the route label of requests that match no pattern, so
// that arbitrary paths cannot inflate the number of time series.
const unmatchedRoute = "unmatched"

// quietRoutes are logged at debug level: probes and scrapes come every few
// seconds.
var quietRoutes = []string{"GET /healthz", "GET /readyz", "GET /metrics"}

// metrics are the HTTP metrics of the service.
type metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newMetrics creates the HTTP metrics and registers them with reg.
func newMetrics(reg prometheus.Registerer) *metrics {
	labels := []string{"route", "status"}
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "http_requests_total",
			Help: "HTTP requests served, by route pattern and status code.",
		}, labels),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "http_request_duration_seconds",
			Help:    "Time to serve HTTP requests, by route pattern and status code.",
			Buckets: prometheus.DefBuckets,
		}, labels),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// instrument records the metrics and an access log line of every request.
func (a *api) instrument(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		next.ServeHTTP(rec, r)
		elapsed := time.Since(start)

		route := r.Pattern // set by ServeMux on this very request
		if route == "" {
			route = unmatchedRoute
		}
		status := strconv.Itoa(rec.status)
		a.metrics.requests.WithLabelValues(route, status).Inc()
		a.metrics.duration.WithLabelValues(route, status).Observe(elapsed.Seconds())

		level := slog.LevelInfo
		if slices.Contains(quietRoutes, route) {
			level = slog.LevelDebug
		}
		a.log.LogAttrs(r.Context(), level, "request",
			slog.String("method", r.Method),
			slog.String("path", r.URL.Path),
			slog.String("route", route),
			slog.Int("status", rec.status),
			slog.Float64("seconds", elapsed.Seconds()),
		)
	})
}

// statusRecorder remembers the status code of a response.
type statusRecorder struct {
	http.ResponseWriter
	status      int
	wroteHeader bool
}

func (r *statusRecorder) WriteHeader(status int) {
	if !r.wroteHeader {
		r.status, r.wroteHeader = status, true
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}

// jsonRouteErrors serves mux, giving a JSON body to the errors that mux
// answers itself in plain text: 404 for an unknown path and 405, with its
// Allow header, for a known path with another method.
func jsonRouteErrors(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if _, pattern := mux.Handler(r); pattern == "" {
			w = &jsonErrorWriter{ResponseWriter: w}
		}
		mux.ServeHTTP(w, r)
	})
}

// jsonErrorWriter replaces the body of an error response with a JSON error
// named after the status, keeping the headers.
type jsonErrorWriter struct {
	http.ResponseWriter
	replaced bool
}

func (w *jsonErrorWriter) WriteHeader(status int) {
	if status < http.StatusBadRequest {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	writeJSON(w.ResponseWriter, status, &apiError{Message: strings.ToLower(http.StatusText(status))})
}

func (w *jsonErrorWriter) Write(b []byte) (int, error) {
	if w.replaced {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}
