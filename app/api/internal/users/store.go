package users

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"
)

// Redis layout. Every write that touches more than one key runs as a Lua
// script, so the three stay consistent however writes race.
//
//	user:{id}                  hash: id, name, email, createdAt, updatedAt, rev
//	user:email:{lower(email)}  string: the id of the user with that email
//	users:list                 sorted set of ids, all scored 0, so ordered by
//	                           id; UUIDv7 ids sort by creation time
const listKey = "users:list"

func userKey(id string) string     { return "user:" + id }
func emailKey(email string) string { return "user:email:" + strings.ToLower(email) }

// maxAttempts bounds the read-then-compare-and-swap loop of Update and Delete.
// A write only retries after a concurrent update of the same user succeeded.
const maxAttempts = 10

var (
	//go:embed lua/create.lua
	createLua    string
	createScript = redis.NewScript(createLua)

	//go:embed lua/update.lua
	updateLua    string
	updateScript = redis.NewScript(updateLua)

	//go:embed lua/page.lua
	pageLua    string
	pageScript = redis.NewScript(pageLua)

	//go:embed lua/delete.lua
	deleteLua    string
	deleteScript = redis.NewScript(deleteLua)
)

// errStale means a compare-and-swap script found a newer revision than the
// one read.
var errStale = errors.New("stale revision")

// Durability is what a write needs before the Store reports it done.
// Replication in Redis is asynchronous: a primary that crashes right after
// answering can take the write with it, unless a replica already had it.
type Durability struct {
	// Replicas is how many replicas must have confirmed a write (Redis WAIT)
	// before it counts as done; 0, the default, does not wait.
	Replicas int
	// Timeout bounds that wait. A write not confirmed in time fails with
	// ErrUnavailable, though the primary applied it and may keep it.
	Timeout time.Duration
}

// Options shape a Store.
type Options struct {
	// Durability is what a write needs before it counts as done.
	Durability Durability
	// Replicas, if not nil, is a client of the primary's replicas. A read
	// that the primary cannot answer (it is unreachable, hangs, or is being
	// handed over) is sent there: the answer is then a replica's copy, which
	// may lag the primary by a moment.
	Replicas redis.UniversalClient
	// RetryTimeout bounds how long a call keeps sending again a command that
	// did not run, or a read that got no answer, from its first failure: a
	// failover in progress. 0 tries each client once.
	RetryTimeout time.Duration
	// PrimaryFailed, if not nil, is told of each failure of a command to the
	// primary that is not an answer about the data: the connection, a
	// refusal such as READONLY, or a write that no replica confirmed.
	PrimaryFailed func(error)
}

// Store keeps users in Redis. Its methods expect inputs that passed
// validation; every Redis failure is returned wrapped in ErrUnavailable.
//
// A write is sent again, with backoff, within Options.RetryTimeout, only
// when its failure proves it did not run: no connection could be made,
// none was free, the connection refused to send it (the primary moved), or
// Redis refused it (READONLY, LOADING, MASTERDOWN, NOREPLICAS). A write that
// may have run (a timeout or a lost connection after it was sent, a WAIT
// that too few replicas answered) fails at once, so no write is applied
// twice.
type Store struct {
	// rdb and batch are the primary's client and its batcher.
	rdb   redis.UniversalClient
	batch *batcher
	// replicas are the replicas' client and batcher; nil without replicas.
	replicas *node

	durability    Durability
	retryTimeout  time.Duration
	primaryFailed func(error)
	// troubleAt is when a command to the primary last failed, in Unix
	// nanoseconds; for replicaFirstFor after it, reads go to a replica
	// first.
	troubleAt atomic.Int64
	// noReadOnlyScripts is set once Redis has said it has no EVALSHA_RO
	// (before 7.0); scripts that read then run as EVALSHA.
	noReadOnlyScripts atomic.Bool
}

// node is a client and its batcher.
type node struct {
	rdb   redis.UniversalClient
	batch *batcher
}

// replicaFirstFor is how long after a failure of the primary reads go to a
// replica first: long enough that while a primary hangs, each read does not
// wait for the read timeout again, short enough that reads return to the
// primary, which has every write, soon after it recovers.
const replicaFirstFor = 2 * time.Second

// Backoff between two rounds of retries: from minBackoff, doubling, up to
// maxBackoff, each with random jitter down to half of it so that waiting
// requests do not retry in step. maxBackoff is also about how late a write
// notices that a new primary is ready.
const (
	minBackoff = 25 * time.Millisecond
	maxBackoff = 250 * time.Millisecond
)

// NewStore returns a Store over the primary's client rdb. The reads and
// writes of concurrent calls share pipelines (see batcher), except writes
// that wait for replicas, which need a connection of their own for WAIT.
func NewStore(rdb redis.UniversalClient, opts Options) *Store {
	s := &Store{
		rdb:           rdb,
		batch:         newBatcher(rdb, defaultMaxInFlight),
		durability:    opts.Durability,
		retryTimeout:  opts.RetryTimeout,
		primaryFailed: opts.PrimaryFailed,
	}
	if opts.Replicas != nil {
		s.replicas = &node{rdb: opts.Replicas, batch: newBatcher(opts.Replicas, defaultMaxInFlight)}
	}
	return s
}

// primary returns the primary's client and batcher.
func (s *Store) primary() *node { return &node{rdb: s.rdb, batch: s.batch} }

// Reachable returns nil if the primary or a replica answers PING: the store
// can serve reads, if not writes. It says nothing of writes on purpose: a
// primary that is being replaced is a moment every instance of the API
// shares, and no reason to stop sending it the requests that replicas can
// answer. Both are asked at once, so a primary that hangs does not use up
// ctx before a replica is asked.
func (s *Store) Reachable(ctx context.Context) error {
	clients := []redis.UniversalClient{s.rdb}
	if s.replicas != nil {
		clients = append(clients, s.replicas.rdb)
	}
	errs := make(chan error, len(clients))
	for _, c := range clients {
		go func() { errs <- c.Ping(ctx).Err() }()
	}
	var failures []error
	for range clients {
		err := <-errs
		if err == nil {
			return nil
		}
		failures = append(failures, err)
	}
	return unavailable(errors.Join(failures...))
}

// Create stores a new user with a fresh id. It returns ErrEmailTaken if
// another user has the email.
func (s *Store) Create(ctx context.Context, in Input) (User, error) {
	id, err := uuid.NewV7()
	if err != nil {
		return User{}, fmt.Errorf("generate id: %w", err)
	}
	now := timestamp()
	u := User{ID: id.String(), Name: in.Name, Email: in.Email, CreatedAt: now, UpdatedAt: now}
	keys := []string{userKey(u.ID), emailKey(u.Email), listKey}
	if err := s.eval(ctx, createScript, keys, u.ID, u.Name, u.Email, formatTime(now)); err != nil {
		return User{}, err
	}
	return u, nil
}

// Get returns the user with the id, or ErrNotFound.
func (s *Store) Get(ctx context.Context, id string) (User, error) {
	r, err := s.get(ctx, id, true)
	return r.User, err
}

// List returns up to limit (at least 1) users, newest first, starting after
// the user with id after ("" to start with the newest). next is the id to pass as after for
// the following page, or "" when there is none. The page and its records
// are read in one round trip, by one script, so they are consistent with
// each other; a listed id whose record is missing is left out, so a page
// can be shorter than limit.
func (s *Store) List(ctx context.Context, after string, limit int) (page []User, next string, err error) {
	start := "+"
	if after != "" {
		start = "(" + after
	}
	var reply []string
	err = s.read(ctx, true, func(n *node) error {
		var err error
		reply, err = s.readScript(ctx, n, pageScript, []string{listKey}, start, limit, userKey("")).StringSlice()
		return err
	})
	if err != nil {
		return nil, "", unavailable(err)
	}
	return parsePage(reply)
}

// pageFields is how many fields page.lua returns for each user.
const pageFields = 5

// parsePage decodes the reply of page.lua.
func parsePage(reply []string) (page []User, next string, err error) {
	if len(reply) == 0 || (len(reply)-1)%pageFields != 0 {
		return nil, "", fmt.Errorf("unexpected reply of %d values from the page script", len(reply))
	}
	next, reply = reply[0], reply[1:]
	page = make([]User, 0, len(reply)/pageFields)
	for f := range slices.Chunk(reply, pageFields) {
		u, err := parseUser(f[0], f[1], f[2], f[3], f[4])
		if err != nil {
			return nil, "", err
		}
		page = append(page, u)
	}
	return page, next, nil
}

// Update applies p to the user with the id and returns the result. It returns
// ErrNotFound, ErrEmailTaken, or ErrConflict if the user kept changing
// concurrently.
func (s *Store) Update(ctx context.Context, id string, p Patch) (User, error) {
	for range maxAttempts {
		cur, err := s.get(ctx, id, false)
		if err != nil {
			return User{}, err
		}
		u := p.apply(cur.User)
		u.UpdatedAt = timestamp()
		keys := []string{userKey(id), emailKey(cur.Email), emailKey(u.Email)}
		switch err := s.eval(ctx, updateScript, keys, id, cur.rev, u.Name, u.Email, formatTime(u.UpdatedAt)); {
		case err == nil:
			return u, nil
		case !errors.Is(err, errStale):
			return User{}, err
		}
	}
	return User{}, ErrConflict
}

// Delete removes the user with the id. It returns ErrNotFound, or ErrConflict
// if the user kept changing concurrently.
func (s *Store) Delete(ctx context.Context, id string) error {
	for range maxAttempts {
		cur, err := s.get(ctx, id, false)
		if err != nil {
			return err
		}
		keys := []string{userKey(id), emailKey(cur.Email), listKey}
		err = s.eval(ctx, deleteScript, keys, id, cur.rev)
		if !errors.Is(err, errStale) {
			return err
		}
	}
	return ErrConflict
}

// record is a stored user with its revision, which every update changes.
type record struct {
	User
	rev string
}

// get reads the user with the id; an id the store cannot have made is not
// found. Update and Delete read from the primary only (fromReplica false):
// the revision they compare must be the latest.
func (s *Store) get(ctx context.Context, id string, fromReplica bool) (record, error) {
	if !ValidID(id) {
		return record{}, ErrNotFound
	}
	var fields map[string]string
	err := s.read(ctx, fromReplica, func(n *node) error {
		cmd := redis.NewMapStringStringCmd(ctx, "hgetall", userKey(id))
		_ = n.batch.do(ctx, cmd)
		var err error
		fields, err = cmd.Result()
		return err
	})
	if err != nil {
		return record{}, unavailable(err)
	}
	if len(fields) == 0 {
		return record{}, ErrNotFound
	}
	return parseRecord(fields)
}

// parseRecord decodes the fields of a user hash.
func parseRecord(fields map[string]string) (record, error) {
	u, err := parseUser(fields["id"], fields["name"], fields["email"], fields["createdAt"], fields["updatedAt"])
	return record{User: u, rev: fields["rev"]}, err
}

// parseUser decodes the stored fields of a user.
func parseUser(id, name, email, createdAt, updatedAt string) (User, error) {
	created, errCreated := time.Parse(time.RFC3339Nano, createdAt)
	updated, errUpdated := time.Parse(time.RFC3339Nano, updatedAt)
	if err := errors.Join(errCreated, errUpdated); err != nil {
		return User{}, fmt.Errorf("corrupt record of user %q: %w", id, err)
	}
	return User{ID: id, Name: name, Email: email, CreatedAt: created, UpdatedAt: updated}, nil
}

// eval runs one of the write scripts and turns its status reply into an
// error. It sends the script again while it fails in a way that proves it
// did not run (see Store).
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) error {
	var status string
	err := s.retry(ctx, func() error {
		var err error
		status, err = s.run(ctx, script, keys, args...)
		if err != nil {
			s.failed(ctx, err)
		}
		return err
	}, notRun)
	if err != nil {
		return unavailable(err)
	}
	switch status {
	case "OK":
		return nil
	case "NOT_FOUND":
		return ErrNotFound
	case "EMAIL_TAKEN":
		return ErrEmailTaken
	case "STALE":
		return errStale
	}
	return fmt.Errorf("unexpected reply %q from a Redis script", status)
}

// run runs script and returns its status reply. With Durability.Replicas, a
// script that wrote ("OK") then waits, on the same connection, until that
// many replicas have the write.
func (s *Store) run(ctx context.Context, script *redis.Script, keys []string, args ...any) (string, error) {
	if s.durability.Replicas == 0 {
		return s.script(ctx, s.primary(), script, false, keys, args...).Text()
	}
	// WAIT counts replicas that have everything the connection wrote, so it
	// must follow the script on the same connection: one pipeline.
	var status *redis.Cmd
	var acked *redis.Cmd
	for attempt := 0; ; attempt++ {
		_, _ = s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
			status = script.EvalSha(ctx, p, keys, args...)
			acked = s.wait(ctx, p)
			return nil
		})
		// A new primary, after a failover, has not cached the script yet.
		if attempt > 0 || !redis.HasErrorPrefix(status.Err(), "NOSCRIPT") {
			break
		}
		if err := script.Load(ctx, s.rdb).Err(); err != nil {
			return "", err
		}
	}
	text, err := status.Text()
	if err != nil || text != "OK" {
		return text, err
	}
	return text, s.confirmed(acked)
}

// readScript runs script, which only reads, on n: as EVALSHA_RO, which a
// replica runs and a primary runs even while its writes are paused (CLIENT
// PAUSE WRITE, as in a handover), or as EVALSHA on a Redis older than 7.0.
func (s *Store) readScript(ctx context.Context, n *node, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	if !s.noReadOnlyScripts.Load() {
		cmd := s.script(ctx, n, script, true, keys, args...)
		if !redis.HasErrorPrefix(cmd.Err(), "unknown command") {
			return cmd
		}
		s.noReadOnlyScripts.Store(true)
	}
	return s.script(ctx, n, script, false, keys, args...)
}

// script runs script on n as EVALSHA (EVALSHA_RO if readOnly) through its
// batcher. A Redis that does not have the script cached (after a restart or
// a failover) answers NOSCRIPT; then the script goes again, alone, as EVAL
// (EVAL_RO) with its source, which caches it.
func (s *Store) script(ctx context.Context, n *node, script *redis.Script, readOnly bool, keys []string, args ...any) *redis.Cmd {
	name := "evalsha"
	if readOnly {
		name = "evalsha_ro"
	}
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, name, script.Hash(), len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	if err := n.batch.do(ctx, cmd); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		if readOnly {
			return script.EvalRO(ctx, n.rdb, keys, args...)
		}
		return script.Eval(ctx, n.rdb, keys, args...)
	}
	return cmd
}

// read runs op, a read, on the primary, and when that fails for want of an
// answer (not for an answer about the data), on a replica if fromReplica and
// there are replicas, at once: the request waits for one failure, not for
// the primary to come back. It keeps trying the two in turn, with backoff,
// within the retry timeout. While the primary is in trouble, reads go to a
// replica first.
func (s *Store) read(ctx context.Context, fromReplica bool, op func(*node) error) error {
	nodes := []*node{s.primary()}
	if fromReplica && s.replicas != nil {
		if time.Since(time.Unix(0, s.troubleAt.Load())) < replicaFirstFor {
			nodes = []*node{s.replicas, nodes[0]}
		} else {
			nodes = append(nodes, s.replicas)
		}
	}
	attempt := 0
	try := func() error {
		n := nodes[attempt%len(nodes)]
		attempt++
		err := op(n)
		if err != nil && n.batch == s.batch {
			s.failed(ctx, err)
		}
		return err
	}
	return s.retry(ctx, func() error {
		err := try()
		// The other node at once, before any backoff.
		for err != nil && unanswered(err) && attempt%len(nodes) != 0 && ctx.Err() == nil {
			err = try()
		}
		return err
	}, unanswered)
}

// retry calls op until it succeeds or fails with an error that again does
// not accept, sleeping with backoff between calls, for at most the retry
// timeout from the first failure, and while ctx is not done.
func (s *Store) retry(ctx context.Context, op func() error, again func(error) bool) error {
	err := op()
	if err == nil || !again(err) {
		return err
	}
	deadline := time.Now().Add(s.retryTimeout)
	backoff := minBackoff
	for {
		wait := backoff/2 + rand.N(backoff/2+1)
		if time.Now().Add(wait).After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		backoff = min(2*backoff, maxBackoff)
		if err = op(); err == nil || !again(err) {
			return err
		}
	}
}

// failed records that a command to the primary failed with err, if err is
// not an answer about the data, nor the end of the caller's context.
func (s *Store) failed(ctx context.Context, err error) {
	if !unanswered(err) || ctx.Err() != nil {
		return
	}
	s.troubleAt.Store(time.Now().UnixNano())
	if s.primaryFailed != nil {
		s.primaryFailed(err)
	}
}

// notRun reports whether err proves that a command did not run: no
// connection could be made (a refusal, a timeout, no route, a name that does
// not resolve, no primary named), no connection was free in time, the
// connection refused to send it (it was to a primary that moved or stopped
// answering), or Redis refused it before running it: READONLY (a replica, or
// a primary being demoted), LOADING (a server loading its data), MASTERDOWN
// (a replica that lost its primary), NOREPLICAS (min-replicas-to-write).
func notRun(err error) bool {
	var op *net.OpError
	var notSent interface{ NotSent() bool }
	switch {
	case errors.As(err, &op) && op.Op == "dial",
		errors.As(err, &notSent) && notSent.NotSent(),
		errors.Is(err, redis.ErrPoolTimeout), errors.Is(err, redis.ErrPoolExhausted):
		return true
	}
	return redis.IsReadOnlyError(err) || redis.IsLoadingError(err) || redis.IsMasterDownError(err) || redis.IsNoReplicasError(err)
}

// unanswered reports whether a read failed for want of an answer about the
// data: any failure of the connection (a read runs again safely), or a
// failure that proves the command did not run.
func unanswered(err error) bool {
	var reply redis.Error
	return !errors.As(err, &reply) || notRun(err)
}

// wait queues WAIT on p: the replicas that have every write the connection
// made so far. (Pipeliner has no Wait; the read timeout of the client, which
// config keeps above Durability.Timeout, bounds the reply.)
func (s *Store) wait(ctx context.Context, p redis.Pipeliner) *redis.Cmd {
	return p.Do(ctx, "wait", s.durability.Replicas, s.durability.Timeout.Milliseconds())
}

// confirmed turns the reply of WAIT into an error if too few replicas
// confirmed.
func (s *Store) confirmed(acked *redis.Cmd) error {
	n, err := acked.Int64()
	if err != nil {
		return err
	}
	if n < int64(s.durability.Replicas) {
		return fmt.Errorf("%d of the %d replicas required confirmed the write within %s", n, s.durability.Replicas, s.durability.Timeout)
	}
	return nil
}

// unavailable marks err as a failure to reach or use Redis.
func unavailable(err error) error {
	return fmt.Errorf("%w: %w", ErrUnavailable, err)
}

// timestamp returns the current time as stored: UTC, to the millisecond.
func timestamp() time.Time {
	return time.Now().UTC().Truncate(time.Millisecond)
}

func formatTime(t time.Time) string {
	return t.Format(time.RFC3339Nano)
}
