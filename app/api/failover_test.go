package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

// failoverBound is the longest the API may go without acknowledging a write
// after its primary is killed. Sentinels here declare a primary down after
// 500ms (down-after-milliseconds); the rest is their election, the promotion
// and the API finding the new primary.
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

// write is the outcome of one create sent during a failover test.
type write struct {
	sent, answered time.Time
	status         int
	id             string
}

// writeLoad sends creates from a few clients, each waiting for its answer
// before the next, until stop is closed, and returns every outcome.
func writeLoad(in *instance, clients int, stop <-chan struct{}) []write {
	var mu sync.Mutex
	var writes []write
	var wg sync.WaitGroup
	for c := range clients {
		wg.Go(func() {
			client := &http.Client{Timeout: 5 * time.Second}
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				w := write{sent: time.Now()}
				body := fmt.Sprintf(`{"name":"load %d-%d","email":"load-%d-%d@example.com"}`, c, i, c, i)
				resp, err := client.Post(in.url+"/api/users", "application/json", strings.NewReader(body))
				w.answered = time.Now()
				if err == nil {
					var u struct{ ID string }
					_ = json.NewDecoder(resp.Body).Decode(&u)
					resp.Body.Close()
					w.status, w.id = resp.StatusCode, u.ID
				}
				mu.Lock()
				writes = append(writes, w)
				mu.Unlock()
				if w.status != http.StatusCreated {
					time.Sleep(20 * time.Millisecond) // no busy loop while writes fail
				}
			}
		})
	}
	wg.Wait()
	return writes
}

func TestSentinelFailoverTheAPIWritesAgainWithinTheBoundAndLosesNoAcknowledgedWrite(t *testing.T) {
	t.Parallel()
	g := redistest.StartGroup(t, redistest.GroupOptions{})
	in := startRun(t, sentinelEnv(t, g))
	in.waitForStatus(t, "/readyz", http.StatusOK)

	stop := make(chan struct{})
	done := make(chan []write)
	go func() { done <- writeLoad(in, 4, stop) }()
	time.Sleep(time.Second)
	primary, err := g.Primary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	primary.Kill()
	// Wait for the new primary, then keep writing to it for a moment.
	in.waitForStatus(t, "/readyz", http.StatusOK)
	time.Sleep(time.Second)
	close(stop)
	writes := <-done

	var acked, failed, ackedBefore int
	var recovered time.Time
	for _, w := range writes {
		switch {
		case w.status != http.StatusCreated:
			failed++
			continue
		case w.answered.Before(killed):
			ackedBefore++
		case w.sent.After(killed) && (recovered.IsZero() || w.answered.Before(recovered)):
			recovered = w.answered
		}
		acked++
	}
	if recovered.IsZero() {
		t.Fatalf("no write sent after the primary was killed was acknowledged (%d writes, %d failed)", len(writes), failed)
	}
	outage := recovered.Sub(killed)

	// Every acknowledged write must be on the new primary.
	var lost []string
	for _, w := range writes {
		if w.status != http.StatusCreated {
			continue
		}
		if status, _ := in.do(t, http.MethodGet, "/api/users/"+w.id, ""); status != http.StatusOK {
			lost = append(lost, fmt.Sprintf("%s (GET: %d)", w.id, status))
		}
	}
	newPrimary, err := g.Primary(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	// The figures for the README: go test -v -run SentinelFailover .
	t.Logf("failover: primary %s killed, %s promoted; API writing again after %s (bound %s); "+
		"%d writes acknowledged (%d before the kill), %d failed with 503 meanwhile, %d acknowledged writes lost",
		primary.Addr, newPrimary.Addr, outage.Round(time.Millisecond), failoverBound, acked, ackedBefore, failed, len(lost))

	if newPrimary == primary {
		t.Errorf("Sentinel still names the killed server %s as primary", primary.Addr)
	}
	if outage > failoverBound {
		t.Errorf("the API wrote again %s after the primary was killed; want within %s", outage, failoverBound)
	}
	if ackedBefore == 0 {
		t.Error("no write was acknowledged before the kill: the load did not run")
	}
	if len(lost) > 0 {
		t.Errorf("%d acknowledged writes are missing after the failover: %s", len(lost), strings.Join(lost, ", "))
	}
}

func TestReadinessFailsWhileNoReplicaCanConfirmWritesAndRecovers(t *testing.T) {
	t.Parallel()
	g := redistest.StartGroup(t, redistest.GroupOptions{})
	in := startRun(t, sentinelEnv(t, g))
	in.waitForStatus(t, "/readyz", http.StatusOK)

	// The primary still answers PING, but no replica can confirm a write.
	for _, replica := range g.Servers[1:] {
		replica.Kill()
	}
	if status, body := in.do(t, http.MethodGet, "/readyz", ""); status != http.StatusServiceUnavailable {
		t.Errorf("/readyz with every replica down: %d %s; want 503", status, body)
	}
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Ada","email":"ada@example.com"}`); status != http.StatusServiceUnavailable {
		t.Errorf("create with every replica down: %d %s; want 503", status, body)
	}

	g.Servers[1].Restart()
	in.waitForStatus(t, "/readyz", http.StatusOK)
	if status, body := in.do(t, http.MethodPost, "/api/users", `{"name":"Ada","email":"ada2@example.com"}`); status != http.StatusCreated {
		t.Errorf("create with a replica back: %d %s; want 201", status, body)
	}
}
