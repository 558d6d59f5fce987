package main

import (
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// envOf returns a getenv that reads vars.
func envOf(vars map[string]string) func(string) string {
	return func(name string) string { return vars[name] }
}

func TestConfigDefaultsApplyWhenNothingIsSet(t *testing.T) {
	cfg, err := loadConfig(envOf(nil))
	want := config{
		listenAddr:      ":8080",
		redisAddr:       "127.0.0.1:6379",
		logLevel:        slog.LevelInfo,
		shutdownTimeout: 15 * time.Second,
		sentinelMaster:  "mymaster",
		durability:      users.Durability{Timeout: 500 * time.Millisecond},
	}
	if err != nil || cfg != want {
		t.Errorf("loadConfig() = %+v, %v; want %+v", cfg, err, want)
	}
}

func TestConfigIsReadFromTheEnvironment(t *testing.T) {
	cfg, err := loadConfig(envOf(map[string]string{
		"LISTEN_HOST":         "127.0.0.1",
		"PORT":                "9090",
		"REDIS_ADDR":          "redis:6380",
		"REDIS_PASSWORD":      "s3cret",
		"REDIS_DB":            "15",
		"LOG_LEVEL":           "WARN",
		"SHUTDOWN_TIMEOUT":    "30s",
		"SHUTDOWN_DELAY":      "5s",
		"REDIS_WAIT_REPLICAS": "1",
		"REDIS_WAIT_TIMEOUT":  "250ms",
		"REDIS_TLS":           "true",
		"REDIS_TLS_CA_FILE":   "/etc/redis-ca.pem",
	}))
	want := config{
		listenAddr:      "127.0.0.1:9090",
		redisAddr:       "redis:6380",
		redisPassword:   "s3cret",
		redisDB:         15,
		logLevel:        slog.LevelWarn,
		shutdownTimeout: 30 * time.Second,
		shutdownDelay:   5 * time.Second,
		sentinelMaster:  "mymaster",
		durability:      users.Durability{Replicas: 1, Timeout: 250 * time.Millisecond},
		redisTLS:        true,
		redisTLSCAFile:  "/etc/redis-ca.pem",
	}
	if err != nil || cfg != want {
		t.Errorf("loadConfig() = %+v, %v; want %+v", cfg, err, want)
	}
}

func TestTheRedisPasswordCanComeFromAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(envOf(map[string]string{"REDIS_PASSWORD_FILE": path}))
	if err != nil || cfg.redisPassword != "from-file" {
		t.Errorf("password %q, error %v; want from-file without the newline", cfg.redisPassword, err)
	}
}

func TestSentinelsAreReadFromTheEnvironmentWithTheirPasswordFromAFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sentinel-password")
	if err := os.WriteFile(path, []byte("watchword\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(envOf(map[string]string{
		"REDIS_SENTINEL_ADDRS":         "redis-0.redis:26379,redis-1.redis:26379,10.0.0.7:26379",
		"REDIS_SENTINEL_MASTER":        "sample-app",
		"REDIS_SENTINEL_PASSWORD_FILE": path,
	}))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"redis-0.redis:26379", "redis-1.redis:26379", "10.0.0.7:26379"}
	if got := cfg.sentinels(); !slices.Equal(got, want) || cfg.sentinelMaster != "sample-app" || cfg.sentinelPassword != "watchword" {
		t.Errorf("sentinels %q of %q, password %q; want %q of sample-app, watchword", got, cfg.sentinelMaster, cfg.sentinelPassword, want)
	}
	if cfg, _ := loadConfig(envOf(nil)); cfg.sentinels() != nil {
		t.Errorf("sentinels %q without REDIS_SENTINEL_ADDRS; want none", cfg.sentinels())
	}
}

func TestRequestsRideOutAFailoverOnlyWithSentinelsUnlessConfigured(t *testing.T) {
	sentinels := map[string]string{"REDIS_SENTINEL_ADDRS": "redis-0.redis:26379"}
	for _, tt := range []struct {
		env  map[string]string
		want time.Duration
	}{
		{nil, 0},
		{sentinels, defaultSentinelRetryTimeout},
		{map[string]string{"REDIS_RETRY_TIMEOUT": "3s"}, 3 * time.Second},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "redis-0.redis:26379", "REDIS_RETRY_TIMEOUT": "0s"}, 0},
	} {
		if cfg, err := loadConfig(envOf(tt.env)); err != nil || cfg.retryTimeout != tt.want {
			t.Errorf("loadConfig(%v): retry timeout %s, error %v; want %s", tt.env, cfg.retryTimeout, err, tt.want)
		}
	}
}

func TestInvalidConfigNamesTheVariableTheValueAndWhatIsAllowed(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		env  map[string]string
		want []string
	}{
		{map[string]string{"PORT": "http"}, []string{`PORT="http"`, "integer from 0 to 65535"}},
		{map[string]string{"PORT": "65536"}, []string{`PORT="65536"`}},
		{map[string]string{"REDIS_ADDR": "redis"}, []string{`REDIS_ADDR="redis"`, "host:port"}},
		{map[string]string{"REDIS_ADDR": ":6379"}, []string{`REDIS_ADDR=":6379"`}},
		{map[string]string{"REDIS_ADDR": "redis:0"}, []string{`REDIS_ADDR="redis:0"`}},
		{map[string]string{"REDIS_DB": "16"}, []string{`REDIS_DB="16"`, "integer from 0 to 15"}},
		{map[string]string{"REDIS_DB": "-1"}, []string{`REDIS_DB="-1"`}},
		{map[string]string{"LOG_LEVEL": "verbose"}, []string{`LOG_LEVEL="verbose"`, "debug, info, warn or error"}},
		{map[string]string{"SHUTDOWN_TIMEOUT": "15"}, []string{`SHUTDOWN_TIMEOUT="15"`, "positive Go duration"}},
		{map[string]string{"SHUTDOWN_TIMEOUT": "0s"}, []string{`SHUTDOWN_TIMEOUT="0s"`}},
		{map[string]string{"SHUTDOWN_DELAY": "-1s"}, []string{`SHUTDOWN_DELAY="-1s"`, "Go duration"}},
		{map[string]string{"SHUTDOWN_DELAY": "15s"}, []string{"SHUTDOWN_DELAY (15s) must be shorter than SHUTDOWN_TIMEOUT (15s)"}},
		{map[string]string{"SHUTDOWN_DELAY": "5s", "SHUTDOWN_TIMEOUT": "3s"}, []string{"SHUTDOWN_DELAY (5s) must be shorter than SHUTDOWN_TIMEOUT (3s)"}},
		{map[string]string{"REDIS_PASSWORD": "x", "REDIS_PASSWORD_FILE": empty}, []string{"REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set"}},
		{map[string]string{"REDIS_PASSWORD_FILE": filepath.Join(dir, "missing")}, []string{"REDIS_PASSWORD_FILE=", "missing", "cannot be read"}},
		{map[string]string{"REDIS_PASSWORD_FILE": empty}, []string{"REDIS_PASSWORD_FILE=", "empty file"}},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "s0:26379,s1"}, []string{`REDIS_SENTINEL_ADDRS="s0:26379,s1"`, "comma-separated host:port"}},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "s0:26379,"}, []string{`REDIS_SENTINEL_ADDRS="s0:26379,"`}},
		{map[string]string{"REDIS_SENTINEL_ADDRS": "s0:26379", "REDIS_ADDR": "redis:6379"}, []string{"REDIS_ADDR and REDIS_SENTINEL_ADDRS are both set"}},
		{map[string]string{"REDIS_SENTINEL_MASTER": "my master"}, []string{`REDIS_SENTINEL_MASTER="my master"`, "letters, digits"}},
		{map[string]string{"REDIS_SENTINEL_PASSWORD": "a", "REDIS_SENTINEL_PASSWORD_FILE": empty}, []string{"REDIS_SENTINEL_PASSWORD and REDIS_SENTINEL_PASSWORD_FILE are both set"}},
		{map[string]string{"REDIS_TLS": "yes"}, []string{`REDIS_TLS="yes"`, "true or false"}},
		{map[string]string{"REDIS_TLS_CA_FILE": "/ca.pem"}, []string{`REDIS_TLS_CA_FILE="/ca.pem" is set but REDIS_TLS is not true`}},
		{map[string]string{"REDIS_WAIT_REPLICAS": "6"}, []string{`REDIS_WAIT_REPLICAS="6"`, "integer from 0 to 5"}},
		{map[string]string{"REDIS_WAIT_TIMEOUT": "0s"}, []string{`REDIS_WAIT_TIMEOUT="0s"`, "positive Go duration"}},
		{map[string]string{"REDIS_WAIT_TIMEOUT": "3s"}, []string{"REDIS_WAIT_TIMEOUT (3s) must be shorter than the Redis read timeout (2s)"}},
		{map[string]string{"REDIS_RETRY_TIMEOUT": "-1s"}, []string{`REDIS_RETRY_TIMEOUT="-1s"`, "Go duration"}},
		{map[string]string{"REDIS_RETRY_TIMEOUT": "30s"}, []string{"REDIS_RETRY_TIMEOUT (30s) must be at most 25s"}},
		{map[string]string{"PPROF_ADDR": ":6060"}, []string{`PPROF_ADDR=":6060"`, "loopback host:port"}},
		{map[string]string{"PPROF_ADDR": "0.0.0.0:6060"}, []string{`PPROF_ADDR="0.0.0.0:6060"`}},
		{map[string]string{"PPROF_ADDR": "[::]:6060"}, []string{`PPROF_ADDR="[::]:6060"`}},
		{map[string]string{"PPROF_ADDR": "10.0.0.7:6060"}, []string{`PPROF_ADDR="10.0.0.7:6060"`}},
		{map[string]string{"PPROF_ADDR": "api.example.com:6060"}, []string{`PPROF_ADDR="api.example.com:6060"`}},
		{map[string]string{"PPROF_ADDR": "127.0.0.1"}, []string{`PPROF_ADDR="127.0.0.1"`}},
		{map[string]string{"PPROF_ADDR": "127.0.0.1:65536"}, []string{`PPROF_ADDR="127.0.0.1:65536"`}},
		{map[string]string{"PORT": "x", "LOG_LEVEL": "loud"}, []string{`PORT="x"`, `LOG_LEVEL="loud"`}},
	}
	for _, tt := range tests {
		_, err := loadConfig(envOf(tt.env))
		if err == nil {
			t.Errorf("loadConfig(%v) = nil error; want one", tt.env)
			continue
		}
		for _, want := range tt.want {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("loadConfig(%v) error %q; want it to contain %q", tt.env, err, want)
			}
		}
	}
}

func TestPprofIsOffByDefaultAndTakesOnlyLoopbackAddresses(t *testing.T) {
	if cfg, err := loadConfig(envOf(nil)); err != nil || cfg.pprofAddr != "" {
		t.Errorf("pprofAddr %q, error %v without PPROF_ADDR; want none", cfg.pprofAddr, err)
	}
	for _, addr := range []string{"127.0.0.1:6060", "127.0.0.2:0", "[::1]:6060", "localhost:6060"} {
		if cfg, err := loadConfig(envOf(map[string]string{"PPROF_ADDR": addr})); err != nil || cfg.pprofAddr != addr {
			t.Errorf("PPROF_ADDR=%s: pprofAddr %q, error %v; want it taken", addr, cfg.pprofAddr, err)
		}
	}
}

func TestConfigErrorsNeverShowThePassword(t *testing.T) {
	_, err := loadConfig(envOf(map[string]string{
		"REDIS_PASSWORD": "hunter2", "REDIS_PASSWORD_FILE": "/run/secret", "PORT": "x",
		"REDIS_SENTINEL_PASSWORD": "swordfish", "REDIS_SENTINEL_PASSWORD_FILE": "/run/sentinel",
	}))
	if err == nil || strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "swordfish") {
		t.Errorf("error %q; want one that does not show the password", err)
	}
}

func TestTheRedisPoolHoldsAConnectionPerRequestInFlightWhateverGOMAXPROCS(t *testing.T) {
	cfg, err := loadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	clients, err := newRedisClients(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer clients.Close()
	if got := clients.primary.Options().PoolSize; got != redisPoolSize {
		t.Errorf("PoolSize %d; want %d", got, redisPoolSize)
	}
}
