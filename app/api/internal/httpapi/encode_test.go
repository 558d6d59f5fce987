package httpapi

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// encodingJSON is what the body of v was before writeJSON had its own
// encoder: encoding/json's Encoder output.
func encodingJSON(t testing.TB, v any) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(v); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// awkwardStrings need escapes, or look as if they did.
var awkwardStrings = []string{
	"", "Ada Lovelace", "ada@example.com", `quote " and \ backslash`, "<script>&amp;</script>",
	"tab\tnew\nline\r", "\x00\x1f\x7f", "Zoë Ünïcødé 日本語", "emoji 🦀", "\u2028\u2029", "bad \xff\xfe utf-8",
	"0190a0b4-7c3d-7e5f-8a1b-2c3d4e5f6a7b", "/slash/", "'single'",
}

func TestUsersAndPagesAreEncodedByteForByteAsEncodingJSONDoes(t *testing.T) {
	times := []time.Time{
		time.Date(2026, 12, 2, 16, 56, 27, 0, time.UTC),
		time.Date(2026, 1, 2, 3, 4, 5, 120_000_000, time.UTC),
		time.Date(1, 1, 1, 0, 0, 0, 1, time.UTC),
		time.Date(9999, 12, 31, 23, 59, 59, 999_000_000, time.UTC),
		time.Date(2026, 6, 1, 12, 0, 0, 5_000_000, time.FixedZone("", 2*3600)),
	}
	var all []users.User
	for i, s := range awkwardStrings {
		u := users.User{ID: s, Name: awkwardStrings[(i+1)%len(awkwardStrings)], Email: awkwardStrings[(i+2)%len(awkwardStrings)],
			CreatedAt: times[i%len(times)], UpdatedAt: times[(i+1)%len(times)]}
		all = append(all, u)
		if got, want := appendJSON(nil, u), encodingJSON(t, u); !bytes.Equal(got, want) {
			t.Errorf("user %+v:\n got %s\nwant %s", u, got, want)
		}
	}
	for _, l := range []userList{
		{}, {Items: []users.User{}}, {Items: all[:1]}, {Items: all, NextCursor: "MDE5MGEwYjQ"}, {Items: all[:2], NextCursor: "<&>"},
	} {
		if got, want := appendJSON(nil, l), encodingJSON(t, l); !bytes.Equal(got, want) {
			t.Errorf("page %+v:\n got %s\nwant %s", l, got, want)
		}
	}
	for _, v := range []any{&apiError{Message: "user not found"}, badRequest("name", "a <b>"), map[string]string{"status": "ok"}} {
		if got, want := appendJSON(nil, v), encodingJSON(t, v); !bytes.Equal(got, want) {
			t.Errorf("%#v:\n got %s\nwant %s", v, got, want)
		}
	}
}

func FuzzEncodeUserMatchesEncodingJSON(f *testing.F) {
	for _, s := range awkwardStrings {
		f.Add(s, s+"x", int64(1_780_000_000_123))
	}
	f.Fuzz(func(t *testing.T, name, email string, ms int64) {
		at := time.UnixMilli(ms % 253_402_300_800_000).UTC() // years 1970 to 9999
		u := users.User{ID: "0190a0b4-7c3d-7e5f-8a1b-2c3d4e5f6a7b", Name: name, Email: email, CreatedAt: at, UpdatedAt: at}
		l := userList{Items: []users.User{u, u}, NextCursor: name}
		if got, want := appendJSON(nil, l), encodingJSON(t, l); !bytes.Equal(got, want) {
			t.Errorf("page of %+v:\n got %s\nwant %s", u, got, want)
		}
	})
}

func TestJSONResponsesCarryTheirLengthAndAreNeverChunked(t *testing.T) {
	u := users.User{ID: "0190a0b4-7c3d-7e5f-8a1b-2c3d4e5f6a7b", Name: "Ada", Email: "ada@example.com"}
	page := userList{Items: make([]users.User, maxLimit)}
	for i := range page.Items {
		page.Items[i] = u
	}
	for _, v := range []any{u, page} {
		rec := httptest.NewRecorder()
		writeJSON(rec, http.StatusOK, v)
		if got, want := rec.Header().Get("Content-Length"), strconv.Itoa(rec.Body.Len()); got != want {
			t.Errorf("Content-Length %q for a body of %s bytes", got, want)
		}
		if got := rec.Header().Get("Content-Type"); got != "application/json" {
			t.Errorf("Content-Type %q; want application/json", got)
		}
		if !bytes.Equal(rec.Body.Bytes(), encodingJSON(t, v)) {
			t.Errorf("body %.200s; want encoding/json's", rec.Body.Bytes())
		}
	}
}
