package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

// startTimeout bounds how long run may take to start listening.
const startTimeout = 10 * time.Second

// logBuffer collects the logs of run; safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// listenAddr returns the address in the "listening" log line, or "".
func (b *logBuffer) listenAddr() string {
	for line := range strings.Lines(b.String()) {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &entry) == nil && entry.Msg == "listening" {
			return entry.Addr
		}
	}
	return ""
}

// instance is run running in the background.
type instance struct {
	url    string
	stop   context.CancelFunc // cancels the context of run, as SIGTERM would
	logs   *logBuffer
	client *http.Client
	done   chan struct{} // closed when run returns
	err    error         // what run returned
}

// wait waits for run to return and returns its error.
func (in *instance) wait() error {
	<-in.done
	return in.err
}

// returned reports whether run has returned.
func (in *instance) returned() bool {
	select {
	case <-in.done:
		return true
	default:
		return false
	}
}

// testEnv is a configuration to run the API on a free 127.0.0.1 port over rs.
func testEnv(rs *redistest.Server) map[string]string {
	return map[string]string{
		"LISTEN_HOST":    "127.0.0.1",
		"PORT":           "0",
		"REDIS_ADDR":     rs.Addr,
		"REDIS_PASSWORD": rs.Password,
		"LOG_LEVEL":      "debug",
	}
}

// startRun calls run in the background and waits until it listens.
func startRun(t *testing.T, env map[string]string) *instance {
	t.Helper()
	ctx, stop := context.WithCancel(context.Background())
	in := &instance{
		stop:   stop,
		done:   make(chan struct{}),
		logs:   &logBuffer{},
		client: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 10 * time.Second},
	}
	go func() {
		defer close(in.done)
		in.err = run(ctx, []string{"api"}, envOf(env), in.logs)
	}()
	t.Cleanup(func() {
		stop()
		_ = in.wait()
		if t.Failed() {
			t.Logf("logs of run:\n%s", in.logs)
		}
	})
	deadline := time.Now().Add(startTimeout)
	for in.logs.listenAddr() == "" {
		if time.Now().After(deadline) {
			t.Fatalf("run did not start listening within %s", startTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
	in.url = "http://" + in.logs.listenAddr()
	return in
}

// do sends a request and returns its status and body.
func (in *instance) do(t *testing.T, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, in.url+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := in.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// waitForStatus polls GET path until it answers want.
func (in *instance) waitForStatus(t *testing.T, path string, want int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		status, body := in.do(t, http.MethodGet, path, "")
		if status == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("GET %s still answers %d %s; want %d", path, status, body, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// slowCreate starts a create whose body is sent only once finish is called,
// if ever. It returns once the handler is in flight, waiting for the body;
// result receives the outcome of the request.
func (in *instance) slowCreate(t *testing.T, email string) (finish func(), result <-chan error) {
	t.Helper()
	body, writer := io.Pipe()
	inFlight := make(chan struct{})
	// With Expect: 100-continue the server answers 100 Continue when the
	// handler starts reading the body, and only then does the client send it.
	trace := &httptrace.ClientTrace{Got100Continue: func() { close(inFlight) }}
	req, err := http.NewRequestWithContext(httptrace.WithClientTrace(context.Background(), trace),
		http.MethodPost, in.url+"/api/users", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Expect", "100-continue")
	client := &http.Client{Transport: &http.Transport{ExpectContinueTimeout: time.Minute}}

	done := make(chan error, 1)
	go func() {
		resp, err := client.Do(req)
		if err != nil {
			done <- err
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusCreated {
			b, _ := io.ReadAll(resp.Body)
			err = fmt.Errorf("status %d, body %s; want 201", resp.StatusCode, b)
		}
		done <- err
	}()
	select {
	case <-inFlight:
	case err := <-done:
		t.Fatalf("slow create ended before sending its body: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the slow create did not reach its handler")
	}
	t.Cleanup(func() { _ = writer.Close() })
	finish = func() {
		fmt.Fprintf(writer, `{"name":"Slow","email":%q}`, email)
		_ = writer.Close()
	}
	return finish, done
}

func TestRunStopsOnInvalidConfigurationNamingTheVariable(t *testing.T) {
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"PORT": "eighty"}, `PORT="eighty"`},
		{map[string]string{"REDIS_DB": "99"}, `REDIS_DB="99"`},
		{map[string]string{"LOG_LEVEL": "trace"}, `LOG_LEVEL="trace"`},
		{map[string]string{"SHUTDOWN_TIMEOUT": "soon"}, `SHUTDOWN_TIMEOUT="soon"`},
		{map[string]string{"REDIS_PASSWORD": "a", "REDIS_PASSWORD_FILE": "/b"}, "REDIS_PASSWORD and REDIS_PASSWORD_FILE"},
		{map[string]string{"REDIS_TLS": "true", "REDIS_TLS_CA_FILE": "/nonexistent/ca.pem"}, "REDIS_TLS_CA_FILE"},
		{map[string]string{"REDIS_TLS": "true", "REDIS_TLS_CA_FILE": "main_test.go"}, `REDIS_TLS_CA_FILE="main_test.go" holds no PEM certificate`},
	}
	for _, tt := range tests {
		var logs bytes.Buffer
		err := run(t.Context(), []string{"api"}, envOf(tt.env), &logs)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("run with %v = %v; want an error containing %s", tt.env, err, tt.want)
		}
	}
}

func TestRunRejectsCommandLineArguments(t *testing.T) {
	err := run(t.Context(), []string{"api", "--port=1"}, envOf(nil), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "--port=1") {
		t.Errorf("run = %v; want an error naming the argument", err)
	}
}

func TestRunFailsWhenItCannotListen(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	_, port, _ := net.SplitHostPort(taken.Addr().String())
	err = run(t.Context(), []string{"api"}, envOf(map[string]string{"LISTEN_HOST": "127.0.0.1", "PORT": port}), io.Discard)
	if err == nil || !strings.Contains(err.Error(), "127.0.0.1:"+port) {
		t.Errorf("run = %v; want an error naming the address", err)
	}
}

// startReady runs the API over a new redis-server with SHUTDOWN_DELAY delay
// and SHUTDOWN_TIMEOUT timeout, and waits until it is ready.
func startReady(t *testing.T, delay, timeout string) (*instance, *redistest.Server) {
	t.Helper()
	rs := redistest.Start(t)
	env := testEnv(rs)
	env["SHUTDOWN_DELAY"], env["SHUTDOWN_TIMEOUT"] = delay, timeout
	in := startRun(t, env)
	in.waitForStatus(t, "/readyz", http.StatusOK)
	return in, rs
}

func TestShutdownFailsReadinessAndLetsInFlightRequestsFinish(t *testing.T) {
	t.Parallel()
	in, rs := startReady(t, "300ms", "5s")
	finish, created := in.slowCreate(t, "slow@example.com")

	stopped := time.Now()
	in.stop()
	if status, body := in.do(t, http.MethodGet, "/readyz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz right after the signal: %d %s; want 503", status, body)
	}
	if status, _ := in.do(t, http.MethodGet, "/healthz", ""); status != http.StatusOK {
		t.Errorf("/healthz during the shutdown delay: %d; want 200, still serving", status)
	}
	// Once the delay is over the listener closes; the slow request is still in flight.
	for {
		if _, err := in.client.Get(in.url + "/healthz"); err != nil {
			break
		}
		if time.Since(stopped) > 3*time.Second {
			t.Fatal("the server still accepts connections 3s after the signal; want it closed after the 300ms delay")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if in.returned() {
		t.Fatalf("run returned %v with a request in flight", in.err)
	}

	finish()
	if err := <-created; err != nil {
		t.Errorf("in-flight create: %v", err)
	}
	if err := in.wait(); err != nil {
		t.Errorf("run = %v; want nil", err)
	}
	if elapsed := time.Since(stopped); elapsed > 5*time.Second {
		t.Errorf("run returned %s after the signal; want within SHUTDOWN_TIMEOUT=5s", elapsed)
	}
	rdb := rs.Client()
	if n, err := rdb.Exists(t.Context(), "user:email:slow@example.com").Result(); n != 1 {
		t.Errorf("the user created during shutdown is not stored (%v)", err)
	}
}

func TestDuringTheShutdownDelayResponsesCloseKeepAliveConnectionsAndIdleOnesStayOpen(t *testing.T) {
	t.Parallel()
	in, _ := startReady(t, "1s", "5s")
	addr := strings.TrimPrefix(in.url, "http://")
	// get sends GET /healthz on conn and returns whether the response says
	// Connection: close (ReadResponse takes the header out into resp.Close).
	get := func(conn net.Conn, r *bufio.Reader) bool {
		t.Helper()
		if _, err := fmt.Fprintf(conn, "GET /healthz HTTP/1.1\r\nHost: api\r\n\r\n"); err != nil {
			t.Fatalf("send on a keep-alive connection: %v", err)
		}
		resp, err := http.ReadResponse(r, nil)
		if err != nil {
			t.Fatalf("read the answer on a keep-alive connection: %v", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET /healthz: %d", resp.StatusCode)
		}
		return resp.Close
	}
	dial := func() (net.Conn, *bufio.Reader) {
		t.Helper()
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		return conn, bufio.NewReader(conn)
	}
	busy, busyR := dial()
	idle, idleR := dial()
	for _, c := range []struct {
		conn net.Conn
		r    *bufio.Reader
	}{{busy, busyR}, {idle, idleR}} {
		if get(c.conn, c.r) {
			t.Fatal("before the signal a response closes its connection; want keep-alive")
		}
	}

	in.stop()
	time.Sleep(200 * time.Millisecond) // inside the 1s delay
	if !get(busy, busyR) {
		t.Error("a response during the shutdown delay keeps its connection open; want Connection: close")
	}
	_ = busy.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := busyR.ReadByte(); err != io.EOF {
		t.Errorf("after that response the server did not close the connection: %v", err)
	}
	// The idle connection was not closed at the signal: a request sent on it
	// now is answered (and closes it), not cut off.
	time.Sleep(300 * time.Millisecond)
	if !get(idle, idleR) {
		t.Error("a response on a connection idle since before the signal keeps it open; want Connection: close")
	}
	if err := in.wait(); err != nil {
		t.Errorf("run = %v; want nil", err)
	}
}

func TestShutdownCutsOffRequestsThatOutlastTheTimeout(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	env := testEnv(rs)
	env["SHUTDOWN_TIMEOUT"] = "500ms"
	in := startRun(t, env)
	in.slowCreate(t, "never@example.com") // never finished

	stopped := time.Now()
	in.stop()
	err := in.wait()
	if elapsed := time.Since(stopped); elapsed < 500*time.Millisecond || elapsed > 2*time.Second {
		t.Errorf("run returned %s after the signal; want just after SHUTDOWN_TIMEOUT=500ms", elapsed)
	}
	if err == nil || !strings.Contains(err.Error(), "SHUTDOWN_TIMEOUT=500ms") {
		t.Errorf("run = %v; want an error saying requests were cut off", err)
	}
}

func TestTheAPIAnswers503WhileRedisIsDownAndRecoversWithoutLosingWrites(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	in := startRun(t, testEnv(rs))

	var ids []string
	for i := range 20 {
		status, body := in.do(t, http.MethodPost, "/api/users", fmt.Sprintf(`{"name":"user %d","email":"u%d@example.com"}`, i, i))
		if status != http.StatusCreated {
			t.Fatalf("create: %d %s", status, body)
		}
		var u struct{ ID string }
		if err := json.Unmarshal([]byte(body), &u); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, u.ID)
	}
	renamed, deleted := ids[0], ids[1]
	if status, body := in.do(t, http.MethodPut, "/api/users/"+renamed, `{"name":"renamed","email":"renamed@example.com"}`); status != http.StatusOK {
		t.Fatalf("replace: %d %s", status, body)
	}
	if status, body := in.do(t, http.MethodDelete, "/api/users/"+deleted, ""); status != http.StatusNoContent {
		t.Fatalf("delete: %d %s", status, body)
	}

	rs.Kill() // as in a crash: only what reached the append-only file survives
	for _, req := range []struct{ method, path, body string }{
		{http.MethodGet, "/readyz", ""},
		{http.MethodGet, "/api/users/" + renamed, ""},
		{http.MethodGet, "/api/users", ""},
		{http.MethodPost, "/api/users", `{"name":"lost","email":"lost@example.com"}`},
	} {
		if status, body := in.do(t, req.method, req.path, req.body); status != http.StatusServiceUnavailable {
			t.Errorf("%s %s with Redis down: %d %s; want 503", req.method, req.path, status, body)
		}
	}

	rs.Restart()
	in.waitForStatus(t, "/readyz", http.StatusOK)
	for _, id := range ids[2:] {
		if status, body := in.do(t, http.MethodGet, "/api/users/"+id, ""); status != http.StatusOK {
			t.Errorf("user %s after the restart: %d %s; want 200", id, status, body)
		}
	}
	if _, body := in.do(t, http.MethodGet, "/api/users/"+renamed, ""); !strings.Contains(body, `"email":"renamed@example.com"`) {
		t.Errorf("renamed user after the restart: %s; want the new email", body)
	}
	if status, _ := in.do(t, http.MethodGet, "/api/users/"+deleted, ""); status != http.StatusNotFound {
		t.Errorf("deleted user after the restart: %d; want 404", status)
	}
	if status, body := in.do(t, http.MethodGet, "/api/users?limit=100", ""); strings.Count(body, `"id"`) != 19 {
		t.Errorf("listing after the restart: %d %s; want 19 users", status, body)
	}
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"u0","email":"u0@example.com"}`); status != http.StatusCreated {
		t.Errorf("create after the restart: %d %s; want 201, the email freed by the replace", status, body)
	}
	in.stop()
	if err := in.wait(); err != nil {
		t.Errorf("run = %v; want nil", err)
	}
}

func TestTheAPIReachesRedisOverTLSOnlyWhenItTrustsTheServer(t *testing.T) {
	t.Parallel()
	rs := redistest.StartTLS(t)
	env := testEnv(rs)
	env["REDIS_TLS"], env["REDIS_TLS_CA_FILE"] = "true", rs.CAFile
	in := startRun(t, env)
	in.waitForStatus(t, "/readyz", http.StatusOK)
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Ada","email":"ada@example.com"}`); status != http.StatusCreated {
		t.Errorf("create over TLS: %d %s; want 201", status, body)
	}
	if n, err := rs.Client().Exists(t.Context(), "user:email:ada@example.com").Result(); n != 1 {
		t.Errorf("the user created over TLS is not stored (%v)", err)
	}

	// Without the CA the server's certificate is not trusted: no connection, so not ready.
	delete(env, "REDIS_TLS_CA_FILE")
	untrusting := startRun(t, env)
	if status, body := untrusting.do(t, http.MethodGet, "/readyz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with a certificate the API does not trust: %d %s; want 503", status, body)
	}
	if logs := untrusting.logs.String(); !strings.Contains(logs, "certificate") {
		t.Errorf("logs do not say why: %s", logs)
	}
}
