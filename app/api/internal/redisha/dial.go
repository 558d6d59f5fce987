// Package redisha connects go-redis clients to a Redis that may move: it
// dials so that a dead or hung server costs one short timeout and an error
// that proves no command reached it, finds the primary and the replicas that
// Redis Sentinels name (Resolver), and keeps writes off a primary that has
// moved or stopped answering (Primary).
package redisha

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"syscall"
	"time"
)

// Dialer opens connections to Redis servers and Sentinels. A connection
// counts as made only once the server has answered a PING: on a node that
// hangs (a stopped process, a frozen VM) the kernel may still complete the
// TCP handshake, and without the PING the first command would be sent into a
// socket nobody reads. So every failure of Dial, including a server that
// does not answer, is a *net.OpError with Op "dial": no command was sent.
type Dialer struct {
	// Timeout bounds the TCP connection, the TLS handshake and the PING.
	Timeout time.Duration
	// TLS, if not nil, is the TLS configuration; the server name defaults to
	// the host of the address.
	TLS *tls.Config
}

// Dial connects to addr, as go-redis's Options.Dialer.
func (d Dialer) Dial(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, d.Timeout)
	defer cancel()
	var conn net.Conn
	var err error
	if d.TLS != nil {
		conn, err = (&tls.Dialer{NetDialer: &net.Dialer{}, Config: d.TLS}).DialContext(ctx, network, addr)
	} else {
		conn, err = (&net.Dialer{}).DialContext(ctx, network, addr)
	}
	if err != nil {
		return nil, dialError(network, addr, err)
	}
	if err := ping(ctx, conn); err != nil {
		_ = conn.Close()
		return nil, dialError(network, addr, fmt.Errorf("no answer to PING within %s: %w", d.Timeout, err))
	}
	return conn, nil
}

// dialError marks err, which happened before any command was sent to addr,
// as a failure to dial.
func dialError(network, addr string, err error) error {
	var op *net.OpError
	if errors.As(err, &op) && op.Op == "dial" {
		return err
	}
	return &net.OpError{Op: "dial", Net: network, Addr: stringAddr{network, addr}, Err: err}
}

// stringAddr is an address as given, not resolved.
type stringAddr struct{ network, addr string }

func (a stringAddr) Network() string { return a.network }
func (a stringAddr) String() string  { return a.addr }

// ping sends an inline PING on conn before anything else and reads the one
// line that answers it: +PONG, or an error such as -NOAUTH from a server that
// wants a password first. Either proves the server reads its connections.
func ping(ctx context.Context, conn net.Conn) error {
	deadline, _ := ctx.Deadline()
	if err := conn.SetDeadline(deadline); err != nil {
		return err
	}
	if _, err := conn.Write([]byte("PING\r\n")); err != nil {
		return err
	}
	// The server sends this one line and nothing more until it gets another
	// command, so a read cannot take bytes meant for the client.
	var line []byte
	buf := make([]byte, 256)
	for !strings.HasSuffix(string(line), "\r\n") {
		n, err := conn.Read(buf)
		line = append(line, buf[:n]...)
		if err != nil {
			return err
		}
		if len(line) > 4096 {
			return fmt.Errorf("an answer to PING of over %d bytes", len(line))
		}
	}
	if line[0] != '+' && line[0] != '-' {
		return fmt.Errorf("unexpected answer to PING: %q", line)
	}
	return conn.SetDeadline(time.Time{})
}

// syscallConn is a guarded connection over a plain TCP connection. It
// exposes the socket, so that go-redis's pool can check an idle connection
// for a close by the server before using it, as it does for the connections
// it dials itself.
type syscallConn struct {
	*guardedConn
}

func (c syscallConn) SyscallConn() (syscall.RawConn, error) {
	return c.Conn.(syscall.Conn).SyscallConn()
}
