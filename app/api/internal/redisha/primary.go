package redisha

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"sync/atomic"
	"syscall"
)

// Primary dials the primary for a go-redis client (Dial is its
// Options.Dialer): one fixed address, or the one the Sentinels name. Its
// connections refuse to start a round trip, before sending anything, once
// they are suspect: when the Resolver has learnt that the primary moved
// elsewhere, or once a connection to it failed (see Failed). The refusal is
// a NotSentError, so a caller knows the command did not run and may send it
// again, on a new connection.
type Primary struct {
	dialer   Dialer
	addr     string
	resolver *Resolver
	// troubles counts the connection failures Failed was told of; a
	// connection made before the latest one is suspect.
	troubles atomic.Uint64
}

// NewPrimary returns a Primary of the server at addr.
func NewPrimary(d Dialer, addr string) *Primary {
	return &Primary{dialer: d, addr: addr}
}

// NewSentinelPrimary returns a Primary of the server that r names.
func NewSentinelPrimary(d Dialer, r *Resolver) *Primary {
	return &Primary{dialer: d, resolver: r}
}

// Dial connects to the primary, as go-redis's Options.Dialer; the address
// go-redis passes is ignored. A failure to learn the primary's address is a
// failure to dial too.
func (p *Primary) Dial(ctx context.Context, network, _ string) (net.Conn, error) {
	addr := p.addr
	if p.resolver != nil {
		var err error
		if addr, err = p.resolver.Primary(ctx); err != nil {
			return nil, dialError(network, "primary", err)
		}
	}
	epoch := p.troubles.Load()
	conn, err := p.dialer.Dial(ctx, network, addr)
	if err != nil {
		if p.resolver != nil {
			p.resolver.unreachable(addr)
		}
		return nil, err
	}
	g := &guardedConn{Conn: conn, addr: addr, epoch: epoch, p: p}
	if _, ok := conn.(syscall.Conn); ok {
		return syscallConn{g}, nil
	}
	return g, nil
}

// Failed reports that a command to the primary failed with err, other than
// with an answer about the data. When the connection itself failed (a
// timeout, a lost connection), the connections made so far are not used
// again: if the server hangs, each would hold a command until the read
// timeout and leave it in doubt, while a new connection fails at once,
// before sending anything. Any failure makes the Resolver ask the Sentinels
// again: READONLY, or a write that no replica confirmed, may mean the
// primary moved; once the Resolver knows, the connections to the old one
// refuse to send.
func (p *Primary) Failed(err error) {
	var notSent interface{ NotSent() bool }
	var op *net.OpError
	notUsed := errors.As(err, &notSent) || errors.As(err, &op) && op.Op == "dial"
	if !notUsed && isTransport(err) {
		p.troubles.Add(1)
	}
	if p.resolver != nil {
		p.resolver.Recheck()
	}
}

// isTransport reports whether err is a failure of the connection itself: a
// timeout, an end of stream or any other network error.
func isTransport(err error) bool {
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.As(err, &netErr) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// current returns the address the primary is known to have now, or "".
func (p *Primary) current() string {
	if p.resolver == nil {
		return p.addr
	}
	return p.resolver.current()
}

// guardedConn is a connection to the primary that checks, as each round
// trip starts, that it may still be used.
type guardedConn struct {
	net.Conn
	addr  string
	epoch uint64
	p     *Primary
	// sending is set from a round trip's first write to its first read: go-
	// redis writes all of a round trip's commands, then reads the replies.
	sending atomic.Bool
}

func (c *guardedConn) Write(b []byte) (int, error) {
	if !c.sending.Load() {
		if err := c.check(); err != nil {
			_ = c.Conn.Close()
			return 0, err
		}
		c.sending.Store(true)
	}
	return c.Conn.Write(b)
}

func (c *guardedConn) Read(b []byte) (int, error) {
	c.sending.Store(false)
	return c.Conn.Read(b)
}

// check returns a NotSentError if the connection is suspect.
func (c *guardedConn) check() error {
	if cur := c.p.current(); cur != "" && cur != c.addr {
		return &NotSentError{fmt.Sprintf("the primary moved from %s to %s", c.addr, cur)}
	}
	if c.p.troubles.Load() != c.epoch {
		return &NotSentError{fmt.Sprintf("a command to the primary %s failed since this connection was made", c.addr)}
	}
	return nil
}

// NotSentError is the refusal of a suspect connection to send a command.
type NotSentError struct{ reason string }

func (e *NotSentError) Error() string { return "redis: command not sent: " + e.reason }

// NotSent reports that the command did not reach Redis.
func (e *NotSentError) NotSent() bool { return true }
