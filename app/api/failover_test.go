package main

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

// failoverBound is the longest the API may go without acknowledging a write
// after its primary is lost. Sentinels here declare a primary down after
// 500ms (down-after-milliseconds), or 5s as prod's do; the rest is their
// election, the promotion and the API finding the new primary.
const failoverBound = 10 * time.Second

// sentinelEnv is a configuration to run the API over g through its Sentinels,
// with the passwords in files and every write confirmed by one replica.
func sentinelEnv(t *testing.T, g *redistest.Group) map[string]string {
	dir := t.TempDir()
	for name, secret := range map[string]string{"redis": g.Password, "sentinel": g.SentinelPassword} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return map[string]string{
		"LISTEN_HOST":                  "127.0.0.1",
		"PORT":                         "0",
		"REDIS_SENTINEL_ADDRS":         strings.Join(g.SentinelAddrs(), ","),
		"REDIS_SENTINEL_MASTER":        g.Master,
		"REDIS_SENTINEL_PASSWORD_FILE": filepath.Join(dir, "sentinel"),
		"REDIS_PASSWORD_FILE":          filepath.Join(dir, "redis"),
		"REDIS_WAIT_REPLICAS":          "1",
		"REDIS_WAIT_TIMEOUT":           "500ms",
		"LOG_LEVEL":                    "debug",
	}
}

// outcome is the outcome of one request sent during a failover test.
type outcome struct {
	write          bool
	sent, answered time.Time
	status         int
	// id is the user a write created.
	id string
}

// ok reports whether the request succeeded: 201 for a create, 200 for a read.
func (o outcome) ok() bool {
	return o.write && o.status == http.StatusCreated || !o.write && o.status == http.StatusOK
}

// loadClient sends one request at a time; its timeout is above the API's
// retry budget, so a slow answer counts as slow, not as failed.
func loadClient() *http.Client {
	return &http.Client{Timeout: 30 * time.Second}
}

// runLoad sends requests from writers, which create users, and readers,
// which read users of seeded by id and the first page of the listing,
// each waiting for its answer before the next, until stop is closed, and
// returns every outcome.
func runLoad(in *instance, writers, readers int, seeded []string, stop <-chan struct{}) []outcome {
	var mu sync.Mutex
	var outcomes []outcome
	record := func(o outcome) {
		mu.Lock()
		outcomes = append(outcomes, o)
		mu.Unlock()
		if !o.ok() {
			time.Sleep(20 * time.Millisecond) // no busy loop while requests fail
		}
	}
	stopped := func() bool {
		select {
		case <-stop:
			return true
		default:
			return false
		}
	}
	var wg sync.WaitGroup
	for c := range writers {
		wg.Go(func() {
			client := loadClient()
			for i := 0; !stopped(); i++ {
				o := outcome{write: true, sent: time.Now()}
				body := fmt.Sprintf(`{"name":"load %d-%d","email":"load-%d-%d@example.com"}`, c, i, c, i)
				resp, err := client.Post(in.url+"/api/users", "application/json", strings.NewReader(body))
				o.answered = time.Now()
				if err == nil {
					var u struct{ ID string }
					_ = json.NewDecoder(resp.Body).Decode(&u)
					resp.Body.Close()
					o.status, o.id = resp.StatusCode, u.ID
				}
				record(o)
			}
		})
	}
	for range readers {
		wg.Go(func() {
			client := loadClient()
			for i := 0; !stopped(); i++ {
				path := "/api/users/" + seeded[rand.IntN(len(seeded))]
				if i%4 == 3 {
					path = "/api/users?limit=10"
				}
				o := outcome{sent: time.Now()}
				resp, err := client.Get(in.url + path)
				o.answered = time.Now()
				if err == nil {
					_ = resp.Body.Close()
					o.status = resp.StatusCode
				}
				record(o)
			}
		})
	}
	wg.Wait()
	return outcomes
}

// rehearsal is the API over a Sentinel group under read and write load, to
// which a test does something a cluster may do to Redis.
type rehearsal struct {
	t       *testing.T
	g       *redistest.Group
	in      *instance
	primary *redistest.Server
	stop    chan struct{}
	done    chan []outcome
}

// Load while a failover test runs: four clients writing and four reading,
// as the three-node rehearsal ran.
const (
	loadWriters = 4
	loadReaders = 4
)

// startRehearsal starts a group, the API over it, creates users for the
// readers to read, waits until every replica has them, and starts the load.
func startRehearsal(t *testing.T, opts redistest.GroupOptions, env map[string]string) *rehearsal {
	g := redistest.StartGroup(t, opts)
	e := sentinelEnv(t, g)
	for k, v := range env {
		e[k] = v
	}
	in := startRun(t, e)
	in.waitForStatus(t, "/readyz", http.StatusOK)
	seeded := make([]string, 50)
	for i := range seeded {
		status, body := in.do(t, http.MethodPost, "/api/users", fmt.Sprintf(`{"name":"seed %d","email":"seed-%d@example.com"}`, i, i))
		var u struct{ ID string }
		if err := json.Unmarshal([]byte(body), &u); status != http.StatusCreated || err != nil {
			t.Fatalf("seed user %d: %d %s", i, status, body)
		}
		seeded[i] = u.ID
	}
	primary, err := g.Primary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if err := g.WaitSynced(t.Context(), primary); err != nil {
		t.Fatal(err)
	}
	r := &rehearsal{t: t, g: g, in: in, primary: primary, stop: make(chan struct{}), done: make(chan []outcome, 1)}
	go func() { r.done <- runLoad(in, loadWriters, loadReaders, seeded, r.stop) }()
	time.Sleep(time.Second)
	return r
}

// figures are what a failover test measures.
type figures struct {
	reads, failedReads int
	// failedReadsFor spans the failed reads: from the first one sent to the
	// last one answered.
	failedReadsFor time.Duration
	// slowestRead is the longest a read took.
	slowestRead time.Duration
	// acked counts the writes acknowledged with 201, ackedBefore those
	// answered before the disruption; failedWrites got anything else.
	acked, ackedBefore, failedWrites int
	// longestGap is the longest time without an acknowledged write: between
	// two, from the disruption to the first after it, or from the last to
	// the end of the load.
	longestGap time.Duration
	// lost are acknowledged writes missing from the primary at the end.
	lost []string
}

func (f figures) String() string {
	return fmt.Sprintf("%d reads, %d failed (for %s), slowest %s; %d writes acknowledged (%d before), %d failed; "+
		"longest gap between acknowledged writes %s; %d acknowledged writes lost",
		f.reads, f.failedReads, f.failedReadsFor.Round(time.Millisecond), f.slowestRead.Round(time.Millisecond),
		f.acked, f.ackedBefore, f.failedWrites, f.longestGap.Round(time.Millisecond), len(f.lost))
}

// finish stops the load, checks that every acknowledged write is on the
// primary the Sentinels name, and logs the figures as "failover: what: ...".
func (r *rehearsal) finish(what string, disrupted time.Time) figures {
	t := r.t
	stopped := time.Now()
	close(r.stop)
	outcomes := <-r.done
	var f figures
	var firstFailed, lastFailed time.Time
	var acks []time.Time
	for _, o := range outcomes {
		switch {
		case !o.write:
			f.reads++
			f.slowestRead = max(f.slowestRead, o.answered.Sub(o.sent))
			if !o.ok() {
				f.failedReads++
				if firstFailed.IsZero() || o.sent.Before(firstFailed) {
					firstFailed = o.sent
				}
				if o.answered.After(lastFailed) {
					lastFailed = o.answered
				}
			}
		case o.ok():
			f.acked++
			acks = append(acks, o.answered)
			if o.answered.Before(disrupted) {
				f.ackedBefore++
			}
		default:
			f.failedWrites++
		}
	}
	if f.failedReads > 0 {
		f.failedReadsFor = lastFailed.Sub(firstFailed)
	}
	acks = append(acks, disrupted, stopped)
	slices.SortFunc(acks, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(acks); i++ {
		f.longestGap = max(f.longestGap, acks[i].Sub(acks[i-1]))
	}

	primary, err := r.g.Primary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	rdb := primary.Client()
	pipe := rdb.Pipeline()
	var ids []string
	var exists []*redis.IntCmd
	for _, o := range outcomes {
		if o.write && o.ok() {
			ids = append(ids, o.id)
			exists = append(exists, pipe.Exists(t.Context(), "user:"+o.id))
		}
	}
	if _, err := pipe.Exec(t.Context()); err != nil {
		t.Fatalf("check the acknowledged writes on %s: %v", primary.Addr, err)
	}
	for i, c := range exists {
		if c.Val() != 1 {
			f.lost = append(f.lost, ids[i])
		}
	}
	// The figures for the README: go test -v -run Sentinel .
	t.Logf("failover: %s: %s", what, f)
	if f.ackedBefore == 0 {
		t.Error("no write was acknowledged before the disruption: the load did not run")
	}
	if len(f.lost) > 0 {
		t.Errorf("%d acknowledged writes are missing from the primary %s: %s", len(f.lost), primary.Addr, strings.Join(f.lost, ", "))
	}
	return f
}

// handoverEnv is the configuration of the API for a handover that pauses
// writes (redistest.Group.HandOver): while they are paused, a replica
// acknowledges a write only with its acknowledgement of every second, so a
// WAIT that must confirm it needs a timeout above 1s.
var handoverEnv = map[string]string{"REDIS_WAIT_TIMEOUT": "1500ms"}

// handoverBound is the longest a planned handover may keep the API from
// acknowledging writes: the Sentinels take about a second to announce the
// promotion, during which writes wait on the paused primary, then get
// READONLY and go to the new one.
const handoverBound = 2500 * time.Millisecond

// handOver moves the primary through Sentinel i, as the preStop hook of a
// Redis pod that is being drained should (see redistest.Group.HandOver),
// then stops the old primary, as the pod stops, though not at once: until
// then it answers every write READONLY, and the API must not keep sending
// them there.
func (r *rehearsal) handOver(i int) {
	t := r.t
	if _, err := r.g.HandOver(t.Context(), i, r.primary); err != nil {
		t.Fatal(err)
	}
	if _, err := r.g.WaitForNewPrimary(t.Context(), r.primary); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3 * time.Second)
	r.primary.Kill()
}

// How long a read may take while the primary is gone: a replica answers as
// soon as the primary has failed it, which a dead server does at once (its
// connections are refused or reset) and one that hangs after the read
// timeout (redisTimeout), not when the Sentinels have replaced it.
const (
	readBoundDeadPrimary = time.Second
	readBoundHungPrimary = redisTimeout + time.Second
)

func TestSentinelKilledPrimaryFailsNoReadAndTheAPIWritesAgainWithinTheBoundLosingNoAcknowledgedWrite(t *testing.T) {
	r := startRehearsal(t, redistest.GroupOptions{}, nil)
	killed := time.Now()
	r.primary.Kill()
	if _, err := r.g.WaitForNewPrimary(t.Context(), r.primary); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	f := r.finish("primary killed (SIGKILL)", killed)
	f.checkPrimaryLost(t, readBoundDeadPrimary, "a replica answers at once")
}

// checkPrimaryLost fails t unless no read failed and none took longer than readBound (why: the
// reason it may take that long), at most the writes in flight when the primary went failed, and
// the API acknowledged a write again within the failover bound.
func (f figures) checkPrimaryLost(t *testing.T, readBound time.Duration, why string) {
	t.Helper()
	if f.failedReads > 0 {
		t.Errorf("%d of %d reads failed; want none: a replica has every user", f.failedReads, f.reads)
	}
	if f.slowestRead > readBound {
		t.Errorf("a read took %s; want at most %s: %s", f.slowestRead, readBound, why)
	}
	// Each writer had at most one write in flight when the primary went:
	// those may have run, and fail. No other write may fail or be sent to it.
	if f.failedWrites > loadWriters {
		t.Errorf("%d writes failed; want at most the %d in flight when the primary went", f.failedWrites, loadWriters)
	}
	if f.longestGap > failoverBound {
		t.Errorf("the API went %s without acknowledging a write; want at most %s", f.longestGap, failoverBound)
	}
}

func TestSentinelFrozenPrimaryFailsNoReadAndTheAPIWritesAgainWithinTheBoundLosingNoAcknowledgedWrite(t *testing.T) {
	// The Sentinels wait as long as prod's do before they act.
	r := startRehearsal(t, redistest.GroupOptions{DownAfter: 5 * time.Second}, nil)
	// As a node that hangs, with the primary and a Sentinel on it:
	// connections to them open, then nothing answers.
	frozen := time.Now()
	r.primary.Freeze()
	r.g.Sentinels[0].Freeze()
	if _, err := r.g.WaitForNewPrimary(t.Context(), r.primary); err != nil {
		t.Fatal(err)
	}
	time.Sleep(2 * time.Second)
	// The node comes back, its Redis a primary until the Sentinels demote it.
	r.primary.Thaw()
	r.g.Sentinels[0].Thaw()
	time.Sleep(2 * time.Second)
	f := r.finish("primary and a Sentinel frozen (SIGSTOP) with down-after-milliseconds 5000, then thawed", frozen)
	f.checkPrimaryLost(t, readBoundHungPrimary, "one read timeout, then a replica")
}

func TestSentinelHandoverFailsNoRequestAndLosesNoAcknowledgedWrite(t *testing.T) {
	r := startRehearsal(t, redistest.GroupOptions{}, handoverEnv)
	began := time.Now()
	r.handOver(0)
	time.Sleep(time.Second)
	f := r.finish("planned handover (SENTINEL FAILOVER), then the old primary stopped", began)
	if f.failedReads+f.failedWrites > 0 {
		t.Errorf("%d reads and %d writes failed during a planned handover; want none", f.failedReads, f.failedWrites)
	}
	if f.longestGap > handoverBound {
		t.Errorf("the API went %s without acknowledging a write; want at most %s", f.longestGap, handoverBound)
	}
}

func TestSentinelGoneTheAPIStillFollowsAHandoverWithoutFailingRequests(t *testing.T) {
	r := startRehearsal(t, redistest.GroupOptions{}, handoverEnv)
	used, err := r.g.SubscribedSentinel(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	began := time.Now()
	// As the Sentinel on a drained or frozen node: its address takes
	// connections that nothing answers.
	r.g.Sentinels[used].Freeze()
	r.handOver((used + 1) % len(r.g.Sentinels))
	time.Sleep(time.Second)
	f := r.finish(fmt.Sprintf("the Sentinel the API used (%d of %d) frozen, then a planned handover", used, len(r.g.Sentinels)), began)
	if f.failedReads+f.failedWrites > 0 {
		t.Errorf("%d reads and %d writes failed; want none", f.failedReads, f.failedWrites)
	}
	if f.longestGap > handoverBound {
		t.Errorf("the API went %s without acknowledging a write; want at most %s", f.longestGap, handoverBound)
	}
}

func TestReadinessHoldsWhileAReplicaAnswersAndFailsOnlyWhenNoRedisAnswers(t *testing.T) {
	t.Parallel()
	// Sentinels that never fail over here: the primary stays down.
	g := redistest.StartGroup(t, redistest.GroupOptions{DownAfter: time.Minute})
	env := sentinelEnv(t, g)
	env["REDIS_RETRY_TIMEOUT"] = "500ms"
	in := startRun(t, env)
	in.waitForStatus(t, "/readyz", http.StatusOK)
	status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Ada","email":"ada@example.com"}`)
	var u struct{ ID string }
	if err := json.Unmarshal([]byte(body), &u); status != http.StatusCreated || err != nil {
		t.Fatalf("create: %d %s", status, body)
	}

	g.Servers[0].Kill()
	// Probes every 100ms for 2s: every one must pass, as reads still can.
	for range 20 {
		if status, body := in.do(t, http.MethodGet, "/readyz", ""); status != http.StatusOK {
			t.Fatalf("/readyz with the primary down and replicas up: %d %s; want 200", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if status, body := in.do(t, http.MethodGet, "/api/users/"+u.ID, ""); status != http.StatusOK {
		t.Errorf("read with the primary down: %d %s; want 200 from a replica", status, body)
	}
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Bob","email":"bob@example.com"}`); status != http.StatusServiceUnavailable {
		t.Errorf("create with the primary down: %d %s; want 503", status, body)
	}

	for _, replica := range g.Servers[1:] {
		replica.Kill()
	}
	in.waitForStatus(t, "/readyz", http.StatusServiceUnavailable)
	g.Servers[1].Restart()
	in.waitForStatus(t, "/readyz", http.StatusOK)
}

func TestWritesFailWhileNoReplicaCanConfirmThemWithoutFailingReadinessAndRecover(t *testing.T) {
	t.Parallel()
	g := redistest.StartGroup(t, redistest.GroupOptions{})
	in := startRun(t, sentinelEnv(t, g))
	in.waitForStatus(t, "/readyz", http.StatusOK)

	// The primary still answers, but no replica can confirm a write.
	for _, replica := range g.Servers[1:] {
		replica.Kill()
	}
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Ada","email":"ada@example.com"}`); status != http.StatusServiceUnavailable {
		t.Errorf("create with every replica down: %d %s; want 503", status, body)
	}
	// Not a reason to take the API out of service: every instance shares it,
	// and reads still work.
	if status, body := in.do(t, http.MethodGet, "/readyz", ""); status != http.StatusOK {
		t.Errorf("/readyz with every replica down: %d %s; want 200, the primary answers", status, body)
	}

	g.Servers[1].Restart()
	deadline := time.Now().Add(10 * time.Second)
	// A new email each time: a create that answered 503 may still be stored.
	for i := 2; ; i++ {
		status, body := in.do(t, http.MethodPost, "/api/users", fmt.Sprintf(`{"name":"Ada","email":"ada%d@example.com"}`, i))
		if status == http.StatusCreated {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("create with a replica back: %d %s; want 201 within 10s", status, body)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
