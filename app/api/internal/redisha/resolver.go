package redisha

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// ResolverOptions configure a Resolver.
type ResolverOptions struct {
	// Sentinels are the addresses of the Sentinels; Master the name they
	// monitor the primary by; Password theirs.
	Sentinels []string
	Master    string
	Password  string
	// Dialer connects to the Sentinels.
	Dialer Dialer
	// Timeout bounds a Sentinel's answer.
	Timeout time.Duration
	// Logger receives a line whenever the primary changes.
	Logger *slog.Logger
}

// Resolver finds the primary and the replicas that Redis Sentinels name. It
// asks every Sentinel at once and takes the answer of the latest
// configuration (the highest config epoch) among the first majority to
// answer, so a Sentinel that is gone or hangs costs nothing while the others
// answer, and one that has not yet heard of a failover is outvoted. It also
// listens to every Sentinel for +switch-master, so it learns of a failover
// as soon as any Sentinel it can reach does.
//
// go-redis's own failover client (v9.23) asks one Sentinel at a time and
// keeps the one that answered: if that Sentinel then hangs, each dial waits
// for it until the dial's deadline, which is also the deadline of the
// fallback to the others, so the client never moves on; and it hears of
// failovers from that Sentinel only.
type Resolver struct {
	opts      ResolverOptions
	sentinels []*redis.SentinelClient
	subs      []*redis.PubSub
	done      sync.WaitGroup

	mu       sync.Mutex
	primary  string   // "" until known
	replicas []string // replicas not known to be down, never the primary
	// switched is when a Sentinel last said the primary moved: for
	// switchTrust after, an answer that names another primary comes from
	// Sentinels that have not heard yet.
	switched time.Time
	// stale means the Sentinels must be asked before the next dial.
	stale bool
	// asking is closed when the question in flight is answered; nil if none.
	asking chan struct{}
	// askErr is why the last question got no answer.
	askErr error
	// asked is when the Sentinels were last asked.
	asked time.Time
}

// recheckInterval is the least time between two questions that Recheck
// asks: during a failover every failed command asks for one.
const recheckInterval = 100 * time.Millisecond

// switchTrust is how long news that the primary moved outweighs answers
// that name another. The Sentinel that fails over announces the promotion
// (+promoted-slave), then, once the replicas follow the new primary, the
// new configuration (+switch-master), which it passes on to the other
// Sentinels at once (and every 2s anyway); until then they, and it, still
// name the old primary, with a config epoch that does not tell which is
// newer (the one failing over raises it at the promotion). After
// switchTrust the Sentinels' answer counts again, so that a failover that
// was abandoned, or a Sentinel group that lost its state and started over,
// is followed too.
const switchTrust = 5 * time.Second

// NewResolver returns a Resolver of the Sentinels in opts, already
// listening to them. Close stops it.
func NewResolver(opts ResolverOptions) *Resolver {
	r := &Resolver{opts: opts, stale: true}
	ctx := context.Background()
	for _, addr := range opts.Sentinels {
		c := redis.NewSentinelClient(&redis.Options{
			Addr:                  addr,
			Password:              opts.Password,
			Dialer:                opts.Dialer.Dial,
			DialTimeout:           opts.Dialer.Timeout,
			ReadTimeout:           opts.Timeout,
			WriteTimeout:          opts.Timeout,
			ContextTimeoutEnabled: true,
			MaxRetries:            -1,
			DialerRetries:         1,
			PoolSize:              4,
		})
		r.sentinels = append(r.sentinels, c)
		sub := c.Subscribe(ctx, "+switch-master", "+promoted-slave")
		r.subs = append(r.subs, sub)
		r.done.Go(func() { r.listen(sub) })
	}
	return r
}

// Close stops listening to the Sentinels.
func (r *Resolver) Close() error {
	var errs []error
	for _, s := range r.subs {
		errs = append(errs, s.Close())
	}
	r.done.Wait()
	for _, c := range r.sentinels {
		errs = append(errs, c.Close())
	}
	return errors.Join(errs...)
}

// listen follows one Sentinel's news of failovers until sub is closed:
// +promoted-slave, when the replica it chose answers as a primary ("slave
// name ip port @ master-name ip port"), and +switch-master, when the
// failover is done ("master-name old-ip old-port new-ip new-port"). The
// first is about a second earlier: the replicas are then moved to the new
// primary, which writes can use meanwhile. go-redis reconnects a
// subscription that breaks.
func (r *Resolver) listen(sub *redis.PubSub) {
	for msg := range sub.Channel() {
		f := strings.Fields(msg.Payload)
		var addr string
		switch {
		case msg.Channel == "+switch-master" && len(f) == 5 && f[0] == r.opts.Master:
			addr = net.JoinHostPort(f[3], f[4])
		case msg.Channel == "+promoted-slave" && len(f) == 8 && f[5] == r.opts.Master:
			addr = net.JoinHostPort(f[2], f[3])
		default:
			continue
		}
		r.mu.Lock()
		old := r.primary
		r.switched = time.Now()
		if old != addr {
			r.primary = addr
			// The replicas change too (the old primary comes back as one, if
			// at all): ask for them before the next dial.
			r.replicas, r.stale = nil, true
		}
		r.mu.Unlock()
		r.logMove(old, addr, msg.Channel)
	}
}

// logMove logs that the primary moved from old to addr, if it did.
func (r *Resolver) logMove(old, addr, source string) {
	if old != addr && r.opts.Logger != nil {
		r.opts.Logger.Warn("redis primary moved", "from", old, "to", addr, "source", source)
	}
}

// current returns the primary's address, or "" if not known yet.
func (r *Resolver) current() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.primary
}

// Primary returns the address of the primary, asking the Sentinels if it
// is not known or may have changed.
func (r *Resolver) Primary(ctx context.Context) (string, error) {
	for {
		r.mu.Lock()
		if r.primary != "" && !r.stale {
			addr := r.primary
			r.mu.Unlock()
			return addr, nil
		}
		wait, err := r.askLocked()
		r.mu.Unlock()
		if err != nil {
			return "", err
		}
		select {
		case <-wait:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		r.mu.Lock()
		addr, err := r.primary, r.askErr
		r.mu.Unlock()
		if err != nil {
			return "", err
		}
		if addr != "" {
			return addr, nil
		}
	}
}

// Replica returns the address of a replica, picked at random among those
// the Sentinels do not deem down, or the primary's if there is none: it
// serves reads too.
func (r *Resolver) Replica(ctx context.Context) (string, error) {
	r.mu.Lock()
	if len(r.replicas) > 0 && !r.stale {
		addr := r.replicas[rand.IntN(len(r.replicas))]
		r.mu.Unlock()
		return addr, nil
	}
	r.mu.Unlock()
	primary, err := r.Primary(ctx)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.replicas) == 0 {
		return primary, nil
	}
	return r.replicas[rand.IntN(len(r.replicas))], nil
}

// Recheck asks the Sentinels again, in the background, unless it did less
// than recheckInterval ago: a command to the primary failed in a way that
// suggests it moved.
func (r *Resolver) Recheck() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.asking == nil && time.Since(r.asked) >= recheckInterval {
		_, _ = r.askLocked()
	}
}

// unreachable records that a connection to addr could not be made: the
// next dial asks the Sentinels again, and a replica there is not picked.
func (r *Resolver) unreachable(addr string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if addr == r.primary {
		r.stale = true
	}
	r.replicas = slices.DeleteFunc(r.replicas, func(a string) bool { return a == addr })
}

// askLocked starts asking the Sentinels, unless a question is in flight,
// and returns a channel closed once it is answered. r.mu must be held.
func (r *Resolver) askLocked() (<-chan struct{}, error) {
	if len(r.sentinels) == 0 {
		return nil, errors.New("no Sentinels configured")
	}
	if r.asking == nil {
		r.asking = make(chan struct{})
		r.asked = time.Now()
		go r.ask(r.asking)
	}
	return r.asking, nil
}

// answer is what one Sentinel says.
type answer struct {
	sentinel string
	primary  string
	epoch    int64
	replicas []string
	err      error
}

// ask asks every Sentinel, records the answer of the latest configuration
// among the first majority to answer (or all that answered in time), and
// closes done.
func (r *Resolver) ask(done chan struct{}) {
	ctx, cancel := context.WithTimeout(context.Background(), r.opts.Timeout)
	defer cancel()
	answers := make(chan answer, len(r.sentinels))
	for i, c := range r.sentinels {
		go func() { answers <- r.askOne(ctx, r.opts.Sentinels[i], c) }()
	}
	majority := len(r.sentinels)/2 + 1
	var best *answer
	var errs []error
	for got := 0; got < len(r.sentinels) && got-len(errs) < majority; got++ {
		a := <-answers
		if a.err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.sentinel, a.err))
			continue
		}
		if best == nil || a.epoch > best.epoch {
			best = &a
		}
	}
	r.mu.Lock()
	old := r.primary
	r.asking, r.askErr = nil, nil
	switch {
	case best == nil:
		r.askErr = fmt.Errorf("no Sentinel named the primary %q: %w", r.opts.Master, errors.Join(errs...))
	case best.primary != r.primary && time.Since(r.switched) < switchTrust:
		// Those that answered have not heard of the latest failover yet:
		// keep the primary it named, and ask again next time.
		best = nil
	default:
		r.primary = best.primary
		r.replicas = slices.DeleteFunc(best.replicas, func(a string) bool { return a == best.primary })
		r.stale = false
	}
	r.mu.Unlock()
	close(done)
	if best != nil {
		r.logMove(old, best.primary, "sentinel "+best.sentinel)
	}
}

// askOne asks one Sentinel for the primary, its config epoch and the
// replicas it does not deem down.
func (r *Resolver) askOne(ctx context.Context, addr string, c *redis.SentinelClient) answer {
	a := answer{sentinel: addr}
	m, err := c.Master(ctx, r.opts.Master).Result()
	if err != nil {
		a.err = err
		return a
	}
	if m["ip"] == "" || m["port"] == "" {
		a.err = fmt.Errorf("no address for %q in %v", r.opts.Master, m)
		return a
	}
	a.primary = net.JoinHostPort(m["ip"], m["port"])
	a.epoch, _ = strconv.ParseInt(m["config-epoch"], 10, 64)
	replicas, err := c.Replicas(ctx, r.opts.Master).Result()
	if err != nil {
		a.err = err
		return a
	}
	for _, rep := range replicas {
		flags := strings.Split(rep["flags"], ",")
		if slices.Contains(flags, "s_down") || slices.Contains(flags, "o_down") || slices.Contains(flags, "disconnected") {
			continue
		}
		if rep["ip"] != "" && rep["port"] != "" {
			a.replicas = append(a.replicas, net.JoinHostPort(rep["ip"], rep["port"]))
		}
	}
	return a
}

// ReplicaDialer returns a go-redis Options.Dialer that connects to a
// replica that r names (or the primary if there is none).
func (r *Resolver) ReplicaDialer(d Dialer) func(context.Context, string, string) (net.Conn, error) {
	return func(ctx context.Context, network, _ string) (net.Conn, error) {
		addr, err := r.Replica(ctx)
		if err != nil {
			return nil, dialError(network, "replica", err)
		}
		conn, err := d.Dial(ctx, network, addr)
		if err != nil {
			r.unreachable(addr)
		}
		return conn, err
	}
}
