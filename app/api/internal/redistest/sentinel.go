package redistest

import (
	"context"
	"crypto/rand"
	"fmt"
	"os"
	"path/filepath"
	"slices"
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

// Primary returns the data server that the first Sentinel that runs (not
// killed, not frozen) names as the primary.
func (g *Group) Primary(ctx context.Context) (*Server, error) {
	for i, s := range g.Sentinels {
		if s.cmd == nil || s.frozen {
			continue
		}
		return g.primaryOf(ctx, i)
	}
	return nil, fmt.Errorf("no Sentinel runs")
}

// primaryOf returns the data server that Sentinel i names as the primary.
func (g *Group) primaryOf(ctx context.Context, i int) (*Server, error) {
	c := redis.NewSentinelClient(&redis.Options{
		Addr: g.Sentinels[i].Addr, Password: g.SentinelPassword, MaxRetries: -1, DialTimeout: time.Second, ReadTimeout: time.Second,
	})
	defer c.Close()
	addr, err := c.GetMasterAddrByName(ctx, g.Master).Result()
	if err != nil {
		return nil, fmt.Errorf("sentinel %d: %w", i, err)
	}
	for _, s := range g.Servers {
		if s.Addr == addr[0]+":"+addr[1] {
			return s, nil
		}
	}
	return nil, fmt.Errorf("sentinel %d names %v, which is none of the group's servers", i, addr)
}

// Failover asks Sentinel i for a failover (SENTINEL FAILOVER), as the
// preStop hook of a Redis pod that is being drained does: a planned
// handover, the old primary still running.
func (g *Group) Failover(ctx context.Context, i int) error {
	return g.SentinelClient(i).Failover(ctx, g.Master).Err()
}

// handoverPause bounds how long HandOver keeps writes paused on the old
// primary, should it not get to unpause them.
const handoverPause = 10 * time.Second

// HandOver moves the primary to a replica through Sentinel i without losing
// or failing a write, as the preStop hook of a Redis pod that is being
// drained should, and returns the new primary:
//
//  1. It pauses writes on the primary (CLIENT PAUSE WRITE): they wait.
//  2. It waits until no client waits in WAIT: while writes are paused the
//     primary does not ask the replicas to acknowledge, so a WAIT sent just
//     before gets its answer from their acknowledgement of every second (a
//     WAIT timeout of at least 1s confirms it), and making the primary a
//     replica would cut it off with an error that leaves the write in doubt.
//  3. It waits until every replica has everything.
//  4. It asks Sentinel i for a failover, and waits for the promotion.
//  5. It makes the old primary a replica of the new one at once (Sentinel
//     would only after 8s), and unpauses it: the writes it held then answer
//     READONLY, which says they did not run, and clients send them to the
//     new primary.
//
// A bare SENTINEL FAILOVER, with the old primary taking writes until its
// clients move, loses the writes that a replica not promoted confirms
// meanwhile: that replica then starts over from the new primary.
func (g *Group) HandOver(ctx context.Context, i int, old *Server) (*Server, error) {
	c := old.Client()
	if err := c.Do(ctx, "client", "pause", handoverPause.Milliseconds(), "write").Err(); err != nil {
		return nil, fmt.Errorf("pause writes on %s: %w", old.Addr, err)
	}
	defer c.Do(context.WithoutCancel(ctx), "client", "unpause")
	for {
		list, err := c.ClientList(ctx).Result()
		if err != nil {
			return nil, err
		}
		if !waitBlocked(list) {
			break
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	// Asked of the replicas themselves: while writes are paused the primary
	// does not ask them to acknowledge, so its own view lags up to a second.
	info, err := c.Info(ctx, "replication").Result()
	if err != nil {
		return nil, err
	}
	offset, err := strconv.ParseInt(infoField(info, "master_repl_offset"), 10, 64)
	if err != nil {
		return nil, fmt.Errorf("INFO replication of %s: %w", old.Addr, err)
	}
	for _, s := range g.Servers {
		if s == old || s.cmd == nil || s.frozen {
			continue
		}
		rc := s.Client()
		for {
			info, err := rc.Info(ctx, "replication").Result()
			if err != nil {
				return nil, err
			}
			if n, _ := strconv.ParseInt(infoField(info, "slave_repl_offset"), 10, 64); n >= offset {
				break
			}
			select {
			case <-ctx.Done():
				return nil, ctx.Err()
			case <-time.After(5 * time.Millisecond):
			}
		}
	}
	if err := g.Failover(ctx, i); err != nil {
		return nil, fmt.Errorf("SENTINEL FAILOVER: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	clients := map[*Server]*redis.Client{}
	for _, s := range g.Servers {
		if s != old && s.cmd != nil && !s.frozen {
			clients[s] = s.Client()
		}
	}
	for {
		for s, rc := range clients {
			if role, err := rc.Do(ctx, "role").Slice(); err == nil && role[0] == "master" {
				host, port, _ := strings.Cut(s.Addr, ":")
				if err := c.Do(ctx, "replicaof", host, port).Err(); err != nil {
					return nil, fmt.Errorf("make %s a replica of %s: %w", old.Addr, s.Addr, err)
				}
				return s, nil
			}
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("no replica was promoted within %s", groupTimeout)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// WaitForNewPrimary waits until every Sentinel that runs names the same
// primary, other than old, and returns it.
func (g *Group) WaitForNewPrimary(ctx context.Context, old *Server) (*Server, error) {
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	for {
		var named *Server
		agreed := true
		for i, s := range g.Sentinels {
			if s.cmd == nil || s.frozen {
				continue
			}
			p, err := g.primaryOf(ctx, i)
			if err != nil || p == old || (named != nil && p != named) {
				agreed = false
				break
			}
			named = p
		}
		if agreed && named != nil {
			return named, nil
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("the Sentinels did not agree on a new primary within %s", groupTimeout)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// WaitSynced waits until every replica of primary that is connected has
// everything primary wrote so far.
func (g *Group) WaitSynced(ctx context.Context, primary *Server) error {
	ctx, cancel := context.WithTimeout(ctx, groupTimeout)
	defer cancel()
	c := primary.Client()
	for {
		info, err := c.Info(ctx, "replication").Result()
		if err == nil && replicasSynced(info) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("the replicas of %s did not catch up within %s: %v\n%s", primary.Addr, groupTimeout, err, info)
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitBlocked reports whether a CLIENT LIST shows a client blocked in WAIT.
func waitBlocked(list string) bool {
	for line := range strings.Lines(list) {
		f := strings.Fields(line)
		if slices.Contains(f, "cmd=wait") && slices.ContainsFunc(f, func(s string) bool {
			flags, ok := strings.CutPrefix(s, "flags=")
			return ok && strings.Contains(flags, "b")
		}) {
			return true
		}
	}
	return false
}

// infoField returns the value of a field of an INFO reply, or "".
func infoField(info, name string) string {
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), name+":"); ok {
			return v
		}
	}
	return ""
}

// replicasSynced reports whether INFO replication of a primary shows every
// replica at the primary's offset.
func replicasSynced(info string) bool {
	var offset string
	var replicas []string
	for line := range strings.Lines(info) {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "master_repl_offset:"); ok {
			offset = v
		}
		if strings.HasPrefix(line, "slave") && strings.Contains(line, "offset=") {
			replicas = append(replicas, line)
		}
	}
	for _, r := range replicas {
		if !strings.Contains(r, "offset="+offset+",") {
			return false
		}
	}
	return offset != "" && len(replicas) > 0
}

// SubscribedSentinel returns the index of the first Sentinel that has a
// client subscribed to its events, as go-redis is to the Sentinel it asks.
func (g *Group) SubscribedSentinel(ctx context.Context) (int, error) {
	for i, s := range g.Sentinels {
		if s.cmd == nil || s.frozen {
			continue
		}
		c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr, Password: g.SentinelPassword, MaxRetries: -1})
		cmd := redis.NewStringCmd(ctx, "client", "list")
		err := c.Process(ctx, cmd)
		_ = c.Close()
		if err != nil {
			return 0, fmt.Errorf("sentinel %d: %w", i, err)
		}
		for line := range strings.Lines(cmd.Val()) {
			if strings.Contains(line, " cmd=subscribe ") || !strings.Contains(line, " sub=0 ") && strings.Contains(line, " sub=") {
				return i, nil
			}
		}
	}
	return 0, fmt.Errorf("no Sentinel has a subscriber")
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
