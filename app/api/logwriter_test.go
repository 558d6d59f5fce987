package main

import (
	"bytes"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// newTestLogger returns a logger over a logWriter into a logBuffer that only
// flushes on its own after interval.
func newTestLogger(interval time.Duration) (*slog.Logger, *logBuffer, func()) {
	out := &logBuffer{}
	w, closeLog := newLogWriter(out, interval)
	return slog.New(flushingHandler{slog.NewJSONHandler(w, nil), w}), out, closeLog
}

func TestInfoLinesWaitForTheFlushWarningsAreWrittenAtOnceAndCloseWritesAll(t *testing.T) {
	logger, out, closeLog := newTestLogger(time.Hour)
	logger.Info("request", "path", "/api/users")
	if got := out.String(); got != "" {
		t.Errorf("an info line was written before any flush: %q", got)
	}
	logger.With("source", "test").Warn("redis does not take writes")
	got := out.String()
	if !strings.Contains(got, `"msg":"request"`) || !strings.Contains(got, `"msg":"redis does not take writes"`) || !strings.Contains(got, `"source":"test"`) {
		t.Errorf("after a warning the output is %q; want both lines, in order", got)
	}
	logger.Info("stopped")
	closeLog()
	if got := out.String(); !strings.HasSuffix(got, "\"msg\":\"stopped\"}\n") {
		t.Errorf("after close the output ends %q; want the last info line", got[max(0, len(got)-80):])
	}
}

func TestBufferedLinesAreFlushedWithinTheInterval(t *testing.T) {
	logger, out, closeLog := newTestLogger(10 * time.Millisecond)
	defer closeLog()
	logger.Info("request")
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(out.String(), `"msg":"request"`) {
		if time.Now().After(deadline) {
			t.Fatal("an info line was not flushed within 5s at a 10ms interval")
		}
		time.Sleep(time.Millisecond)
	}
}

func TestConcurrentLoggersNeverInterleaveLines(t *testing.T) {
	logger, out, closeLog := newTestLogger(time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				logger.Info("request", "g", g, "i", i, "pad", strings.Repeat("x", 100))
			}
		})
	}
	wg.Wait()
	closeLog()
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 8*500 {
		t.Fatalf("%d lines; want %d", len(lines), 8*500)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "{") || !strings.HasSuffix(l, "}") || strings.Count(l, `"msg"`) != 1 {
			t.Fatalf("mangled line %q", l)
		}
	}
}

func TestGoRedisLogsEachLineAtMostOncePerIntervalWithItsRepeats(t *testing.T) {
	var buf bytes.Buffer
	l := newRedisLogger(slog.New(slog.NewJSONHandler(&buf, nil)), 100*time.Millisecond)
	for range 50 {
		l.Printf(t.Context(), "dial tcp %s: connection refused", "10.78.1.6:26379")
	}
	l.Printf(t.Context(), "dial tcp %s: connection refused", "10.78.1.7:26379")
	if n := strings.Count(buf.String(), "\n"); n != 2 {
		t.Fatalf("%d lines for 50 of one line and 1 of another; want 2:\n%s", n, buf.String())
	}
	time.Sleep(150 * time.Millisecond)
	l.Printf(t.Context(), "dial tcp %s: connection refused", "10.78.1.6:26379")
	if last := strings.Split(strings.TrimSpace(buf.String()), "\n")[2]; !strings.Contains(last, `"repeats":49`) {
		t.Errorf("the line logged again after the interval is %s; want it to count the 49 repeats left out", last)
	}
}
