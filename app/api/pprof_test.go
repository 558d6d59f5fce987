package main

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

// pprofAddr returns the address in the "pprof listening" log line, or "".
func (b *logBuffer) pprofAddr() string {
	for line := range strings.Lines(b.String()) {
		var entry struct{ Msg, Addr string }
		if json.Unmarshal([]byte(line), &entry) == nil && strings.HasPrefix(entry.Msg, "pprof listening") {
			return entry.Addr
		}
	}
	return ""
}

// pprofPaths are paths that net/http/pprof would serve.
var pprofPaths = []string{"/debug/pprof/", "/debug/pprof/cmdline", "/debug/pprof/heap", "/debug/pprof/profile?seconds=1"}

// wantNoPprofOnThePublicPort fails t if the public port of in serves any
// profile.
func wantNoPprofOnThePublicPort(t *testing.T, in *instance) {
	t.Helper()
	for _, path := range pprofPaths {
		if status, body := in.do(t, http.MethodGet, path, ""); status != http.StatusNotFound {
			t.Errorf("public GET %s = %d %.80s; want 404", path, status, body)
		}
	}
}

func TestPprofIsNotServedByDefault(t *testing.T) {
	t.Parallel()
	in := startRun(t, testEnv(redistest.Start(t)))
	wantNoPprofOnThePublicPort(t, in)
	if addr := in.logs.pprofAddr(); addr != "" {
		t.Errorf("pprof listens on %s without PPROF_ADDR", addr)
	}
}

func TestPprofIsServedOnlyOnItsOwnLoopbackListenerAndStopsWithRun(t *testing.T) {
	t.Parallel()
	env := testEnv(redistest.Start(t))
	env["PPROF_ADDR"] = "127.0.0.1:0"
	in := startRun(t, env)
	addr := in.logs.pprofAddr()
	if addr == "" || "http://"+addr == in.url {
		t.Fatalf("pprof address %q (public %s); want a listener of its own", addr, in.url)
	}
	resp, err := in.client.Get("http://" + addr + "/debug/pprof/cmdline")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || len(body) == 0 {
		t.Errorf("pprof GET /debug/pprof/cmdline = %d %q; want 200 and the command line", resp.StatusCode, body)
	}
	wantNoPprofOnThePublicPort(t, in)

	in.stop()
	if err := in.wait(); err != nil {
		t.Fatalf("run = %v", err)
	}
	// Not a bare dial: the freed port may already be another test's (a
	// redis-server of redistest takes free ports too); what must be gone is
	// pprof answering there.
	client := &http.Client{Timeout: time.Second}
	if resp, err := client.Get("http://" + addr + "/debug/pprof/cmdline"); err == nil {
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			t.Errorf("pprof still answers on %s after run returned", addr)
		}
	}
}
