package users

import (
	"context"
	"errors"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// roundTrips is a go-redis hook that counts what the client sends, one
// command alone or a pipeline, and can hold them until released. The
// commands that set up a new connection (HELLO, CLIENT SETINFO) are not
// counted or held.
type roundTrips struct {
	mu        sync.Mutex
	single    int
	pipelines [][]string // the command names of each pipeline
	hold      chan struct{}
	held      int
}

func (h *roundTrips) DialHook(next redis.DialHook) redis.DialHook { return next }

func (h *roundTrips) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		if !connectionSetup(cmd) {
			h.wait(func() { h.single++ })
		}
		return next(ctx, cmd)
	}
}

func (h *roundTrips) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		if !slices.ContainsFunc(cmds, func(c redis.Cmder) bool { return !connectionSetup(c) }) {
			return next(ctx, cmds)
		}
		names := make([]string, len(cmds))
		for i, c := range cmds {
			names[i] = c.Name()
		}
		h.wait(func() { h.pipelines = append(h.pipelines, names) })
		return next(ctx, cmds)
	}
}

func connectionSetup(cmd redis.Cmder) bool {
	return slices.Contains([]string{"hello", "client", "auth", "select"}, cmd.Name())
}

// wait records a round trip, then blocks while the hook holds them.
func (h *roundTrips) wait(record func()) {
	h.mu.Lock()
	record()
	hold := h.hold
	if hold != nil {
		h.held++
	}
	h.mu.Unlock()
	if hold != nil {
		<-hold
	}
}

// holdAll makes round trips block until release.
func (h *roundTrips) holdAll() (release func()) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hold, h.held = make(chan struct{}), 0
	hold := h.hold
	return func() {
		h.mu.Lock()
		h.hold = nil
		h.mu.Unlock()
		close(hold)
	}
}

func (h *roundTrips) counts() (single int, pipelines [][]string, held int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.single, slices.Clone(h.pipelines), h.held
}

// newCountedStore returns a Store whose client reports its round trips to
// the hook it also returns.
func newCountedStore(t *testing.T) (*Store, *redis.Client, *roundTrips) {
	s, rdb := newTestStore(t)
	h := &roundTrips{}
	rdb.AddHook(h)
	return s, rdb, h
}

// waitFor polls cond, which the code under test makes true without a signal
// the test can wait on, failing t after a generous bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting until %s", what)
		}
	}
}

func (b *batcher) queued() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.queue)
}

func TestAReadOnAnIdleStoreGoesOutAtOnceAlone(t *testing.T) {
	s, _, h := newCountedStore(t)
	u := createUsers(t, s, 1)[0]
	before, _, _ := h.counts()
	if got, err := s.Get(t.Context(), u.ID); err != nil || got != u {
		t.Fatalf("Get = %+v, %v; want %+v", got, err, u)
	}
	if single, pipelines, _ := h.counts(); single-before != 1 || len(pipelines) != 0 {
		t.Errorf("a read went out as %d commands and pipelines %v; want one command alone", single-before, pipelines)
	}
}

func TestReadsThatArriveWhileRoundTripsAreOutShareOnePipeline(t *testing.T) {
	s, _, h := newCountedStore(t)
	want := createUsers(t, s, 30)
	before, _, _ := h.counts()
	release := h.holdAll()
	type result struct {
		u   User
		err error
	}
	results := make([]chan result, len(want))
	get := func(i int) {
		results[i] = make(chan result, 1)
		go func() {
			u, err := s.Get(t.Context(), want[i].ID)
			results[i] <- result{u, err}
		}()
	}
	// The first reads take every slot and are held on their way out ...
	for i := range defaultMaxInFlight {
		get(i)
	}
	waitFor(t, "every slot holds a read", func() bool { _, _, held := h.counts(); return held == defaultMaxInFlight })
	// ... so the others queue.
	for i := defaultMaxInFlight; i < len(want); i++ {
		get(i)
	}
	waitFor(t, "the other reads queue", func() bool { return s.batch.queued() == len(want)-defaultMaxInFlight })
	release()
	for i, r := range results {
		if got := <-r; got.err != nil || got.u != want[i] {
			t.Errorf("read %d = %+v, %v; want %+v", i, got.u, got.err, want[i])
		}
	}
	single, pipelines, _ := h.counts()
	queued := len(want) - defaultMaxInFlight
	if single-before != defaultMaxInFlight || len(pipelines) != 1 || len(pipelines[0]) != queued {
		t.Errorf("%d reads went out alone and pipelines of %v; want %d alone (one per slot) and one pipeline of the %d queued reads",
			single-before, pipelines, defaultMaxInFlight, queued)
	}
}

// queueBehindHeldReads holds every slot with reads of id, then starts each
// of fns in its own goroutine, in order, each once the one before it has
// queued, and releases the slots once all of fns are queued. It returns
// when every fn has returned.
func queueBehindHeldReads(t *testing.T, s *Store, h *roundTrips, id string, fns ...func()) {
	t.Helper()
	release := h.holdAll()
	var wg sync.WaitGroup
	for range defaultMaxInFlight {
		wg.Go(func() { _, _ = s.Get(context.Background(), id) })
	}
	waitFor(t, "every slot holds a read", func() bool { _, _, held := h.counts(); return held == defaultMaxInFlight })
	for i, fn := range fns {
		wg.Go(fn)
		waitFor(t, "the call queues", func() bool { return s.batch.queued() == i+1 })
	}
	release()
	wg.Wait()
}

func TestACommandThatFailsInASharedPipelineFailsOnlyItsOwnRequest(t *testing.T) {
	s, rdb, h := newCountedStore(t)
	u := createUsers(t, s, 1)[0]
	// A key of the wrong type makes HGETALL of that id fail in Redis.
	broken := "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"
	if err := rdb.Set(t.Context(), userKey(broken), "not a hash", 0).Err(); err != nil {
		t.Fatal(err)
	}
	var brokenErr, okErr error
	var got User
	queueBehindHeldReads(t, s, h, u.ID,
		func() { _, brokenErr = s.Get(context.Background(), broken) },
		func() { got, okErr = s.Get(context.Background(), u.ID) },
	)
	if !errors.Is(brokenErr, ErrUnavailable) || !strings.Contains(brokenErr.Error(), "WRONGTYPE") {
		t.Errorf("the read of a key of the wrong type = %v; want ErrUnavailable with Redis' WRONGTYPE", brokenErr)
	}
	if okErr != nil || got != u {
		t.Errorf("the read beside it = %+v, %v; want %+v", got, okErr, u)
	}
	if _, pipelines, _ := h.counts(); len(pipelines) != 1 || len(pipelines[0]) != 2 {
		t.Errorf("pipelines %v; want the two reads in one", pipelines)
	}
}

func TestARequestWhoseContextEndsWhileQueuedDoesNotFailTheOthersInItsPipeline(t *testing.T) {
	s, _, h := newCountedStore(t)
	users := createUsers(t, s, 2)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	var got User
	var err error
	queueBehindHeldReads(t, s, h, users[0].ID,
		// First in the queue, so it sends the pipeline, with its context done.
		func() { _, _ = s.Get(cancelled, users[0].ID) },
		func() { got, err = s.Get(context.Background(), users[1].ID) },
	)
	if err != nil || got != users[1] {
		t.Errorf("the read that shared a pipeline with a cancelled request = %+v, %v; want %+v", got, err, users[1])
	}
	if _, pipelines, _ := h.counts(); len(pipelines) != 1 || len(pipelines[0]) != 2 {
		t.Errorf("pipelines %v; want the two reads in one", pipelines)
	}
}

func TestScriptsInASharedPipelineRunAgainAfterRedisForgetsThem(t *testing.T) {
	s, rdb, h := newCountedStore(t)
	want := createUsers(t, s, 3)
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	pages := make([][]User, 3)
	errs := make([]error, 3)
	var created User
	var createErr error
	queueBehindHeldReads(t, s, h, want[0].ID,
		func() { pages[0], _, errs[0] = s.List(context.Background(), "", 3) },
		func() { pages[1], _, errs[1] = s.List(context.Background(), "", 3) },
		func() { pages[2], _, errs[2] = s.List(context.Background(), "", 3) },
		func() {
			created, createErr = s.Create(context.Background(), Input{Name: "Grace", Email: "grace@example.com"})
		},
	)
	// Each script runs again alone, in no set order: a page may hold the
	// user created beside it.
	for i := range pages {
		if errs[i] != nil || !slices.Equal(pages[i], want) && !(len(pages[i]) == 3 && pages[i][0] == created && slices.Equal(pages[i][1:], want[:2])) {
			t.Errorf("page %d after SCRIPT FLUSH = %v, %v; want the users %v (or the new one and the first two)", i, pages[i], errs[i], want)
		}
	}
	if createErr != nil {
		t.Errorf("create after SCRIPT FLUSH = %v", createErr)
	} else if got, err := s.Get(t.Context(), created.ID); err != nil || got != created {
		t.Errorf("the user created after SCRIPT FLUSH reads back as %+v, %v; want %+v", got, err, created)
	}
	if _, pipelines, _ := h.counts(); len(pipelines) != 1 || len(pipelines[0]) != 4 {
		t.Errorf("pipelines %v; want the four scripts in one", pipelines)
	}
	checkConsistent(t, rdb)
}

func TestReadsFailWithErrUnavailableWhenRedisIsGoneAndNoneIsLeftWaiting(t *testing.T) {
	t.Parallel()
	// A client of a port nothing listens on: every round trip fails.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	s := NewStore(redis.NewClient(&redis.Options{Addr: addr, MaxRetries: -1, DialTimeout: time.Second}), Options{})
	var wg sync.WaitGroup
	errs := make([]error, 50)
	for i := range errs {
		wg.Go(func() { _, errs[i] = s.Get(t.Context(), "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f") })
	}
	wg.Wait()
	for i, err := range errs {
		if !errors.Is(err, ErrUnavailable) {
			t.Fatalf("read %d with Redis gone = %v; want ErrUnavailable", i, err)
		}
	}
	if n := s.batch.queued(); n != 0 {
		t.Errorf("%d reads still queued after every read returned", n)
	}
}
