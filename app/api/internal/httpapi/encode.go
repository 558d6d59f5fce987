package httpapi

import (
	"encoding/json"
	"net/http"
	"strconv"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// maxPooledBuffer is the largest response buffer kept for reuse: a page of
// maxLimit users fits.
const maxPooledBuffer = 64 << 10

// buffers are response bodies being built, reused across requests.
var buffers = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

// writeJSON writes v as the JSON body of a response with the status, with
// its Content-Length, so that no body is sent chunked. The body is what
// encoding/json's Encoder writes (HTML characters escaped, a newline at the
// end); users and pages of users are encoded without reflection.
func writeJSON(w http.ResponseWriter, status int, v any) {
	bp := buffers.Get().(*[]byte)
	b := appendJSON((*bp)[:0], v)
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	// An error here means the client went away: nothing left to tell it.
	_, _ = w.Write(b)
	if cap(b) <= maxPooledBuffer {
		*bp = b
		buffers.Put(bp)
	}
}

// appendJSON appends the JSON of v and a newline to b.
func appendJSON(b []byte, v any) []byte {
	switch v := v.(type) {
	case users.User:
		b = appendUser(b, &v)
	case userList:
		b = appendUserList(b, &v)
	default:
		out, err := json.Marshal(v)
		if err != nil {
			// Only the server's own types get here, all of them encodable.
			out = []byte(`{"error":"internal error"}`)
		}
		b = append(b, out...)
	}
	return append(b, '\n')
}

// appendUserList appends l as encoding/json would.
func appendUserList(b []byte, l *userList) []byte {
	b = append(b, `{"items":`...)
	if l.Items == nil {
		b = append(b, "null"...)
	} else {
		b = append(b, '[')
		for i := range l.Items {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendUser(b, &l.Items[i])
		}
		b = append(b, ']')
	}
	if l.NextCursor != "" {
		b = append(b, `,"nextCursor":`...)
		b = appendString(b, l.NextCursor)
	}
	return append(b, '}')
}

// appendUser appends u as encoding/json would.
func appendUser(b []byte, u *users.User) []byte {
	b = append(b, `{"id":`...)
	b = appendString(b, u.ID)
	b = append(b, `,"name":`...)
	b = appendString(b, u.Name)
	b = append(b, `,"email":`...)
	b = appendString(b, u.Email)
	b = append(b, `,"createdAt":`...)
	b = appendTime(b, u.CreatedAt)
	b = append(b, `,"updatedAt":`...)
	b = appendTime(b, u.UpdatedAt)
	return append(b, '}')
}

// appendString appends s as a JSON string. Printable ASCII that needs no
// escape is copied; anything else goes through encoding/json, so escapes
// are exactly its own.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= utf8.RuneSelf || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			out, _ := json.Marshal(s) // a string always encodes
			return append(b, out...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTime appends t as time.Time's MarshalJSON does (RFC 3339 with as
// many fractional digits as needed), for the years 0 to 9999 it accepts:
// all the store's timestamps.
func appendTime(b []byte, t time.Time) []byte {
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}
