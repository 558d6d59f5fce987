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
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/httpapi"
	"github.com/sample-app/sample-app/app/api/internal/redisha"
	"github.com/sample-app/sample-app/app/api/internal/users"
)

// Timeouts of connections to clients.
const (
	readHeaderTimeout = 5 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 30 * time.Second
	idleTimeout       = 2 * time.Minute
)

// Timeouts of connections to Redis and to the Sentinels.
const (
	// redisTimeout bounds the reply to a Redis command, which must leave room
	// for a write's WAIT (REDIS_WAIT_TIMEOUT), and a new connection to the
	// primary: asking the Sentinels where it is, then redisDialTimeout.
	redisTimeout = 2 * time.Second
	// redisDialTimeout bounds making one connection to a server or a
	// Sentinel: TCP, TLS, and a PING answered (see redisha.Dialer). A
	// connection inside a cluster takes about a millisecond, and Linux sends
	// a lost SYN again only after 1s, so a longer wait is a wait for an
	// address that is gone or hangs; half a second leaves room for a TLS
	// handshake on a throttled CPU.
	redisDialTimeout = 500 * time.Millisecond
	// sentinelTimeout bounds a Sentinel's answer. The Sentinels are asked
	// together, and the first majority to answer is enough, so a Sentinel
	// that hangs costs this only if a majority hangs.
	sentinelTimeout = 500 * time.Millisecond
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
	redis.SetLogger(newRedisLogger(logger, redisLogEvery))

	clients, err := newRedisClients(cfg, logger)
	if err != nil {
		return err
	}
	defer clients.Close()

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
	opts := users.Options{Durability: cfg.durability, RetryTimeout: cfg.retryTimeout, PrimaryFailed: clients.primaryFailed}
	if clients.replicas != nil {
		opts.Replicas = clients.replicas
	}
	store := users.NewStore(clients.primary, opts)
	srv := newServer(ctx, logger, store)
	logger.Info("listening", "addr", ln.Addr().String(), "redis", cfg.redisTarget())
	return serve(ctx, srv, ln, cfg, logger)
}

// redisClients are the API's clients of Redis.
type redisClients struct {
	// primary is a client of the primary; replicas, with Sentinels, one of
	// its replicas (nil without Sentinels).
	primary, replicas *redis.Client
	// primaryFailed is told of the primary's failures (users.Options).
	primaryFailed func(error)
	// resolver finds the primary and replicas the Sentinels name; nil
	// without Sentinels.
	resolver *redisha.Resolver
}

// Close closes every client.
func (c *redisClients) Close() error {
	errs := []error{c.primary.Close()}
	if c.replicas != nil {
		errs = append(errs, c.replicas.Close())
	}
	if c.resolver != nil {
		errs = append(errs, c.resolver.Close())
	}
	return errors.Join(errs...)
}

// newRedisClients returns clients of the Redis that cfg names: one address,
// or the primary that the Sentinels name, followed through failovers, and
// its replicas.
func newRedisClients(cfg config, logger *slog.Logger) (*redisClients, error) {
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
	dialer := redisha.Dialer{Timeout: redisDialTimeout, TLS: tlsConfig}
	options := func(addr string, dial func(context.Context, string, string) (net.Conn, error)) *redis.Options {
		return &redis.Options{
			Addr:     addr, // for go-redis's logs: dial connects where the Sentinels say
			Dialer:   dial, // TLS too
			Password: cfg.redisPassword,
			DB:       cfg.redisDB,
			// No retries by go-redis, which would send a write again after a
			// timeout or a lost connection, when it may have run: the Store
			// retries what did not run, and reads.
			MaxRetries:    -1,
			DialerRetries: 1,
			// Reads and plain writes share at most a few round trips (the
			// Store's batcher), but each write that waits for replicas holds a
			// connection through its WAIT: room for as many of those as
			// requests in flight under load (nginx keeps up to 64 idle per
			// worker), not go-redis's 10 per GOMAXPROCS, which is 10 under a
			// one-core limit.
			PoolSize:              redisPoolSize,
			DialTimeout:           redisTimeout,
			ReadTimeout:           redisTimeout,
			WriteTimeout:          redisTimeout,
			ContextTimeoutEnabled: true,
		}
	}
	sentinels := cfg.sentinels()
	if sentinels == nil {
		primary := redisha.NewPrimary(dialer, cfg.redisAddr)
		return &redisClients{primary: redis.NewClient(options(cfg.redisAddr, primary.Dial)), primaryFailed: primary.Failed}, nil
	}
	resolver := redisha.NewResolver(redisha.ResolverOptions{
		Sentinels: sentinels,
		Master:    cfg.sentinelMaster,
		Password:  cfg.sentinelPassword,
		Dialer:    dialer,
		Timeout:   sentinelTimeout,
		Logger:    logger,
	})
	primary := redisha.NewSentinelPrimary(dialer, resolver)
	return &redisClients{
		primary:       redis.NewClient(options("primary of "+cfg.sentinelMaster, primary.Dial)),
		replicas:      redis.NewClient(options("replica of "+cfg.sentinelMaster, resolver.ReplicaDialer(dialer))),
		primaryFailed: primary.Failed,
		resolver:      resolver,
	}, nil
}

// newServer returns the HTTP server of the API. Requests keep the values of
// ctx but not its cancellation, so that shutting down lets them finish; /readyz
// fails as soon as ctx is done.
func newServer(ctx context.Context, logger *slog.Logger, store *users.Store) *http.Server {
	registry := prometheus.NewRegistry()
	registry.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	)
	ready := func(pingCtx context.Context) error {
		if ctx.Err() != nil {
			return errors.New("shutting down")
		}
		// Any Redis that answers, not one that takes writes: a failover, or a
		// primary whose replicas cannot confirm writes, is the same moment for
		// every instance of the API, and failing them all at once would leave
		// nginx nothing to send even the reads to, and block drains.
		if err := store.Reachable(pingCtx); err != nil {
			logger.WarnContext(pingCtx, "redis does not answer", "err", err)
			return errors.New("redis does not answer")
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
		Handler:           closeConnectionsWhenDone(ctx, handler),
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
}

// closeConnectionsWhenDone answers every request with "Connection: close"
// once ctx is done (the server is shutting down), so that a client's
// keep-alive connection is closed after a response, which the client reads,
// rather than while it sits idle. A proxy (nginx) may send a request on an
// idle connection at the very moment the server closes it; it cannot know
// whether the request ran, so it does not send a POST again and answers an
// error. During the shutdown delay the proxy's connections to this pod close
// one response at a time; Shutdown then closes only those left idle through
// the whole delay.
func closeConnectionsWhenDone(ctx context.Context, h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if ctx.Err() != nil {
			w.Header().Set("Connection", "close")
		}
		h.ServeHTTP(w, r)
	})
}

// serve runs srv on ln until ctx is done, then shuts it down within
// cfg.shutdownTimeout: it first keeps serving for cfg.shutdownDelay, with
// /readyz failing and every response closing its connection, so that load
// balancers stop sending requests and proxies stop reusing connections, then
// stops accepting connections and waits for in-flight requests. Requests still
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

// redisLogEvery is how often go-redis may log one same line. While a server
// or a Sentinel is down, go-redis logs each failed dial, and a subscription
// to a Sentinel that is gone retries ten times a second.
const redisLogEvery = 10 * time.Second

// redisLogger passes the log lines of go-redis, which are about connection
// trouble, to slog at warn level: each distinct line at most once per
// interval, with the number of repeats left out since. go-redis has one
// logger per process.
type redisLogger struct {
	logger   *slog.Logger
	interval time.Duration

	mu   sync.Mutex
	seen map[string]*logged
}

// logged is when a line was last logged, and how often it came since.
type logged struct {
	at      time.Time
	repeats int
}

func newRedisLogger(logger *slog.Logger, interval time.Duration) *redisLogger {
	return &redisLogger{logger: logger, interval: interval, seen: map[string]*logged{}}
}

func (l *redisLogger) Printf(ctx context.Context, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	now := time.Now()
	l.mu.Lock()
	e := l.seen[msg]
	if e != nil && now.Sub(e.at) < l.interval {
		e.repeats++
		l.mu.Unlock()
		return
	}
	var repeats int
	if e != nil {
		repeats = e.repeats
	}
	if len(l.seen) > 1000 {
		for m, e := range l.seen {
			if now.Sub(e.at) >= l.interval {
				delete(l.seen, m)
			}
		}
	}
	l.seen[msg] = &logged{at: now}
	l.mu.Unlock()
	attrs := []any{"source", "go-redis"}
	if repeats > 0 {
		attrs = append(attrs, "repeats", repeats)
	}
	l.logger.WarnContext(ctx, msg, attrs...)
}
