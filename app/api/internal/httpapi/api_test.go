package httpapi_test

import (
	"net/http"
	"strings"
	"testing"
)

func TestHealthzReturns200(t *testing.T) {
	s := newTestServer(t)
	if r := s.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("status %d, body %s; want 200", r.status, r.body)
	}
	s.redis.Kill()
	if r := s.get("/healthz"); r.status != http.StatusOK {
		t.Errorf("with Redis down: status %d, body %s; want 200, as the process is alive", r.status, r.body)
	}
}

func TestReadyzReturns200WhileRedisAnswersAnd503WhileItDoesNot(t *testing.T) {
	s := newTestServer(t)
	if r := s.get("/readyz"); r.status != http.StatusOK {
		t.Errorf("status %d, body %s; want 200", r.status, r.body)
	}
	s.redis.Kill()
	wantError(t, s.get("/readyz"), http.StatusServiceUnavailable, "")
	s.redis.Restart()
	if r := s.get("/readyz"); r.status != http.StatusOK {
		t.Errorf("after Redis restarted: status %d, body %s; want 200", r.status, r.body)
	}
}

func TestEveryUserEndpointReturns503WhileRedisIsDown(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	s.redis.Kill()
	requests := []struct{ method, path, contentType, body string }{
		{http.MethodPost, "/api/users", "application/json", userJSON("Bob", "bob@example.com")},
		{http.MethodGet, "/api/users", "", ""},
		{http.MethodGet, "/api/users/" + u.ID, "", ""},
		{http.MethodPut, "/api/users/" + u.ID, "application/json", userJSON("Ada", "ada@example.com")},
		{http.MethodPatch, "/api/users/" + u.ID, "application/merge-patch+json", `{"name":"Ada"}`},
		{http.MethodDelete, "/api/users/" + u.ID, "", ""},
	}
	for _, req := range requests {
		wantError(t, s.do(req.method, req.path, req.contentType, req.body), http.StatusServiceUnavailable, "")
	}
	// Client errors are still reported as such.
	wantError(t, s.post("/api/users", `{"name":"","email":"a@b.c"}`), http.StatusBadRequest, "name")
	wantError(t, s.get("/api/users/nope"), http.StatusNotFound, "")
}

func TestMetricsCountRequestsAndTheirDurationByRoutePatternAndStatus(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	s.create("Bob", "bob@example.com")
	s.get("/api/users/" + u.ID)
	s.get("/api/users/" + unknownID)
	s.get("/no/such/path")
	s.get("/another/unknown/path")

	r := s.get("/metrics")
	if r.status != http.StatusOK {
		t.Fatalf("status %d; want 200", r.status)
	}
	for _, want := range []string{
		`http_requests_total{route="POST /api/users",status="201"} 2`,
		`http_requests_total{route="GET /api/users/{id}",status="200"} 1`,
		`http_requests_total{route="GET /api/users/{id}",status="404"} 1`,
		`http_requests_total{route="unmatched",status="404"} 2`,
		`http_request_duration_seconds_count{route="POST /api/users",status="201"} 2`,
		`http_request_duration_seconds_bucket{route="GET /api/users/{id}",status="404",le="+Inf"} 1`,
	} {
		if !strings.Contains(r.body, want+"\n") {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(r.body, "/no/such/path") {
		t.Error("metrics label an unmatched path, which lets clients create time series")
	}
}
