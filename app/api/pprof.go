package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"strings"
	"time"
)

// validLoopbackHostPort reports whether s is host:port with a host that can
// only be reached from this machine (a loopback IP or "localhost") and a port
// from 0 to 65535 (0 picks a free one).
func validLoopbackHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	if err != nil || !validPort(port, 0) {
		return false
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// pprofHandler serves the runtime profiles of net/http/pprof under
// /debug/pprof/. It is its own mux: the public handler never has these
// routes, and nothing is registered on http.DefaultServeMux by this program.
func pprofHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /debug/pprof/", pprof.Index)
	mux.HandleFunc("GET /debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("GET /debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("GET /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("POST /debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("GET /debug/pprof/trace", pprof.Trace)
	return mux
}

// startPprof serves pprofHandler on addr (loopback only, checked by
// loadConfig) until ctx is done. It returns once listening, with a function
// that waits for the listener to close.
func startPprof(ctx context.Context, addr string, logger *slog.Logger) (wait func(), err error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen on %q (from PPROF_ADDR): %w", addr, err)
	}
	srv := &http.Server{
		Handler:           pprofHandler(),
		ReadHeaderTimeout: readHeaderTimeout,
		// No WriteTimeout: a CPU profile or trace streams for ?seconds=N.
		IdleTimeout: idleTimeout,
		ErrorLog:    slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	logger.Warn("pprof listening: profiles of this process are served to anyone on this host", "addr", ln.Addr().String())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			logger.Error("pprof stopped", "err", err)
		}
	}()
	go func() {
		<-ctx.Done()
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		if srv.Shutdown(closeCtx) != nil {
			_ = srv.Close()
		}
	}()
	return func() { <-done }, nil
}
