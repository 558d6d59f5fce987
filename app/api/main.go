// Command api serves the sample-app user API: CRUD of users over HTTP/JSON,
// stored in Redis. It is configured through environment variables; see
// README.md.
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/httpapi"
	"github.com/sample-app/sample-app/app/api/internal/users"
)

// Timeouts of connections to clients and to Redis.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
	redisTimeout      = 2 * time.Second
)

// redisPoolSize is how many connections to Redis the API keeps open at most.
const redisPoolSize = 64

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args, os.Getenv, os.Stdout)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "api:", err)
		os.Exit(1)
	}
}

// run serves the API until ctx is cancelled, then shuts down gracefully. It
// writes JSON logs to stdout, info and debug lines up to logFlushInterval
// late (warn and above at once), all of them before it returns. args are the command line, which takes no
// arguments; getenv reads the configuration.
func run(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	if len(args) > 1 {
		return fmt.Errorf("unexpected arguments %q: configure the service with environment variables", args[1:])
	}
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("invalid configuration:\n%w", err)
	}
	logOut, closeLog := newLogWriter(stdout, logFlushInterval)
	defer closeLog()
	logger := slog.New(flushingHandler{slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel}), logOut})
	redis.SetLogger(redisLogger{logger})

	rdb, err := newRedisClient(cfg)
	if err != nil {
		return err
	}
	defer rdb.Close()

	if cfg.pprofAddr != "" {
		pprofCtx, stopPprof := context.WithCancel(ctx)
		waitPprof, err := startPprof(pprofCtx, cfg.pprofAddr, logger)
		if err != nil {
			stopPprof()
			return err
		}
		// Deferred calls run in reverse: stop the listener, then wait for it.
		defer waitPprof()
		defer stopPprof()
	}

	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return fmt.Errorf("listen on %q (from LISTEN_HOST and PORT): %w", cfg.listenAddr, err)
	}
	srv := newServer(ctx, logger, rdb, cfg.durability)
	logger.Info("listening", "addr", ln.Addr().String(), "redis", cfg.redisTarget())
	return serve(ctx, srv, ln, cfg, logger)
}

// newRedisClient returns a client of the Redis that cfg names: one address,
// or the primary that the Sentinels name, followed through failovers.
func newRedisClient(cfg config) (redis.UniversalClient, error) {
	var tlsConfig *tls.Config
	if cfg.redisTLS {
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12}
		if cfg.redisTLSCAFile != "" {
			pem, err := os.ReadFile(cfg.redisTLSCAFile)
			if err != nil {
				return nil, fmt.Errorf("REDIS_TLS_CA_FILE: %w", err)
			}
			tlsConfig.RootCAs = x509.NewCertPool()
			if !tlsConfig.RootCAs.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("REDIS_TLS_CA_FILE=%q holds no PEM certificate", cfg.redisTLSCAFile)
			}
		}
	}
	// With a master name this is go-redis's failover client: a dial asks a
	// Sentinel for the primary's address first, so a new connection after a
	// failover finds the new one; without, a client of the one address.
	opts := &redis.UniversalOptions{
		Addrs:     []string{cfg.redisAddr},
		Password:  cfg.redisPassword,
		DB:        cfg.redisDB,
		TLSConfig: tlsConfig,
		// Dial once per attempt: while Redis is down, requests fail fast with
		// 503, and command retries (MaxRetries) still ride out blips.
		DialerRetries: 1,
		// Reads and plain writes share at most a few round trips (the
		// Store's batcher), but each write that waits for replicas holds a
		// connection through its WAIT: room for as many of those as requests
		// in flight under load (nginx keeps up to 64 idle per worker), not
		// go-redis's 10 per GOMAXPROCS, which is 10 under a one-core limit.
		PoolSize:              redisPoolSize,
		DialTimeout:           redisTimeout,
		ReadTimeout:           redisTimeout,
		WriteTimeout:          redisTimeout,
		ContextTimeoutEnabled: true,
	}
	if sentinels := cfg.sentinels(); sentinels != nil {
		opts.Addrs, opts.MasterName, opts.SentinelPassword = sentinels, cfg.sentinelMaster, cfg.sentinelPassword
	}
	return redis.NewUniversalClient(opts), nil
}

// newServer returns the HTTP server of the API. Requests keep the values of
// ctx but not its cancellation, so that shutting down lets them finish; /readyz
// fails as soon as ctx is done.
func newServer(ctx context.Context, logger *slog.Logger, rdb redis.UniversalClient, durability users.Durability) *http.Server {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	store := users.NewStore(rdb, durability)
	ready := func(pingCtx context.Context) error {
		if ctx.Err() != nil {
			return errors.New("shutting down")
		}
		// A write, not a PING: a replica, or a primary whose replicas cannot
		// confirm writes, answers PING but cannot take the API's writes.
		if err := store.Writable(pingCtx); err != nil {
			logger.WarnContext(pingCtx, "redis does not take writes", "err", err)
			return errors.New("redis does not take writes")
		}
		return nil
	}
	handler := httpapi.New(httpapi.Options{
		Store:    store,
		Ready:    ready,
		Logger:   logger,
		Registry: registry,
	})
	return &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// serve runs srv on ln until ctx is done, then shuts it down within
// cfg.shutdownTimeout: it first keeps serving for cfg.shutdownDelay, with
// /readyz failing, so that load balancers stop sending requests, then stops
// accepting connections and waits for in-flight requests. Requests still
// running at the deadline are cut off and serve returns an error.
func serve(ctx context.Context, srv *http.Server, ln net.Listener, cfg config, logger *slog.Logger) error {
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	select {
	case err := <-served:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}

	deadline := time.Now().Add(cfg.shutdownTimeout)
	logger.Info("shutting down", "delay", cfg.shutdownDelay.String(), "timeout", cfg.shutdownTimeout.String())
	time.Sleep(cfg.shutdownDelay)

	shutdownCtx, cancel := context.WithDeadline(context.Background(), deadline)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		return fmt.Errorf("requests still running after SHUTDOWN_TIMEOUT=%s were cut off: %w", cfg.shutdownTimeout, err)
	}
	logger.Info("stopped")
	return nil
}

// redisLogger passes the log lines of go-redis, which are about connection
// trouble, to slog at warn level. go-redis has one logger per process.
type redisLogger struct{ logger *slog.Logger }

func (l redisLogger) Printf(ctx context.Context, format string, args ...any) {
	l.logger.WarnContext(ctx, fmt.Sprintf(format, args...), "source", "go-redis")
}
