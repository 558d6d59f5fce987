// Command openloop is the benchmark's open-loop load generator: it sends
// HTTP/1.1 GETs at a constant rate, in the style of wrk2, and reports
// latencies measured from each request's intended send time, so a stall that
// delays sends counts in full (no coordinated omission).
//
// It reads the targets file of vegeta ("GET <url>" per line, cycled) and
// keeps a fixed number of keep-alive connections. Connection i sends the
// requests i, i+c, i+2c, ... of the schedule, request k being due at
// start + k/rate; a connection whose previous response came late sends at
// once, and the latency of every request runs from when it was due. The
// cost per request is one write and one read on a raw connection (no
// net/http client), so the generator takes little of the CPU that the
// servers under test share with it.
//
//	openloop -targets=FILE -rate=N -duration=10s [-connections=32] [-header='Host: x'] [-timeout=5s]
//
// It prints one JSON object: requests due and sent, errors (a status
// outside 2xx, a timeout, a broken connection), the achieved rate, and p50,
// p99, p99.9 and max latency in milliseconds.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/url"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "openloop:", err)
		os.Exit(2)
	}
}

// headers collects repeated -header flags.
type headers []string

func (h *headers) String() string     { return strings.Join(*h, ", ") }
func (h *headers) Set(v string) error { *h = append(*h, v); return nil }

// config is what the command line asks for.
type config struct {
	targets     []target
	rate        float64
	duration    time.Duration
	connections int
	timeout     time.Duration
	header      []string
}

func run(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("openloop", flag.ContinueOnError)
	targetsFile := fs.String("targets", "", "file of targets, one `GET <url>` per line, as vegeta's")
	rate := fs.Float64("rate", 0, "requests per second, constant")
	duration := fs.Duration("duration", 10*time.Second, "how long to send")
	connections := fs.Int("connections", 32, "keep-alive connections")
	timeout := fs.Duration("timeout", 5*time.Second, "longest wait for a response, from its due time")
	var hs headers
	fs.Var(&hs, "header", "request header `Name: value` (repeatable)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("unexpected arguments %q", fs.Args())
	}
	switch {
	case *targetsFile == "":
		return errors.New("-targets is required")
	case !(*rate > 0):
		return fmt.Errorf("-rate=%v: want a rate above 0", *rate)
	case *duration <= 0:
		return fmt.Errorf("-duration=%v: want a duration above 0", *duration)
	case *connections < 1:
		return fmt.Errorf("-connections=%d: want at least 1", *connections)
	case *timeout <= 0:
		return fmt.Errorf("-timeout=%v: want a timeout above 0", *timeout)
	}
	for _, h := range hs {
		if name, _, ok := strings.Cut(h, ":"); !ok || strings.TrimSpace(name) == "" || strings.ContainsAny(h, "\r\n") {
			return fmt.Errorf("-header=%q: want `Name: value`", h)
		}
	}
	text, err := os.ReadFile(*targetsFile)
	if err != nil {
		return err
	}
	targets, err := parseTargets(string(text))
	if err != nil {
		return fmt.Errorf("%s: %w", *targetsFile, err)
	}
	res := attack(ctx, config{targets, *rate, *duration, *connections, *timeout, hs})
	return json.NewEncoder(stdout).Encode(res.summary())
}

// target is one request: where to connect, and its bytes.
type target struct {
	addr string
	path string
	host string
}

// parseTargets reads vegeta's text format, GET lines only, plain http.
func parseTargets(text string) ([]target, error) {
	var out []target
	for i, line := range strings.Split(text, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		method, raw, ok := strings.Cut(line, " ")
		if !ok || method != "GET" {
			return nil, fmt.Errorf("line %d: %q: want `GET <url>`", i+1, line)
		}
		u, err := url.Parse(strings.TrimSpace(raw))
		if err != nil || u.Scheme != "http" || u.Host == "" {
			return nil, fmt.Errorf("line %d: %q: want an http:// URL", i+1, raw)
		}
		addr := u.Host
		if u.Port() == "" {
			addr = net.JoinHostPort(u.Hostname(), "80")
		}
		out = append(out, target{addr: addr, path: u.RequestURI(), host: u.Host})
	}
	if len(out) == 0 {
		return nil, errors.New("no targets")
	}
	return out, nil
}

// request returns the bytes of the GET of t, with the extra headers (a Host
// among them replaces t's).
func request(t target, extra []string) []byte {
	host := t.host
	var b bytes.Buffer
	for _, h := range extra {
		name, value, _ := strings.Cut(h, ":")
		if strings.EqualFold(strings.TrimSpace(name), "host") {
			host = strings.TrimSpace(value)
			continue
		}
		fmt.Fprintf(&b, "%s: %s\r\n", strings.TrimSpace(name), strings.TrimSpace(value))
	}
	return fmt.Appendf(nil, "GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: openloop\r\nAccept: application/json\r\n%s\r\n", t.path, host, b.Bytes())
}

// result is what the connections measured.
type result struct {
	due       int
	latencies []time.Duration // of the requests that succeeded
	errors    int
	duration  time.Duration // of the schedule
	firstErr  error
}

// attack sends the schedule of cfg and waits for every response.
func attack(ctx context.Context, cfg config) result {
	total := int(cfg.rate * cfg.duration.Seconds())
	reqs := make([][]byte, len(cfg.targets))
	for i, t := range cfg.targets {
		reqs[i] = request(t, cfg.header)
	}
	start := time.Now().Add(10 * time.Millisecond) // after every connection is started
	interval := time.Duration(float64(time.Second) / cfg.rate)
	var (
		mu  sync.Mutex
		res = result{due: total, duration: cfg.duration}
		wg  sync.WaitGroup
	)
	for c := range min(cfg.connections, total) {
		wg.Go(func() {
			lat, errs, first := connection(ctx, cfg, reqs, start, interval, c, total)
			mu.Lock()
			defer mu.Unlock()
			res.latencies = append(res.latencies, lat...)
			res.errors += errs
			if res.firstErr == nil {
				res.firstErr = first
			}
		})
	}
	wg.Wait()
	return res
}

// connection sends requests c, c+n, c+2n, ... (n connections) on one
// keep-alive connection, redialling after a failure.
func connection(ctx context.Context, cfg config, reqs [][]byte, start time.Time, interval time.Duration, c, total int) (lat []time.Duration, errs int, first error) {
	n := cfg.connections
	lat = make([]time.Duration, 0, total/n+1)
	var conn net.Conn
	var rd *bufio.Reader
	timer := time.NewTimer(time.Hour)
	defer func() {
		timer.Stop()
		if conn != nil {
			conn.Close()
		}
	}()
	fail := func(err error) {
		errs++
		if first == nil {
			first = err
		}
		if conn != nil {
			conn.Close()
			conn = nil
		}
	}
	for k := c; k < total; k += n {
		due := start.Add(time.Duration(k) * interval)
		if wait := time.Until(due); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return lat, errs + (total-k+n-1)/n, first
			case <-timer.C:
			}
		}
		t := k % len(reqs)
		if conn == nil {
			d := net.Dialer{Timeout: cfg.timeout}
			var err error
			if conn, err = d.DialContext(ctx, "tcp", cfg.targets[t].addr); err != nil {
				conn = nil
				fail(err)
				continue
			}
			rd = bufio.NewReaderSize(conn, 16<<10)
		}
		_ = conn.SetDeadline(due.Add(cfg.timeout))
		if _, err := conn.Write(reqs[t]); err != nil {
			fail(err)
			continue
		}
		status, keepAlive, err := readResponse(rd)
		if err != nil {
			fail(err)
			continue
		}
		if status < 200 || status > 299 {
			fail(fmt.Errorf("HTTP %d", status))
		} else {
			lat = append(lat, time.Since(due))
		}
		if !keepAlive && conn != nil {
			conn.Close()
			conn = nil
		}
	}
	return lat, errs, first
}

// readResponse reads one response and discards its body. keepAlive is
// false when the server closes the connection after it.
func readResponse(rd *bufio.Reader) (status int, keepAlive bool, err error) {
	line, err := rd.ReadSlice('\n')
	if err != nil {
		return 0, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, false, fmt.Errorf("not an HTTP/1.x status line: %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, false, fmt.Errorf("status line %q: %w", line, err)
	}
	keepAlive = line[7] == '1'
	length, chunked := -1, false
	for {
		h, err := rd.ReadSlice('\n')
		if err != nil {
			return 0, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		name, value, _ := bytes.Cut(h, []byte(":"))
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil || length < 0 {
				return 0, false, fmt.Errorf("Content-Length %q", value)
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			if bytes.EqualFold(value, []byte("close")) {
				keepAlive = false
			}
		}
	}
	switch {
	case chunked:
		return status, keepAlive, discardChunked(rd)
	case length >= 0:
		_, err = rd.Discard(length)
		return status, keepAlive, err
	case status == 204 || status == 304:
		return status, keepAlive, nil
	}
	// A body to the end of the connection.
	_, err = io.Copy(io.Discard, rd)
	return status, false, err
}

// discardChunked reads a chunked body and its trailers.
func discardChunked(rd *bufio.Reader) error {
	for {
		line, err := rd.ReadSlice('\n')
		if err != nil {
			return err
		}
		sizeText, _, _ := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(";"))
		size, err := strconv.ParseInt(string(bytes.TrimSpace(sizeText)), 16, 64)
		if err != nil || size < 0 {
			return fmt.Errorf("chunk size %q", line)
		}
		if size == 0 {
			for {
				t, err := rd.ReadSlice('\n')
				if err != nil {
					return err
				}
				if len(bytes.TrimRight(t, "\r\n")) == 0 {
					return nil
				}
			}
		}
		if _, err := rd.Discard(int(size) + 2); err != nil {
			return err
		}
	}
}

// summary is the JSON the command prints; latencies in milliseconds.
type summary struct {
	Due      int     `json:"due"`
	OK       int     `json:"ok"`
	Errors   int     `json:"errors"`
	Achieved float64 `json:"achieved"`
	P50      float64 `json:"p50"`
	P99      float64 `json:"p99"`
	P999     float64 `json:"p999"`
	Max      float64 `json:"max"`
	FirstErr string  `json:"firstError,omitempty"`
}

func (r result) summary() summary {
	slices.Sort(r.latencies)
	s := summary{Due: r.due, OK: len(r.latencies), Errors: r.errors,
		P50: ms(quantile(r.latencies, 0.5)), P99: ms(quantile(r.latencies, 0.99)),
		P999: ms(quantile(r.latencies, 0.999)), Max: ms(quantile(r.latencies, 1))}
	if r.duration > 0 {
		s.Achieved = float64(s.OK+s.Errors) / r.duration.Seconds()
	}
	if r.firstErr != nil {
		s.FirstErr = r.firstErr.Error()
	}
	return s
}

// quantile is the q-quantile of sorted, nearest rank; 0 when empty.
func quantile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return sorted[min(len(sorted)-1, max(0, i))]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
