package main

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// config is the validated configuration of the service.
type config struct {
	listenAddr    string
	redisAddr     string
	redisPassword string
	redisDB       int
	// redisTLS turns on TLS to Redis and to the Sentinels, verified against
	// the system's roots or redisTLSCAFile.
	redisTLS       bool
	redisTLSCAFile string
	// sentinelAddrs, when not empty, are the Sentinels that name the primary
	// of sentinelMaster; redisAddr is then unused.
	sentinelAddrs    string
	sentinelMaster   string
	sentinelPassword string
	logLevel         slog.Level
	// pprofAddr, when not empty, is the loopback host:port that serves the
	// runtime profiles (net/http/pprof); never the public listener.
	pprofAddr       string
	shutdownTimeout time.Duration
	shutdownDelay   time.Duration
	// durability is how many replicas must confirm each write, and for how
	// long to wait for them.
	durability users.Durability
	// retryTimeout bounds how long a request keeps retrying Redis commands
	// that did not run, or reads that got no answer (see users.Options).
	retryTimeout time.Duration
}

// defaultSentinelRetryTimeout is REDIS_RETRY_TIMEOUT's default with
// Sentinels: about the longest a Sentinel failover keeps writes from a
// primary. prod's Sentinels deem a primary down after 5s
// (down-after-milliseconds 5000); their vote, the promotion and
// +switch-master take another 1 to 3s (the local cluster measured 6 to 9s
// from a primary's loss to the first write after it). 10s covers that with a
// margin, and is well under nginx's proxy_read_timeout and the server's
// write timeout (30s), so a request that rides out a failover still gets its
// answer. A planned handover takes about a second.
const defaultSentinelRetryTimeout = 10 * time.Second

// maxRetryTimeout is the longest REDIS_RETRY_TIMEOUT: under the server's
// write timeout, so that the answer can still be written.
const maxRetryTimeout = writeTimeout - 5*time.Second

// logLevels are the allowed values of LOG_LEVEL.
var logLevels = map[string]slog.Level{
	"debug": slog.LevelDebug,
	"info":  slog.LevelInfo,
	"warn":  slog.LevelWarn,
	"error": slog.LevelError,
}

// loadConfig reads the configuration from environment variables through
// getenv; an empty variable counts as unset. The error names every invalid
// variable with its value (except secrets) and what is allowed.
func loadConfig(getenv func(string) string) (config, error) {
	e := &env{getenv: getenv}
	cfg := config{
		listenAddr:       net.JoinHostPort(getenv("LISTEN_HOST"), strconv.Itoa(e.intRange("PORT", 8080, 0, 65535))),
		redisAddr:        e.hostPort("REDIS_ADDR", "127.0.0.1:6379"),
		redisPassword:    e.secret("REDIS_PASSWORD", "REDIS_PASSWORD_FILE"),
		redisDB:          e.intRange("REDIS_DB", 0, 0, 15),
		redisTLS:         e.boolean("REDIS_TLS", false),
		redisTLSCAFile:   getenv("REDIS_TLS_CA_FILE"),
		sentinelAddrs:    e.hostPorts("REDIS_SENTINEL_ADDRS"),
		sentinelMaster:   e.name("REDIS_SENTINEL_MASTER", "mymaster"),
		sentinelPassword: e.secret("REDIS_SENTINEL_PASSWORD", "REDIS_SENTINEL_PASSWORD_FILE"),
		logLevel:         e.logLevel("LOG_LEVEL", slog.LevelInfo),
		pprofAddr:        e.loopbackHostPort("PPROF_ADDR"),
		shutdownTimeout:  e.duration("SHUTDOWN_TIMEOUT", 15*time.Second, false),
		shutdownDelay:    e.duration("SHUTDOWN_DELAY", 0, true),
	}
	if cfg.shutdownTimeout > 0 && cfg.shutdownDelay >= cfg.shutdownTimeout {
		e.fail("SHUTDOWN_DELAY (%s) must be shorter than SHUTDOWN_TIMEOUT (%s)", cfg.shutdownDelay, cfg.shutdownTimeout)
	}
	cfg.durability = users.Durability{
		Replicas: e.intRange("REDIS_WAIT_REPLICAS", 0, 0, 5),
		Timeout:  e.duration("REDIS_WAIT_TIMEOUT", 500*time.Millisecond, false),
	}
	if cfg.durability.Timeout >= redisTimeout {
		e.fail("REDIS_WAIT_TIMEOUT (%s) must be shorter than the Redis read timeout (%s)", cfg.durability.Timeout, redisTimeout)
	}
	// Without Sentinels there is no failover to wait for: a Redis that is down
	// is restarting, which takes longer than a request should wait.
	var defaultRetry time.Duration
	if cfg.sentinelAddrs != "" {
		defaultRetry = defaultSentinelRetryTimeout
	}
	cfg.retryTimeout = e.duration("REDIS_RETRY_TIMEOUT", defaultRetry, true)
	if cfg.retryTimeout > maxRetryTimeout {
		e.fail("REDIS_RETRY_TIMEOUT (%s) must be at most %s, under the server's write timeout (%s)", cfg.retryTimeout, maxRetryTimeout, writeTimeout)
	}
	if cfg.sentinelAddrs != "" && getenv("REDIS_ADDR") != "" {
		e.fail("REDIS_ADDR and REDIS_SENTINEL_ADDRS are both set: set REDIS_ADDR for one Redis, or REDIS_SENTINEL_ADDRS to follow the primary through Sentinel")
	}
	if cfg.redisTLSCAFile != "" && !cfg.redisTLS {
		e.fail("REDIS_TLS_CA_FILE=%q is set but REDIS_TLS is not true", cfg.redisTLSCAFile)
	}
	return cfg, errors.Join(e.errs...)
}

// redisTarget describes where the Redis is, for logs.
func (c config) redisTarget() string {
	if c.sentinelAddrs != "" {
		return "primary " + c.sentinelMaster + " through Sentinels " + c.sentinelAddrs
	}
	return c.redisAddr
}

// sentinels returns the Sentinel addresses, or nil without Sentinel.
func (c config) sentinels() []string {
	if c.sentinelAddrs == "" {
		return nil
	}
	return strings.Split(c.sentinelAddrs, ",")
}

// env reads environment variables and collects what is wrong with them.
type env struct {
	getenv func(string) string
	errs   []error
}

func (e *env) fail(format string, args ...any) {
	e.errs = append(e.errs, fmt.Errorf(format, args...))
}

// invalid records that variable name has a value that is not allowed.
func (e *env) invalid(name, value, allowed string) {
	e.fail("%s=%q is invalid: want %s", name, value, allowed)
}

// intRange reads an integer from min to max.
func (e *env) intRange(name string, def, min, max int) int {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < min || n > max {
		e.invalid(name, s, fmt.Sprintf("an integer from %d to %d", min, max))
	}
	return n
}

// hostPort reads a host:port address.
func (e *env) hostPort(name, def string) string {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	if !validHostPort(s) {
		e.invalid(name, s, "host:port, such as redis:6379")
	}
	return s
}

// hostPorts reads a comma-separated list of host:port addresses, or "" if
// unset.
func (e *env) hostPorts(name string) string {
	s := e.getenv(name)
	if s == "" {
		return ""
	}
	for addr := range strings.SplitSeq(s, ",") {
		if !validHostPort(addr) {
			e.invalid(name, s, "comma-separated host:port addresses, such as redis-0.redis:26379,redis-1.redis:26379")
			break
		}
	}
	return s
}

// loopbackHostPort reads a host:port on a loopback address, or "" if unset.
func (e *env) loopbackHostPort(name string) string {
	s := e.getenv(name)
	if s != "" && !validLoopbackHostPort(s) {
		e.invalid(name, s, "a loopback host:port such as 127.0.0.1:6060 (port 0 picks a free one)")
	}
	return s
}

// validHostPort reports whether s is host:port with a non-empty host and a
// port from 1 to 65535.
func validHostPort(s string) bool {
	host, port, err := net.SplitHostPort(s)
	return err == nil && host != "" && validPort(port, 1)
}

// validPort reports whether port is a decimal number from min to 65535.
func validPort(port string, min int) bool {
	n, err := strconv.Atoi(port)
	return err == nil && n >= min && n <= 65535
}

// name reads a Sentinel master name: letters, digits, '-', '_' and '.'.
func (e *env) name(name, def string) string {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	if strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.") != "" {
		e.invalid(name, s, "letters, digits, '-', '_' and '.'")
	}
	return s
}

// boolean reads true or false.
func (e *env) boolean(name string, def bool) bool {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		e.invalid(name, s, "true or false")
	}
	return b
}

// logLevel reads one of the logLevels.
func (e *env) logLevel(name string, def slog.Level) slog.Level {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	level, ok := logLevels[strings.ToLower(s)]
	if !ok {
		e.invalid(name, s, "debug, info, warn or error")
	}
	return level
}

// duration reads a Go duration such as 15s, which must be positive, or may
// also be zero if zeroOK.
func (e *env) duration(name string, def time.Duration, zeroOK bool) time.Duration {
	s := e.getenv(name)
	if s == "" {
		return def
	}
	d, err := time.ParseDuration(s)
	if err != nil || d < 0 || (d == 0 && !zeroOK) {
		allowed := "a positive Go duration such as 15s or 500ms"
		if zeroOK {
			allowed = "a Go duration such as 5s, or 0s for none"
		}
		e.invalid(name, s, allowed)
	}
	return d
}

// secret reads a secret given either in variable name or in the file named by
// variable fileName; never both. A trailing newline in the file is dropped.
// Error messages never show the secret.
func (e *env) secret(name, fileName string) string {
	value, path := e.getenv(name), e.getenv(fileName)
	switch {
	case value != "" && path != "":
		e.fail("%s and %s are both set: set at most one", name, fileName)
		return ""
	case path == "":
		return value
	}
	content, err := os.ReadFile(path)
	if err != nil {
		e.fail("%s=%q cannot be read: %v", fileName, path, err)
		return ""
	}
	secret := strings.TrimRight(string(content), "\r\n")
	if secret == "" {
		e.fail("%s=%q names an empty file", fileName, path)
	}
	return secret
}
