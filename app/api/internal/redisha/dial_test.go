package redisha

import (
	"context"
	"errors"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

func TestADialToAServerThatHangsFailsWithinItsTimeoutAsADialError(t *testing.T) {
	t.Parallel()
	rs := redistest.Start(t)
	d := Dialer{Timeout: 300 * time.Millisecond}
	conn, err := d.Dial(t.Context(), "tcp", rs.Addr)
	if err != nil {
		t.Fatalf("dial a server that answers: %v", err)
	}
	_ = conn.Close()

	// The kernel still completes the TCP handshake; nothing answers.
	rs.Freeze()
	defer rs.Thaw()
	start := time.Now()
	conn, err = d.Dial(t.Context(), "tcp", rs.Addr)
	elapsed := time.Since(start)
	var op *net.OpError
	if !errors.As(err, &op) || op.Op != "dial" {
		if conn != nil {
			_ = conn.Close()
		}
		t.Fatalf("dial a server that hangs = %v; want a dial error, which says no command was sent", err)
	}
	if elapsed > time.Second {
		t.Errorf("the dial failed after %s; want about its 300ms timeout", elapsed)
	}
}

func TestOnceAConnectionToThePrimaryFailsTheOlderOnesRefuseToSendAndNewOnesWork(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := redistest.Start(t)
	p := NewPrimary(Dialer{Timeout: time.Second}, rs.Addr)
	var dials atomic.Int32
	rdb := redis.NewClient(&redis.Options{
		Addr:     rs.Addr,
		Password: rs.Password,
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return p.Dial(ctx, network, addr)
		},
		MaxRetries: -1,
	})
	t.Cleanup(func() { _ = rdb.Close() })
	// Three connections, idle in the pool.
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _ = rdb.BLPop(ctx, 100*time.Millisecond, "nothing").Err() })
	}
	wg.Wait()
	before := dials.Load()

	// As a command that timed out on one of them, as on a server that hangs.
	p.Failed(&net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded})
	err := rdb.Ping(ctx).Err()
	var notSent interface{ NotSent() bool }
	if !errors.As(err, &notSent) || !notSent.NotSent() {
		t.Fatalf("PING on a connection made before the failure = %v; want a refusal that says it was not sent", err)
	}
	for range 10 {
		if err = rdb.Ping(ctx).Err(); err == nil {
			break
		}
	}
	if err != nil {
		t.Fatalf("PING after the old connections were refused = %v; want a new connection to answer", err)
	}
	if dials.Load() == before {
		t.Error("no new connection was made after the failure")
	}
}
