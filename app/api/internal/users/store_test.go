package users

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/redis/go-redis/v9"

	"github.com/sample-app/sample-app/app/api/internal/redistest"
)

// newTestStore returns a Store over a fresh redis-server, and a client of it.
func newTestStore(t *testing.T) (*Store, *redis.Client) {
	t.Parallel()
	rdb := redistest.Start(t).Client()
	return NewStore(rdb, Options{}), rdb
}

func TestConcurrentWritesKeepRecordsEmailIndexAndListingConsistent(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := t.Context()
	// Few emails and many writers, so that writes collide.
	emails := []string{"a@example.com", "b@example.com", "c@example.com", "d@example.com"}
	randomEmail := func() string {
		e := emails[rand.IntN(len(emails))]
		if rand.IntN(2) == 0 {
			e = strings.ToUpper(e)
		}
		return e
	}
	var (
		mu        sync.Mutex
		ids       []string
		succeeded = map[string]int{}
	)
	randomID := func() string {
		mu.Lock()
		defer mu.Unlock()
		if len(ids) == 0 {
			return "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"
		}
		return ids[rand.IntN(len(ids))]
	}
	ops := map[string]func() error{
		"create": func() error {
			u, err := s.Create(ctx, Input{Name: "n", Email: randomEmail()})
			if err == nil {
				mu.Lock()
				ids = append(ids, u.ID)
				mu.Unlock()
			}
			return err
		},
		"change email": func() error {
			email := randomEmail()
			_, err := s.Update(ctx, randomID(), Patch{Email: &email})
			return err
		},
		"rename": func() error {
			name := fmt.Sprint(rand.Int())
			_, err := s.Update(ctx, randomID(), Patch{Name: &name})
			return err
		},
		"delete": func() error { return s.Delete(ctx, randomID()) },
	}
	names := []string{"create", "change email", "rename", "delete"}

	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 60 {
				name := names[rand.IntN(len(names))]
				err := ops[name]()
				switch {
				case err == nil:
					mu.Lock()
					succeeded[name]++
					mu.Unlock()
				case !errors.Is(err, ErrEmailTaken) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrConflict):
					t.Errorf("%s: %v", name, err)
				}
			}
		})
	}
	wg.Wait()
	for _, name := range names {
		if succeeded[name] == 0 {
			t.Errorf("no %s succeeded, so the test proved little: %v", name, succeeded)
		}
	}
	checkConsistent(t, rdb)
}

func TestConcurrentPatchesOfDifferentFieldsAreBothKept(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := t.Context()
	for range 20 {
		u, err := s.Create(ctx, Input{Name: "before", Email: fmt.Sprintf("%d@example.com", rand.Int())})
		if err != nil {
			t.Fatal(err)
		}
		name, email := "after", "new-"+u.Email
		var wg sync.WaitGroup
		for _, p := range []Patch{{Name: &name}, {Email: &email}} {
			wg.Go(func() {
				if _, err := s.Update(ctx, u.ID, p); err != nil {
					t.Errorf("Update: %v", err)
				}
			})
		}
		wg.Wait()
		got, err := s.Get(ctx, u.ID)
		if err != nil || got.Name != name || got.Email != email {
			t.Fatalf("after patching name and email concurrently, Get = %+v, %v; want both changes", got, err)
		}
	}
}

func TestACreateRetriedAfterALostReplyDoesNotReportItsOwnEmailAsTaken(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := t.Context()
	u, err := s.Create(ctx, Input{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	keys := []string{userKey(u.ID), emailKey(u.Email), listKey}
	created := formatTime(u.CreatedAt)
	if err := s.eval(ctx, createScript, keys, u.ID, u.Name, u.Email, created); err != nil {
		t.Errorf("replaying the create script = %v; want nil", err)
	}
	other := "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"
	keys[0] = userKey(other)
	if err := s.eval(ctx, createScript, keys, other, u.Name, u.Email, created); !errors.Is(err, ErrEmailTaken) {
		t.Errorf("creating another user with the email = %v; want ErrEmailTaken", err)
	}
	checkConsistent(t, rdb)
}

// createUsers creates n users and returns them newest first.
func createUsers(t *testing.T, s *Store, n int) []User {
	t.Helper()
	created := make([]User, n)
	for i := range n {
		u, err := s.Create(t.Context(), Input{Name: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("user%d@example.com", i)})
		if err != nil {
			t.Fatal(err)
		}
		created[n-1-i] = u
	}
	return created
}

// listAll walks every page of limit users and returns them with the number
// of pages.
func listAll(t *testing.T, s *Store, limit int) (all []User, pages int) {
	t.Helper()
	after := ""
	for {
		page, next, err := s.List(t.Context(), after, limit)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		all = append(all, page...)
		if next == "" {
			return all, pages
		}
		if len(page) == 0 || next != page[len(page)-1].ID || pages > 100 {
			t.Fatalf("page %d: next %q after %d users; want the id of the last one", pages, next, len(page))
		}
		after = next
	}
}

func TestPagesHoldEveryUserOnceNewestFirstWithTheirRecords(t *testing.T) {
	s, _ := newTestStore(t)
	want := createUsers(t, s, 25)
	for _, limit := range []int{1, 7, 10, 24, 25, 26, 100} {
		got, pages := listAll(t, s, limit)
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v; want %v", limit, got, want)
		}
		if wantPages := max(1, (25+limit-1)/limit); pages != wantPages {
			t.Errorf("limit %d: %d pages; want %d", limit, pages, wantPages)
		}
	}
	if page, next, err := s.List(t.Context(), want[24].ID, 10); err != nil || len(page) != 0 || next != "" {
		t.Errorf("after the oldest user: %v, %q, %v; want an empty last page", page, next, err)
	}
}

func TestAPageLeavesOutUsersWhoseRecordIsGoneAndKeepsItsCursor(t *testing.T) {
	s, rdb := newTestStore(t)
	ctx := t.Context()
	users := createUsers(t, s, 5)
	// A listed id with no record, as if the user were deleted between the
	// read of the listing and the read of its records; newer than all.
	gone := "ffffffff-ffff-7fff-bfff-ffffffffffff"
	if err := rdb.ZAdd(ctx, listKey, redis.Z{Member: gone}).Err(); err != nil {
		t.Fatal(err)
	}
	page, next, err := s.List(ctx, "", 2)
	if err != nil || !slices.Equal(page, users[:1]) || next != users[0].ID {
		t.Errorf("first page %v, next %q, %v; want only %v (the missing one left out), next %s", page, next, err, users[:1], users[0].ID)
	}
	// Deleted between two pages: the cursor of a deleted user still works.
	if err := s.Delete(ctx, users[1].ID); err != nil {
		t.Fatal(err)
	}
	page, next, err = s.List(ctx, users[0].ID, 2)
	if err != nil || !slices.Equal(page, users[2:4]) || next != users[3].ID {
		t.Errorf("second page %v, next %q, %v; want %v, next %s", page, next, err, users[2:4], users[3].ID)
	}
	if err := s.Delete(ctx, users[3].ID); err != nil {
		t.Fatal(err)
	}
	page, next, err = s.List(ctx, users[3].ID, 2)
	if err != nil || !slices.Equal(page, users[4:]) || next != "" {
		t.Errorf("page after a deleted cursor %v, next %q, %v; want %v and no next", page, next, err, users[4:])
	}
}

func TestAPageWithACorruptRecordFailsNamingTheUser(t *testing.T) {
	s, rdb := newTestStore(t)
	u := createUsers(t, s, 1)[0]
	if err := rdb.HDel(t.Context(), userKey(u.ID), "createdAt").Err(); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.List(t.Context(), "", 10); err == nil || !strings.Contains(err.Error(), u.ID) {
		t.Errorf("List = %v; want an error naming the corrupt user %s", err, u.ID)
	}
}

func TestAPageIsReadAgainAfterRedisForgetsTheScript(t *testing.T) {
	s, rdb := newTestStore(t)
	want := createUsers(t, s, 3)
	// As after a failover to a replica that never ran the script, or a restart.
	if err := rdb.ScriptFlush(t.Context()).Err(); err != nil {
		t.Fatal(err)
	}
	if got, _ := listAll(t, s, 2); !slices.Equal(got, want) {
		t.Errorf("listed %v; want %v", got, want)
	}
}

// checkConsistent fails t unless every listed user has a record and owns the
// index entry of its email, and Redis holds no other key.
func checkConsistent(t *testing.T, rdb *redis.Client) {
	t.Helper()
	ctx := context.Background()
	listed, err := rdb.ZRange(ctx, listKey, 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	wantKeys := map[string]bool{listKey: true}
	for _, id := range listed {
		fields, err := rdb.HGetAll(ctx, userKey(id)).Result()
		if err != nil {
			t.Fatal(err)
		}
		if len(fields) == 0 {
			t.Errorf("listed user %s has no record", id)
			continue
		}
		if owner, err := rdb.Get(ctx, emailKey(fields["email"])).Result(); owner != id {
			t.Errorf("email %q of user %s is indexed to %q (%v)", fields["email"], id, owner, err)
		}
		wantKeys[userKey(id)], wantKeys[emailKey(fields["email"])] = true, true
	}
	keys, err := rdb.Keys(ctx, "*").Result()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if !wantKeys[k] {
			t.Errorf("stray key %q", k)
		}
	}
}
