package users

import (
	"bytes"
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

func TestAWriteThatRedisRefusesAsAReplicaIsSentAgainOnceItIsThePrimary(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs, other := redistest.Start(t), redistest.Start(t)
	// No retries by go-redis, as in the API: the Store's are under test.
	rdb := redis.NewClient(&redis.Options{Addr: rs.Addr, Password: rs.Password, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	h := &roundTrips{}
	rdb.AddHook(h)
	s := NewStore(rdb, Options{RetryTimeout: 10 * time.Second})
	// As a primary that is being handed over: a replica for a moment.
	host, port, _ := net.SplitHostPort(other.Addr)
	if err := rdb.ConfigSet(ctx, "masterauth", other.Password).Err(); err != nil {
		t.Fatal(err)
	}
	if err := other.Client().ConfigSet(ctx, "repl-diskless-sync-delay", "0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := rdb.Do(ctx, "replicaof", host, port).Err(); err != nil {
		t.Fatal(err)
	}
	// Synced, so that it answers READONLY, not LOADING.
	waitFor(t, "the replica is in sync", func() bool {
		info, _ := rdb.Info(ctx, "replication").Result()
		return strings.Contains(info, "master_link_status:up")
	})
	before, _, _ := h.counts()
	type result struct {
		u   User
		err error
	}
	created := make(chan result, 1)
	go func() {
		u, err := s.Create(ctx, Input{Name: "Ada", Email: "ada@example.com"})
		created <- result{u, err}
	}()
	// Three round trips: at least one is a retry (the first may be EVALSHA
	// answered NOSCRIPT, then EVAL).
	waitFor(t, "the create is refused and sent again", func() bool { single, _, _ := h.counts(); return single-before >= 3 })
	if err := rdb.Do(ctx, "replicaof", "no", "one").Err(); err != nil {
		t.Fatal(err)
	}
	r := <-created
	if r.err != nil {
		t.Fatalf("create while Redis was a replica, then a primary again = %v; want it done", r.err)
	}
	if got, err := s.Get(ctx, r.u.ID); err != nil || got != r.u {
		t.Errorf("the user reads back as %+v, %v; want %+v", got, err, r.u)
	}
	checkConsistent(t, rdb)
}

// cutAfterScript returns the address of a TCP proxy to addr that passes
// everything on, until a client sends EVALSHA: it passes that on too, then
// closes the client's connection without the reply, as a network that fails
// just after a command ran.
func cutAfterScript(t *testing.T, addr string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			client, err := ln.Accept()
			if err != nil {
				return
			}
			server, err := net.Dial("tcp", addr)
			if err != nil {
				_ = client.Close()
				continue
			}
			var cut atomic.Bool
			go func() {
				buf := make([]byte, 64<<10)
				for {
					n, err := server.Read(buf)
					if n > 0 && !cut.Load() {
						_, _ = client.Write(buf[:n])
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer client.Close()
				defer server.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := client.Read(buf)
					if n > 0 {
						script := bytes.Contains(bytes.ToLower(buf[:n]), []byte("evalsha"))
						cut.Store(script)
						if _, err := server.Write(buf[:n]); err != nil {
							return
						}
						if script {
							time.Sleep(100 * time.Millisecond) // Redis runs it meanwhile
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func TestAWriteWhoseConnectionIsLostAfterItWasSentIsNotSentAgain(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	rs := redistest.Start(t)
	direct := rs.Client()
	if err := createScript.Load(ctx, direct).Err(); err != nil {
		t.Fatal(err)
	}
	rdb := redis.NewClient(&redis.Options{Addr: cutAfterScript(t, rs.Addr), Password: rs.Password, MaxRetries: -1})
	t.Cleanup(func() { _ = rdb.Close() })
	h := &roundTrips{}
	rdb.AddHook(h)
	s := NewStore(rdb, Options{RetryTimeout: 2 * time.Second})

	_, err := s.Create(ctx, Input{Name: "Ada", Email: "ada@example.com"})
	if !errors.Is(err, ErrUnavailable) {
		t.Errorf("create whose reply was lost = %v; want ErrUnavailable: it may have run", err)
	}
	if single, pipelines, _ := h.counts(); single != 1 || len(pipelines) != 0 {
		t.Errorf("the create went out %d times alone and in pipelines %v; want once: it may have run", single, pipelines)
	}
	if n, err := direct.ZCard(ctx, listKey).Result(); n != 1 {
		t.Errorf("%d users stored (%v); want the one the create made before its connection was lost", n, err)
	}
}

func TestReadsAreServedByAReplicaWhileThePrimaryIsDown(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	primary, replica := redistest.Start(t), redistest.Start(t)
	// The replica's copy: the same users, written there directly.
	want := createUsers(t, NewStore(replica.Client(), Options{}), 3)
	primary.Kill()
	s := NewStore(redis.NewClient(&redis.Options{Addr: primary.Addr, Password: primary.Password, MaxRetries: -1, DialerRetries: 1}),
		Options{Replicas: replica.Client()})

	if got, err := s.Get(ctx, want[0].ID); err != nil || got != want[0] {
		t.Errorf("Get with the primary down = %+v, %v; want %+v from the replica", got, err, want[0])
	}
	if page, next, err := s.List(ctx, "", 10); err != nil || !slices.Equal(page, want) || next != "" {
		t.Errorf("List with the primary down = %v, %q, %v; want %v from the replica", page, next, err, want)
	}
	if err := s.Reachable(ctx); err != nil {
		t.Errorf("Reachable with the primary down and a replica up = %v; want nil", err)
	}
	if _, err := s.Create(ctx, Input{Name: "Bob", Email: "bob@example.com"}); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Create with the primary down = %v; want ErrUnavailable, never a write to a replica", err)
	}
	replica.Kill()
	if err := s.Reachable(ctx); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Reachable with nothing up = %v; want ErrUnavailable", err)
	}
	if _, err := s.Get(context.WithoutCancel(ctx), want[0].ID); !errors.Is(err, ErrUnavailable) {
		t.Errorf("Get with nothing up = %v; want ErrUnavailable", err)
	}
}
