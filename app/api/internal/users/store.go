package users

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
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

// readyKey is the key that Writable writes, and readyTTL how long it lives.
const (
	readyKey = "api:writable"
	readyTTL = time.Minute
)

// Store keeps users in Redis. Its methods expect inputs that passed
// validation; every Redis failure is returned wrapped in ErrUnavailable.
type Store struct {
	rdb        redis.UniversalClient
	batch      *batcher
	durability Durability
}

// NewStore returns a Store over rdb whose writes meet d. The reads and
// writes of concurrent calls share pipelines (see batcher), except writes
// that wait for replicas, which need a connection of their own for WAIT.
func NewStore(rdb redis.UniversalClient, d Durability) *Store {
	return &Store{rdb: rdb, batch: newBatcher(rdb, defaultMaxInFlight), durability: d}
}

// Writable returns nil if the store can take a write now, with the
// durability it was made with: it writes a short-lived key. A replica, or a
// primary without the replicas to confirm writes, answers PING but fails this.
func (s *Store) Writable(ctx context.Context) error {
	var acked *redis.Cmd
	_, err := s.rdb.Pipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, readyKey, formatTime(timestamp()), readyTTL)
		if s.durability.Replicas > 0 {
			acked = s.wait(ctx, p)
		}
		return nil
	})
	if err == nil && acked != nil {
		err = s.confirmed(acked)
	}
	if err != nil {
		return unavailable(err)
	}
	return nil
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
	r, err := s.get(ctx, id)
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
	reply, err := s.script(ctx, pageScript, []string{listKey}, start, limit, userKey("")).StringSlice()
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
		cur, err := s.get(ctx, id)
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
		cur, err := s.get(ctx, id)
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

// get reads the user with the id; an id the store cannot have made is not found.
func (s *Store) get(ctx context.Context, id string) (record, error) {
	if !ValidID(id) {
		return record{}, ErrNotFound
	}
	cmd := redis.NewMapStringStringCmd(ctx, "hgetall", userKey(id))
	_ = s.batch.do(ctx, cmd)
	fields, err := cmd.Result()
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

// eval runs one of the write scripts and turns its status reply into an error.
func (s *Store) eval(ctx context.Context, script *redis.Script, keys []string, args ...any) error {
	status, err := s.run(ctx, script, keys, args...)
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
		return s.script(ctx, script, keys, args...).Text()
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

// script runs script as EVALSHA through the batcher. A Redis that does not
// have the script cached (after a restart or a failover) answers NOSCRIPT;
// then the script goes again, alone, as EVAL with its source, which caches it.
func (s *Store) script(ctx context.Context, script *redis.Script, keys []string, args ...any) *redis.Cmd {
	cmdArgs := make([]any, 0, 3+len(keys)+len(args))
	cmdArgs = append(cmdArgs, "evalsha", script.Hash(), len(keys))
	for _, k := range keys {
		cmdArgs = append(cmdArgs, k)
	}
	cmdArgs = append(cmdArgs, args...)
	cmd := redis.NewCmd(ctx, cmdArgs...)
	if err := s.batch.do(ctx, cmd); err != nil && redis.HasErrorPrefix(err, "NOSCRIPT") {
		return script.Eval(ctx, s.rdb, keys, args...)
	}
	return cmd
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
