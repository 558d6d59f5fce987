package redistest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// groupTimeout bounds how long a Group may take to form: replicas in sync and
// every Sentinel aware of the others.
const groupTimeout = 20 * time.Second

// GroupOptions shape a Group. Zero values take the defaults.
type GroupOptions struct {
	// Replicas is the number of replicas of the primary; default 2.
	Replicas int
	// Sentinels is the number of Sentinels; default 3.
	Sentinels int
	// Quorum is how many Sentinels must agree that the primary is down;
	// default a majority of Sentinels.
	Quorum int
	// DownAfter is how long the primary must be unreachable before a Sentinel
	// deems it down (down-after-milliseconds); default 500ms.
	DownAfter time.Duration
}

// Group is a Redis primary, its replicas and the Sentinels that watch them,
// as a Sentinel deployment runs them, all on 127.0.0.1. Every process is
// killed when the test ends.
type Group struct {
	// Master is the name the Sentinels know the primary by.
	Master string
	// Password is the password of every data server; SentinelPassword that of
	// every Sentinel.
	Password, SentinelPassword string
	// Servers are the data servers; Servers[0] starts as the primary.
	Servers []*Server
	// Sentinels are the Sentinel processes.
	Sentinels []*Server

	t testing.TB
}

// StartGroup starts a primary, its replicas and Sentinels with passwords, and
// returns once the replicas are in sync and every Sentinel knows every
// replica and every other Sentinel, so that a failover can happen. Sentinels
// are tuned to fail over quickly (see GroupOptions.DownAfter).
func StartGroup(t testing.TB, opts GroupOptions) *Group {
	t.Helper()
	opts = opts.withDefaults()
	g := &Group{Master: "mymaster", Password: rand.Text(), SentinelPassword: rand.Text(), t: t}
	for i := range opts.Replicas + 1 {
		s := newServer(t, g.Password)
		s.args = func(port string) []string {
			// A replica that restarts syncs at once, not after the default 5s
			// wait for more replicas.
			args := append(s.serverArgs(port), "--masterauth", g.Password, "--repl-diskless-sync-delay", "0")
			if i > 0 {
				_, primaryPort, _ := strings.Cut(g.Servers[0].Addr, ":")
				args = append(args, "--replicaof", "127.0.0.1", primaryPort)
			}
			return args
		}
		s.launch("redis-server")
		g.Servers = append(g.Servers, s)
	}
	for range opts.Sentinels {
		s := newServer(t, g.SentinelPassword)
		conf := filepath.Join(s.dir, "sentinel.conf")
		if err := os.WriteFile(conf, []byte(g.sentinelConf(s.dir, opts)), 0o600); err != nil {
			t.Fatal(err)
		}
		// The port comes last, so a Sentinel that rewrites its file keeps it.
		s.args = func(port string) []string {
			return []string{conf, "--sentinel", "--port", port, "--logfile", s.logFile()}
		}
		s.launch("redis-sentinel")
		g.Sentinels = append(g.Sentinels, s)
	}
	if err := g.waitFormed(opts); err != nil {
		t.Fatal(err)
	}
	return g
}

func (o GroupOptions) withDefaults() GroupOptions {
	if o.Replicas == 0 {
		o.Replicas = 2
	}
	if o.Sentinels == 0 {
		o.Sentinels = 3
	}
	if o.Quorum == 0 {
		o.Quorum = o.Sentinels/2 + 1
	}
	if o.DownAfter == 0 {
		o.DownAfter = 500 * time.Millisecond
	}
	return o
}

// sentinelConf is the configuration file of a Sentinel in dir.
func (g *Group) sentinelConf(dir string, opts GroupOptions) string {
	_, primaryPort, _ := strings.Cut(g.Servers[0].Addr, ":")
	lines := []string{
		"bind 127.0.0.1",
		"dir " + dir,
		"requirepass " + g.SentinelPassword,
		fmt.Sprintf("sentinel monitor %s 127.0.0.1 %s %d", g.Master, primaryPort, opts.Quorum),
		fmt.Sprintf("sentinel auth-pass %s %s", g.Master, g.Password),
		fmt.Sprintf("sentinel down-after-milliseconds %s %d", g.Master, opts.DownAfter.Milliseconds()),
		// Also the least time between two failovers of the same primary.
		fmt.Sprintf("sentinel failover-timeout %s %d", g.Master, 5*opts.DownAfter.Milliseconds()),
		fmt.Sprintf("sentinel parallel-syncs %s %d", g.Master, opts.Replicas),
	}
	return strings.Join(lines, "\n") + "\n"
}

// SentinelAddrs returns the addresses of the Sentinels.
func (g *Group) SentinelAddrs() []string {
	addrs := make([]string, len(g.Sentinels))
	for i, s := range g.Sentinels {
		addrs[i] = s.Addr
	}
	return addrs
}

// SentinelClient returns a client of Sentinel i, closed when the test ends.
func (g *Group) SentinelClient(i int) *redis.SentinelClient {
	c := redis.NewSentinelClient(&redis.Options{Addr: g.Sentinels[i].Addr, Password: g.SentinelPassword})
	g.t.Cleanup(func() { _ = c.Close() })
	return c
}

// Primary returns the data server that Sentinel 0 names as the primary.
func (g *Group) Primary(ctx context.Context) (*Server, error) {
	c := redis.NewSentinelClient(&redis.Options{Addr: g.Sentinels[0].Addr, Password: g.SentinelPassword})
	defer c.Close()
	addr, err := c.GetMasterAddrByName(ctx, g.Master).Result()
	if err != nil {
		return nil, err
	}
	for _, s := range g.Servers {
		if s.Addr == addr[0]+":"+addr[1] {
			return s, nil
		}
	}
	return nil, fmt.Errorf("sentinel names %v, which is none of the group's servers", addr)
}

// waitFormed waits until the primary has every replica online and every
// Sentinel sees the primary up, every replica and every other Sentinel.
func (g *Group) waitFormed(opts GroupOptions) error {
	ctx, cancel := context.WithTimeout(context.Background(), groupTimeout)
	defer cancel()
	primary := redis.NewClient(&redis.Options{Addr: g.Servers[0].Addr, Password: g.Password})
	defer primary.Close()
	sentinels := make([]*redis.SentinelClient, len(g.Sentinels))
	for i, s := range g.Sentinels {
		sentinels[i] = redis.NewSentinelClient(&redis.Options{Addr: s.Addr, Password: g.SentinelPassword})
		defer sentinels[i].Close()
	}
	var why string
	for {
		why = g.notFormed(ctx, primary, sentinels, opts)
		if why == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the Sentinel group did not form within %s: %s", groupTimeout, why)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// notFormed says what the group still lacks, or "" once formed.
func (g *Group) notFormed(ctx context.Context, primary *redis.Client, sentinels []*redis.SentinelClient, opts GroupOptions) string {
	info, err := primary.Info(ctx, "replication").Result()
	if err != nil {
		return "primary: " + err.Error()
	}
	if online := strings.Count(info, "state=online"); online != opts.Replicas {
		return fmt.Sprintf("%d of %d replicas online", online, opts.Replicas)
	}
	for i, c := range sentinels {
		m, err := c.Master(ctx, g.Master).Result()
		if err != nil {
			return fmt.Sprintf("sentinel %d: %v", i, err)
		}
		if m["flags"] != "master" || m["num-slaves"] != strconv.Itoa(opts.Replicas) ||
			m["num-other-sentinels"] != strconv.Itoa(opts.Sentinels-1) {
			return fmt.Sprintf("sentinel %d sees flags %q, %s replicas, %s other sentinels",
				i, m["flags"], m["num-slaves"], m["num-other-sentinels"])
		}
	}
	return ""
}
