package httpapi_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// unknownID is a well-formed id that no test creates.
const unknownID = "01936b2e-8f4a-7c3d-9e5f-0a1b2c3d4e5f"

// userList is the body of GET /api/users.
type userList struct {
	Items      []users.User `json:"items"`
	NextCursor *string      `json:"nextCursor"`
}

func TestCreatingAUserReturns201WithTheUserAndItsLocation(t *testing.T) {
	s := newTestServer(t)
	before := time.Now().Add(-time.Second)
	r := s.post("/api/users", `{"name":"  Ada Lovelace ","email":"Ada@Example.com"}`)
	if r.status != http.StatusCreated {
		t.Fatalf("status %d, body %s; want 201", r.status, r.body)
	}
	u := decode[users.User](t, r)
	if !users.ValidID(u.ID) {
		t.Errorf("id %q is not a UUIDv7", u.ID)
	}
	if u.Name != "Ada Lovelace" || u.Email != "Ada@Example.com" {
		t.Errorf("name %q, email %q; want the name trimmed and the email as given", u.Name, u.Email)
	}
	if u.CreatedAt.Before(before) || !u.UpdatedAt.Equal(u.CreatedAt) || u.CreatedAt.Location() != time.UTC {
		t.Errorf("createdAt %v, updatedAt %v; want now, equal, in UTC", u.CreatedAt, u.UpdatedAt)
	}
	if !strings.Contains(r.body, `"createdAt":"`+u.CreatedAt.Format(time.RFC3339Nano)+`"`) || !strings.Contains(r.body, `Z"`) {
		t.Errorf("body %s; want RFC 3339 UTC times", r.body)
	}
	location := r.header.Get("Location")
	if location != "/api/users/"+u.ID {
		t.Fatalf("Location %q; want /api/users/%s", location, u.ID)
	}
	if got := decode[users.User](t, s.get(location)); got != u {
		t.Errorf("GET Location = %+v; want %+v", got, u)
	}
}

func TestCreatingAUserWithATakenEmailReturns409(t *testing.T) {
	s := newTestServer(t)
	s.create("Ada", "ada@example.com")
	for _, email := range []string{"ada@example.com", "ADA@example.COM"} {
		wantError(t, s.post("/api/users", userJSON("Other", email)), http.StatusConflict, "email")
	}
}

func TestCreatingAUserWithAnInvalidBodyReturns400(t *testing.T) {
	s := newTestServer(t)
	tests := []struct {
		name, body, field string
	}{
		{"empty body", ``, ""},
		{"malformed JSON", `{"name":"Ada",`, ""},
		{"syntax error", `{"name":"Ada" "email":"a@b.c"}`, ""},
		{"trailing object", `{"name":"Ada","email":"a@b.c"}{}`, ""},
		{"trailing garbage", `{"name":"Ada","email":"a@b.c"} x`, ""},
		{"array", `[{"name":"Ada","email":"a@b.c"}]`, ""},
		{"string", `"Ada"`, ""},
		{"null", `null`, ""},
		{"unknown field", `{"name":"Ada","email":"a@b.c","admin":true}`, "admin"},
		{"field in other case", `{"Name":"Ada","email":"a@b.c"}`, "Name"},
		{"id given", `{"id":"` + unknownID + `","name":"Ada","email":"a@b.c"}`, "id"},
		{"name missing", `{"email":"a@b.c"}`, "name"},
		{"email missing", `{"name":"Ada"}`, "email"},
		{"name null", `{"name":null,"email":"a@b.c"}`, "name"},
		{"name a number", `{"name":42,"email":"a@b.c"}`, "name"},
		{"email an array", `{"name":"Ada","email":["a@b.c"]}`, "email"},
		{"name empty", `{"name":"","email":"a@b.c"}`, "name"},
		{"name blank", `{"name":" \t ","email":"a@b.c"}`, "name"},
		{"name too long", userJSON(strings.Repeat("é", 101), "a@b.c"), "name"},
		{"name with control character", `{"name":"Ada\u0007","email":"a@b.c"}`, "name"},
		{"email without at", `{"name":"Ada","email":"ada"}`, "email"},
		{"email with display name", `{"name":"Ada","email":"Ada <ada@example.com>"}`, "email"},
		{"two emails", `{"name":"Ada","email":"a@b.c, d@e.f"}`, "email"},
		{"email with spaces", `{"name":"Ada","email":" a@b.c"}`, "email"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wantError(t, s.post("/api/users", tt.body), http.StatusBadRequest, tt.field)
		})
	}
	if list := decode[userList](t, s.get("/api/users")); len(list.Items) != 0 {
		t.Errorf("invalid creates stored users: %+v", list.Items)
	}
}

func TestANameOfAHundredCharactersIsAcceptedWhateverItsBytes(t *testing.T) {
	s := newTestServer(t)
	name := strings.Repeat("é", 100) // 200 bytes
	if u := s.create(" "+name+" ", "a@example.com"); u.Name != name {
		t.Errorf("name %q; want %q", u.Name, name)
	}
}

func TestABodyWithoutAJSONContentTypeReturns415(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	body := userJSON("Bob", "bob@example.com")
	for _, ct := range []string{"", "text/plain", "application/x-www-form-urlencoded", "application/merge-patch+json", "application/json-patch+json"} {
		wantError(t, s.do(http.MethodPost, "/api/users", ct, body), http.StatusUnsupportedMediaType, "")
		wantError(t, s.do(http.MethodPut, "/api/users/"+u.ID, ct, body), http.StatusUnsupportedMediaType, "")
	}
	for _, ct := range []string{"", "text/plain", "application/json-patch+json"} {
		wantError(t, s.do(http.MethodPatch, "/api/users/"+u.ID, ct, `{"name":"Bob"}`), http.StatusUnsupportedMediaType, "")
	}
	if r := s.do(http.MethodPost, "/api/users", "Application/JSON; charset=utf-8", body); r.status != http.StatusCreated {
		t.Errorf("JSON with parameters: status %d, body %s; want 201", r.status, r.body)
	}
}

func TestABodyOverOneMebibyteReturns413(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	// A valid body padded with white space to exactly 1 MiB passes; one more byte does not.
	valid := userJSON("Bob", "bob@example.com")
	atLimit := valid + strings.Repeat(" ", 1<<20-len(valid))
	if r := s.post("/api/users", atLimit); r.status != http.StatusCreated {
		t.Errorf("body of exactly 1 MiB: status %d, body %s; want 201", r.status, r.body)
	}
	over := userJSON(strings.Repeat("a", 1<<20), "carol@example.com")
	wantError(t, s.post("/api/users", atLimit+" "), http.StatusRequestEntityTooLarge, "")
	wantError(t, s.post("/api/users", over), http.StatusRequestEntityTooLarge, "")
	wantError(t, s.do(http.MethodPut, "/api/users/"+u.ID, "application/json", over), http.StatusRequestEntityTooLarge, "")
	wantError(t, s.do(http.MethodPatch, "/api/users/"+u.ID, "application/merge-patch+json", over), http.StatusRequestEntityTooLarge, "")
}

func TestGettingAnUnknownOrMalformedIDReturns404(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	for _, id := range []string{unknownID, "nope", strings.ToUpper(u.ID), u.ID + "0", "%00", "..%2f"} {
		wantError(t, s.get("/api/users/"+id), http.StatusNotFound, "")
	}
}

func TestListingUsersReturnsThemNewestFirstInPages(t *testing.T) {
	s := newTestServer(t)
	var created []string
	for i := range 5 {
		created = append(created, s.create(fmt.Sprint("user ", i), fmt.Sprintf("u%d@example.com", i)).ID)
	}
	slices.Reverse(created)

	var listed []string
	path := "/api/users?limit=2"
	for pages := 1; ; pages++ {
		page := decode[userList](t, s.get(path))
		for _, u := range page.Items {
			listed = append(listed, u.ID)
		}
		if page.NextCursor == nil {
			if pages != 3 || len(page.Items) != 1 {
				t.Errorf("last page is page %d with %d items; want page 3 with 1", pages, len(page.Items))
			}
			break
		}
		if len(page.Items) != 2 || pages > 3 {
			t.Fatalf("page %d has %d items and a cursor; want 2 items and no more than 3 pages", pages, len(page.Items))
		}
		path = "/api/users?limit=2&cursor=" + *page.NextCursor
	}
	if !slices.Equal(listed, created) {
		t.Errorf("listed %q; want newest first %q", listed, created)
	}
}

func TestListingUsersReturnsTwentyByDefaultAndAHundredAtMost(t *testing.T) {
	s := newTestServer(t)
	for i := range 101 {
		s.create("user", fmt.Sprintf("u%d@example.com", i))
	}
	for query, want := range map[string]int{"": 20, "?limit=": 20, "?limit=1": 1, "?limit=100": 100} {
		page := decode[userList](t, s.get("/api/users"+query))
		if len(page.Items) != want || page.NextCursor == nil {
			t.Errorf("GET /api/users%s: %d items, next cursor %v; want %d and a cursor", query, len(page.Items), page.NextCursor, want)
		}
	}
}

func TestListingNoUsersReturnsAnEmptyArrayAndNoCursor(t *testing.T) {
	s := newTestServer(t)
	r := s.get("/api/users")
	if r.status != http.StatusOK || strings.TrimSpace(r.body) != `{"items":[]}` {
		t.Errorf("status %d, body %s; want 200 {\"items\":[]}", r.status, r.body)
	}
}

func TestListingWithAnInvalidLimitOrCursorReturns400(t *testing.T) {
	s := newTestServer(t)
	for _, limit := range []string{"0", "101", "-1", "ten", "1.5", "1e2"} {
		wantError(t, s.get("/api/users?limit="+limit), http.StatusBadRequest, "limit")
	}
	notAnID := base64.RawURLEncoding.EncodeToString([]byte("not-an-id"))
	upperCaseID := base64.RawURLEncoding.EncodeToString([]byte(strings.ToUpper(unknownID)))
	for _, cursor := range []string{"!!!", notAnID, upperCaseID} {
		wantError(t, s.get("/api/users?cursor="+cursor), http.StatusBadRequest, "cursor")
	}
}

func TestListingWithAMalformedQueryStringReturns400NamingTheProblem(t *testing.T) {
	s := newTestServer(t)
	s.create("Ada", "ada@example.com")
	for query, want := range map[string]string{
		"limit=%zz":           `invalid URL escape "%zz"`,
		"limit=1%":            `invalid URL escape "%"`,
		"cursor=%G1":          `invalid URL escape "%G1"`,
		"limit=1;cursor=abc":  "invalid semicolon separator in query",
		"%ZZlimit=2&cursor=x": `invalid URL escape "%ZZ"`,
	} {
		r := s.get("/api/users?" + query)
		wantError(t, r, http.StatusBadRequest, "")
		var body struct{ Error string }
		if err := json.Unmarshal([]byte(r.body), &body); err != nil || !strings.Contains(body.Error, "query string is malformed: "+want) {
			t.Errorf("GET /api/users?%s: body %s; want it to say the query string is malformed and name %q", query, r.body, want)
		}
	}
}

func TestListingWithAParameterGivenTwiceReturns400(t *testing.T) {
	s := newTestServer(t)
	wantError(t, s.get("/api/users?limit=1&limit=2"), http.StatusBadRequest, "limit")
	wantError(t, s.get("/api/users?cursor=&cursor="), http.StatusBadRequest, "cursor")
}

func TestReplacingAUserChangesItsNameAndEmail(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	r := s.do(http.MethodPut, "/api/users/"+u.ID, "application/json", userJSON(" Ada King ", "king@example.com"))
	got := decode[users.User](t, r)
	if got.ID != u.ID || got.Name != "Ada King" || got.Email != "king@example.com" ||
		!got.CreatedAt.Equal(u.CreatedAt) || got.UpdatedAt.Before(u.UpdatedAt) {
		t.Errorf("PUT = %+v; want the new name and email, same id and createdAt, later updatedAt, from %+v", got, u)
	}
	if stored := decode[users.User](t, s.get("/api/users/"+u.ID)); stored != got {
		t.Errorf("GET after PUT = %+v; want %+v", stored, got)
	}
	wantError(t, s.post("/api/users", userJSON("Other", "KING@example.com")), http.StatusConflict, "email")
	s.create("Other", "ada@example.com") // the old email is free again
}

func TestReplacingAUserRequiresBothFields(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	wantError(t, s.do(http.MethodPut, "/api/users/"+u.ID, "application/json", `{"name":"Ada"}`), http.StatusBadRequest, "email")
	wantError(t, s.do(http.MethodPut, "/api/users/"+u.ID, "application/json", `{"email":"a@b.c"}`), http.StatusBadRequest, "name")
	wantError(t, s.do(http.MethodPut, "/api/users/"+u.ID, "application/json", `{"name":"Ada","email":"a@b.c","x":1}`), http.StatusBadRequest, "x")
}

func TestTakingAnotherUsersEmailReturns409(t *testing.T) {
	s := newTestServer(t)
	ada := s.create("Ada", "ada@example.com")
	s.create("Bob", "bob@example.com")
	wantError(t, s.do(http.MethodPut, "/api/users/"+ada.ID, "application/json", userJSON("Ada", "BOB@example.com")), http.StatusConflict, "email")
	wantError(t, s.do(http.MethodPatch, "/api/users/"+ada.ID, "application/merge-patch+json", `{"email":"bob@example.com"}`), http.StatusConflict, "email")
	if got := decode[users.User](t, s.get("/api/users/"+ada.ID)); got != ada {
		t.Errorf("after the conflicts, GET = %+v; want it unchanged %+v", got, ada)
	}
}

func TestChangingOnlyTheCaseOfOnesOwnEmailSucceeds(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	r := s.do(http.MethodPatch, "/api/users/"+u.ID, "application/merge-patch+json", `{"email":"Ada@Example.com"}`)
	if got := decode[users.User](t, r); got.Email != "Ada@Example.com" {
		t.Errorf("email %q; want Ada@Example.com", got.Email)
	}
	wantError(t, s.post("/api/users", userJSON("Other", "ada@example.com")), http.StatusConflict, "email")
}

func TestPatchingAUserChangesOnlyTheGivenFields(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	steps := []struct {
		contentType, patch, wantName, wantEmail string
	}{
		{"application/merge-patch+json", `{"name":" Ada King "}`, "Ada King", "ada@example.com"},
		{"application/json", `{"email":"king@example.com"}`, "Ada King", "king@example.com"},
		{"application/merge-patch+json; charset=utf-8", `{"name":"Ada","email":"ada@example.com"}`, "Ada", "ada@example.com"},
		{"application/merge-patch+json", `{}`, "Ada", "ada@example.com"},
	}
	for _, step := range steps {
		got := decode[users.User](t, s.do(http.MethodPatch, "/api/users/"+u.ID, step.contentType, step.patch))
		if got.ID != u.ID || got.Name != step.wantName || got.Email != step.wantEmail || !got.CreatedAt.Equal(u.CreatedAt) {
			t.Errorf("PATCH %s = %+v; want name %q, email %q", step.patch, got, step.wantName, step.wantEmail)
		}
		if stored := decode[users.User](t, s.get("/api/users/"+u.ID)); stored != got {
			t.Errorf("GET after PATCH %s = %+v; want %+v", step.patch, stored, got)
		}
	}
}

func TestPatchingAUserWithAnInvalidPatchReturns400(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	tests := map[string]string{
		`{"name":null}`:               "name",
		`{"email":null}`:              "email",
		`{"name":"Ada","email":null}`: "email",
		`{"name":""}`:                 "name",
		`{"email":"nope"}`:            "email",
		`{"name":1}`:                  "name",
		`{"createdAt":"2020-01-01Z"}`: "createdAt",
		`null`:                        "",
		`["name"]`:                    "",
		`{"name":"Ada"} {"name":"B"}`: "",
	}
	for patch, field := range tests {
		r := s.do(http.MethodPatch, "/api/users/"+u.ID, "application/merge-patch+json", patch)
		wantError(t, r, http.StatusBadRequest, field)
	}
	if got := decode[users.User](t, s.get("/api/users/"+u.ID)); got != u {
		t.Errorf("after invalid patches, GET = %+v; want it unchanged %+v", got, u)
	}
}

func TestWritingAnUnknownOrMalformedIDReturns404(t *testing.T) {
	s := newTestServer(t)
	for _, id := range []string{unknownID, "nope"} {
		wantError(t, s.do(http.MethodPut, "/api/users/"+id, "application/json", userJSON("Ada", "a@b.c")), http.StatusNotFound, "")
		wantError(t, s.do(http.MethodPatch, "/api/users/"+id, "application/merge-patch+json", `{"name":"Ada"}`), http.StatusNotFound, "")
		wantError(t, s.do(http.MethodPatch, "/api/users/"+id, "application/merge-patch+json", `{}`), http.StatusNotFound, "")
		wantError(t, s.do(http.MethodDelete, "/api/users/"+id, "", ""), http.StatusNotFound, "")
	}
}

func TestDeletingAUserReturns204AndFreesItsEmail(t *testing.T) {
	s := newTestServer(t)
	u := s.create("Ada", "ada@example.com")
	keep := s.create("Bob", "bob@example.com")
	r := s.do(http.MethodDelete, "/api/users/"+u.ID, "", "")
	if r.status != http.StatusNoContent || r.body != "" {
		t.Fatalf("DELETE: status %d, body %q; want 204 and no body", r.status, r.body)
	}
	wantError(t, s.get("/api/users/"+u.ID), http.StatusNotFound, "")
	wantError(t, s.do(http.MethodDelete, "/api/users/"+u.ID, "", ""), http.StatusNotFound, "")
	if list := decode[userList](t, s.get("/api/users")); len(list.Items) != 1 || list.Items[0] != keep {
		t.Errorf("listing after DELETE = %+v; want only %+v", list.Items, keep)
	}
	s.create("Ada again", "ADA@example.com")
}

func TestAnUnknownPathReturns404AsJSON(t *testing.T) {
	s := newTestServer(t)
	for _, path := range []string{"/", "/api", "/api/users/", "/api/users/" + unknownID + "/x", "/api/people"} {
		wantError(t, s.get(path), http.StatusNotFound, "")
	}
}

func TestAnUnsupportedMethodReturns405WithAllowAsJSON(t *testing.T) {
	s := newTestServer(t)
	tests := []struct{ method, path, allow string }{
		{http.MethodDelete, "/api/users", "GET, HEAD, POST"},
		{http.MethodPatch, "/api/users", "GET, HEAD, POST"},
		{http.MethodPost, "/api/users/" + unknownID, "DELETE, GET, HEAD, PATCH, PUT"},
		{http.MethodPost, "/healthz", "GET, HEAD"},
	}
	for _, tt := range tests {
		r := s.do(tt.method, tt.path, "application/json", `{}`)
		wantError(t, r, http.StatusMethodNotAllowed, "")
		if got := r.header.Get("Allow"); got != tt.allow {
			t.Errorf("%s %s: Allow %q; want %q", tt.method, tt.path, got, tt.allow)
		}
	}
}

func TestParallelCreatesWithOneEmailGiveExactlyOne201(t *testing.T) {
	s := newTestServer(t)
	const n = 20
	statuses := make(chan int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			email := "race@example.com"
			if i%2 == 1 {
				email = "RACE@example.com"
			}
			statuses <- s.post("/api/users", userJSON(fmt.Sprint("racer ", i), email)).status
		})
	}
	wg.Wait()
	close(statuses)
	counts := map[int]int{}
	for status := range statuses {
		counts[status]++
	}
	if counts[http.StatusCreated] != 1 || counts[http.StatusConflict] != n-1 {
		t.Errorf("statuses %v; want one 201 and %d 409", counts, n-1)
	}
	if list := decode[userList](t, s.get("/api/users")); len(list.Items) != 1 {
		t.Errorf("%d users listed; want 1", len(list.Items))
	}
}

func TestAnEmailChangeRacingACreateWithThatEmailLetsExactlyOneWin(t *testing.T) {
	s := newTestServer(t)
	for round := range 10 {
		oldEmail, newEmail := fmt.Sprintf("old%d@example.com", round), fmt.Sprintf("new%d@example.com", round)
		u := s.create("mover", oldEmail)
		var patched, created response
		var wg sync.WaitGroup
		wg.Go(func() {
			patched = s.do(http.MethodPatch, "/api/users/"+u.ID, "application/merge-patch+json", fmt.Sprintf(`{"email":%q}`, newEmail))
		})
		wg.Go(func() { created = s.post("/api/users", userJSON("creator", newEmail)) })
		wg.Wait()

		stored := decode[users.User](t, s.get("/api/users/"+u.ID))
		switch {
		case patched.status == http.StatusOK && created.status == http.StatusConflict:
			if stored.Email != newEmail {
				t.Fatalf("round %d: the change won but the user has %q", round, stored.Email)
			}
			s.create("reuser", oldEmail) // the old email was freed
		case patched.status == http.StatusConflict && created.status == http.StatusCreated:
			if stored.Email != oldEmail {
				t.Fatalf("round %d: the create won but the user has %q", round, stored.Email)
			}
		default:
			t.Fatalf("round %d: PATCH %d %s, POST %d %s; want exactly one to succeed", round, patched.status, patched.body, created.status, created.body)
		}
		wantError(t, s.post("/api/users", userJSON("late", newEmail)), http.StatusConflict, "email")
	}
}

func TestParallelDeletesOfOneUserGiveExactlyOne204(t *testing.T) {
	s := newTestServer(t)
	const n = 10
	for round := range 5 {
		u := s.create("doomed", fmt.Sprintf("doomed%d@example.com", round))
		statuses := make(chan int, n)
		var wg sync.WaitGroup
		for range n {
			wg.Go(func() { statuses <- s.do(http.MethodDelete, "/api/users/"+u.ID, "", "").status })
		}
		wg.Wait()
		close(statuses)
		counts := map[int]int{}
		for status := range statuses {
			counts[status]++
		}
		if counts[http.StatusNoContent] != 1 || counts[http.StatusNotFound] != n-1 {
			t.Fatalf("round %d: statuses %v; want one 204 and %d 404", round, counts, n-1)
		}
		s.create("heir", u.Email)
	}
}
