package users

import (
	"context"
	"sync"

	"github.com/redis/go-redis/v9"
)

// batcher sends the Redis commands of concurrent requests together, in one
// pipeline per round trip, instead of one round trip (and one pool checkout,
// health check, write and read) per command.
//
// At most maxInFlight round trips are out at once. A command that finds a
// free slot goes out at once, alone, as it would without a batcher: an idle
// service adds no latency. A command that finds every slot taken queues; when
// a round trip comes back, its sender hands the whole queue, as the next
// pipeline, to the first command in it, which sends it and then does the
// same. Under load, one round trip carries everything that queued while the
// previous ones were out, so the cost of the socket I/O, in the API and in
// Redis, is shared by the requests that wait anyway.
//
// Commands are independent: a batch is a pipeline, not a transaction, and a
// failed command fails only its own request (a lost connection fails each
// command of the batch it carried, as it would have failed each alone).
type batcher struct {
	rdb         redis.UniversalClient
	maxInFlight int

	mu       sync.Mutex
	inFlight int
	queue    []*queued
}

// queued is a command waiting for a round trip.
type queued struct {
	cmd redis.Cmder
	// turn receives the batch this command is to send (which holds it), or
	// nil once another command's sender has its reply.
	turn chan []*queued
}

// defaultMaxInFlight is how many round trips a Store's batcher has out at
// once: enough that one slow reply does not hold up every request, few
// enough that under load commands queue and share pipelines.
const defaultMaxInFlight = 4

func newBatcher(rdb redis.UniversalClient, maxInFlight int) *batcher {
	return &batcher{rdb: rdb, maxInFlight: max(1, maxInFlight)}
}

// do runs cmd, alone or in a pipeline with the commands of other requests,
// and returns its error; its reply is in cmd. A command that waits in the
// queue keeps waiting when ctx ends: its round trip is bounded by the
// client's read and write timeouts, as a command sent at once is.
func (b *batcher) do(ctx context.Context, cmd redis.Cmder) error {
	b.mu.Lock()
	if b.inFlight < b.maxInFlight {
		b.inFlight++
		b.mu.Unlock()
		_ = b.rdb.Process(ctx, cmd)
		b.next()
		return cmd.Err()
	}
	q := &queued{cmd: cmd, turn: make(chan []*queued, 1)}
	b.queue = append(b.queue, q)
	b.mu.Unlock()
	if batch := <-q.turn; batch != nil {
		b.send(ctx, q, batch)
	}
	return cmd.Err()
}

// send runs batch, which self leads, as one pipeline, then passes the slot on
// and wakes the other commands of the batch.
func (b *batcher) send(ctx context.Context, self *queued, batch []*queued) {
	if len(batch) == 1 {
		_ = b.rdb.Process(ctx, self.cmd)
	} else {
		// Not self's cancellation: the pipeline carries other requests too.
		pctx := context.WithoutCancel(ctx)
		pipe := b.rdb.Pipeline()
		for _, q := range batch {
			_ = pipe.Process(pctx, q.cmd)
		}
		// Exec sets every command's own reply or error.
		_, _ = pipe.Exec(pctx)
	}
	b.next()
	for _, q := range batch {
		if q != self {
			q.turn <- nil
		}
	}
}

// next gives the slot of a finished round trip to the commands that queued
// meanwhile, as one batch, or frees it.
func (b *batcher) next() {
	b.mu.Lock()
	batch := b.queue
	b.queue = nil
	if len(batch) == 0 {
		b.inFlight--
	}
	b.mu.Unlock()
	if len(batch) > 0 {
		batch[0].turn <- batch
	}
}
