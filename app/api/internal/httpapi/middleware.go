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

// instrument records the metrics and an access log line of every request,
// and gives a JSON body to the errors that mux answers itself in plain text:
// 404 for an unknown path and 405, with its Allow header, for a known path
// with another method. ServeMux sets r.Pattern before it calls the handler
// of a route, so a response that starts while r.Pattern is still "" is one
// of those: no second routing of the request is needed to tell.
func (a *api) instrument(mux *http.ServeMux) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		rec := &responseRecorder{ResponseWriter: w, req: r, status: http.StatusOK}
		mux.ServeHTTP(rec, r)
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

// responseRecorder remembers the status code of a response, and replaces
// the body of an error that no route answered (req.Pattern is "") with a
// JSON error named after the status, keeping the headers.
type responseRecorder struct {
	http.ResponseWriter
	req         *http.Request
	status      int
	wroteHeader bool
	replaced    bool
}

func (r *responseRecorder) WriteHeader(status int) {
	if r.wroteHeader {
		r.ResponseWriter.WriteHeader(status) // superfluous: net/http logs it
		return
	}
	r.status, r.wroteHeader = status, true
	if status >= http.StatusBadRequest && r.req.Pattern == "" {
		r.replaced = true
		writeJSON(r.ResponseWriter, status, &apiError{Message: strings.ToLower(http.StatusText(status))})
		return
	}
	r.ResponseWriter.WriteHeader(status)
}

func (r *responseRecorder) Write(b []byte) (int, error) {
	if r.replaced {
		return len(b), nil
	}
	r.wroteHeader = true
	return r.ResponseWriter.Write(b)
}
