package users

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
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
	return NewStore(rdb, Durability{}), rdb
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

func TestAPageLeavesOutUsersDeletedWhileItIsRead(t *testing.T) {
	s, _ := newTestStore(t)
	ctx := t.Context()
	u, err := s.Create(ctx, Input{Name: "Ada", Email: "ada@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	gone := "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"
	got, err := s.getAll(ctx, []string{gone, u.ID})
	if err != nil || len(got) != 1 || got[0] != u {
		t.Errorf("getAll = %+v, %v; want only %+v", got, err, u)
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
