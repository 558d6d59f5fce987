package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/httpapi"
	"github.com/sample-app/sample-app/app/api/internal/redistest"
	"github.com/sample-app/sample-app/app/api/internal/users"
)

// testServer is the API over its own redis-server.
type testServer struct {
	t     *testing.T
	url   string
	redis *redistest.Server
}

// newTestServer starts the API for a parallel test.
func newTestServer(t *testing.T) *testServer {
	t.Parallel()
	rs := redistest.Start(t)
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, Password: rs.Password, DialerRetries: 1})
	t.Cleanup(func() { _ = rdb.Close() })
	handler := httpapi.New(httpapi.Options{
		Store:    users.NewStore(rdb, users.Options{}),
		Ready:    func(ctx context.Context) error { return rdb.Ping(ctx).Err() },
		Logger:   slog.New(slog.NewTextHandler(t.Output(), nil)),
		Registry: prometheus.NewRegistry(),
	})
	srv := httptest.NewServer(handler)
	t.Cleanup(srv.Close)
	return &testServer{t: t, url: srv.URL, redis: rs}
}

// response is a response with its body read.
type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request, with a body of the content type unless contentType is "".
func (s *testServer) do(method, path, contentType, body string) response {
	s.t.Helper()
	req, err := http.NewRequestWithContext(s.t.Context(), method, s.url+path, strings.NewReader(body))
	if err != nil {
		s.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		s.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		s.t.Fatal(err)
	}
	return response{status: resp.StatusCode, header: resp.Header, body: string(b)}
}

func (s *testServer) get(path string) response { return s.do(http.MethodGet, path, "", "") }

func (s *testServer) post(path, body string) response {
	return s.do(http.MethodPost, path, "application/json", body)
}

// create creates a user, failing the test unless it gets a 201.
func (s *testServer) create(name, email string) users.User {
	s.t.Helper()
	r := s.post("/api/users", userJSON(name, email))
	if r.status != http.StatusCreated {
		s.t.Fatalf("create %q <%s>: status %d, body %s", name, email, r.status, r.body)
	}
	return decode[users.User](s.t, r)
}

// userJSON returns a request body with name and email.
func userJSON(name, email string) string {
	b, _ := json.Marshal(map[string]string{"name": name, "email": email})
	return string(b)
}

// decode decodes the JSON body of r, which must have status 2xx.
func decode[T any](t *testing.T, r response) T {
	t.Helper()
	if r.status < 200 || r.status > 299 {
		t.Fatalf("status %d, body %s; want a success", r.status, r.body)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
	return v
}

// wantError fails t unless r is a JSON error with the status, about field, or
// about no field if field is "".
func wantError(t *testing.T, r response, status int, field string) {
	t.Helper()
	if r.status != status {
		t.Errorf("status %d, body %s; want %d", r.status, r.body, status)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q; want application/json", ct)
	}
	var body map[string]string
	if err := json.Unmarshal([]byte(r.body), &body); err != nil {
		t.Fatalf("error body %q is not a JSON object of strings: %v", r.body, err)
	}
	if body["error"] == "" {
		t.Errorf("error body %s has no error message", r.body)
	}
	gotField, hasField := body["field"]
	if gotField != field || hasField != (field != "") {
		t.Errorf("error body %s; want field %q", r.body, field)
	}
}
