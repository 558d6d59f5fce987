package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// serve starts h on loopback and counts the connections made to it.
func serve(t *testing.T, h http.Handler) (url string, conns *atomic.Int64) {
	t.Helper()
	conns = new(atomic.Int64)
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv.URL, conns
}

// targetsFile writes a vegeta-style targets file of two paths under url.
func targetsFile(t *testing.T, url string) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), "targets.txt")
	text := fmt.Sprintf("GET %s/api/users/a\n\nGET %s/api/users/b\n", url, url)
	if err := os.WriteFile(f, []byte(text), 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// attackOf runs the command with args and returns its summary.
func attackOf(t *testing.T, args ...string) summary {
	t.Helper()
	var out bytes.Buffer
	if err := run(t.Context(), args, &out); err != nil {
		t.Fatal(err)
	}
	var s summary
	if err := json.Unmarshal(out.Bytes(), &s); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	return s
}

func okJSON(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write([]byte(`{"id":"a"}`))
}

func TestEveryRequestOfTheScheduleIsSentAndAnsweredOnKeepAliveConnections(t *testing.T) {
	var served atomic.Int64
	var hosts atomic.Value
	url, conns := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/users/a" || r.URL.Path == "/api/users/b" {
			served.Add(1)
		}
		hosts.Store(r.Host)
		okJSON(w, r)
	}))
	s := attackOf(t, "-targets="+targetsFile(t, url), "-rate=2000", "-duration=500ms", "-connections=4", "-header=Host: sample-app.dev.localhost")
	if s.Due != 1000 || s.OK != 1000 || s.Errors != 0 || served.Load() != 1000 {
		t.Errorf("summary %+v, %d served; want 1000 due, answered and served", s, served.Load())
	}
	if n := conns.Load(); n != 4 {
		t.Errorf("%d connections; want the 4 asked for, kept alive", n)
	}
	if h := hosts.Load(); h != "sample-app.dev.localhost" {
		t.Errorf("Host %q; want the one of -header", h)
	}
}

func TestAStallCountsInFullForEveryRequestItDelayedNotOnlyTheOneItHeld(t *testing.T) {
	var first atomic.Bool
	url, _ := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if first.CompareAndSwap(false, true) {
			time.Sleep(200 * time.Millisecond) // the stall under test
		}
		okJSON(w, r)
	}))
	// One connection at 1000/s: the 200 requests due during the stall can
	// only go out after it. Measured from when each went out, only the first
	// would be slow; from when each was due, the 100 due in its first half
	// (10 %) are over 100 ms late, and the first over 200 ms.
	s := attackOf(t, "-targets="+targetsFile(t, url), "-rate=1000", "-duration=1s", "-connections=1")
	if s.OK != 1000 || s.P99 < 100 || s.Max < 200 {
		t.Errorf("summary %+v; want all 1000 answered, p99 over 100 ms and max over 200 ms", s)
	}
}

func TestChunkedBodiesAndClosedConnectionsAreReadWholeAndErrorsCounted(t *testing.T) {
	var n atomic.Int64
	url, conns := serve(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch n.Add(1) % 4 {
		case 0: // chunked: flushed before the body is complete
			_, _ = w.Write([]byte(`{"id":`))
			w.(http.Flusher).Flush()
			_, _ = w.Write([]byte(`"a"}`))
		case 1:
			w.Header().Set("Connection", "close")
			okJSON(w, r)
		case 2:
			http.Error(w, "boom", http.StatusInternalServerError)
		default:
			okJSON(w, r)
		}
	}))
	s := attackOf(t, "-targets="+targetsFile(t, url), "-rate=400", "-duration=500ms", "-connections=2")
	if s.Due != 200 || s.OK != 150 || s.Errors != 50 || !strings.Contains(s.FirstErr, "HTTP 500") {
		t.Errorf("summary %+v; want 200 due, 150 answered 2xx and 50 errors (HTTP 500)", s)
	}
	if c := conns.Load(); c < 50 {
		t.Errorf("%d connections; want a new one after each of the 50 Connection: close", c)
	}
}

func TestARefusedConnectionIsAnErrorNotAHang(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	url := "http://" + ln.Addr().String()
	ln.Close()
	s := attackOf(t, "-targets="+targetsFile(t, url), "-rate=100", "-duration=200ms", "-connections=2", "-timeout=1s")
	if s.Due != 20 || s.OK != 0 || s.Errors != 20 || s.FirstErr == "" {
		t.Errorf("summary %+v; want 20 errors that say why", s)
	}
}

func TestBadCommandLinesAreRefusedWithAClearError(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.txt")
	if err := os.WriteFile(bad, []byte("POST http://127.0.0.1:1/x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	good := targetsFile(t, "http://127.0.0.1:1")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"-rate=10"}, "-targets is required"},
		{[]string{"-targets=" + good}, "-rate=0"},
		{[]string{"-targets=" + good, "-rate=10", "-connections=0"}, "-connections=0"},
		{[]string{"-targets=" + good, "-rate=10", "-duration=-1s"}, "-duration=-1s"},
		{[]string{"-targets=" + good, "-rate=10", "-header=NoColon"}, `-header="NoColon"`},
		{[]string{"-targets=" + bad, "-rate=10"}, "line 1"},
		{[]string{"-targets=" + filepath.Join(dir, "missing"), "-rate=10"}, "no such file"},
		{[]string{"-targets=" + good, "-rate=10", "extra"}, "unexpected arguments"},
	} {
		var out bytes.Buffer
		err := run(t.Context(), tc.args, &out)
		if err == nil || !strings.Contains(err.Error(), tc.want) || out.Len() != 0 {
			t.Errorf("run %q = %v, output %q; want an error with %q and no output", tc.args, err, out.String(), tc.want)
		}
	}
}
