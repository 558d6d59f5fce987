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
)

// config is the validated configuration of the service.
type config struct {
	listenAddr      string
	redisAddr       string
	redisPassword   string
	redisDB         int
	logLevel        slog.Level
	shutdownTimeout time.Duration
	shutdownDelay   time.Duration
}

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
		listenAddr:      net.JoinHostPort(getenv("LISTEN_HOST"), strconv.Itoa(e.intRange("PORT", 8080, 0, 65535))),
		redisAddr:       e.hostPort("REDIS_ADDR", "127.0.0.1:6379"),
		redisPassword:   e.secret("REDIS_PASSWORD", "REDIS_PASSWORD_FILE"),
		redisDB:         e.intRange("REDIS_DB", 0, 0, 15),
		logLevel:        e.logLevel("LOG_LEVEL", slog.LevelInfo),
		shutdownTimeout: e.duration("SHUTDOWN_TIMEOUT", 15*time.Second, false),
		shutdownDelay:   e.duration("SHUTDOWN_DELAY", 0, true),
	}
	if cfg.shutdownTimeout > 0 && cfg.shutdownDelay >= cfg.shutdownTimeout {
		e.fail("SHUTDOWN_DELAY (%s) must be shorter than SHUTDOWN_TIMEOUT (%s)", cfg.shutdownDelay, cfg.shutdownTimeout)
	}
	return cfg, errors.Join(e.errs...)
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
	host, port, err := net.SplitHostPort(s)
	if n, perr := strconv.Atoi(port); err != nil || host == "" || perr != nil || n < 1 || n > 65535 {
		e.invalid(name, s, "host:port, such as redis:6379")
	}
	return s
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
