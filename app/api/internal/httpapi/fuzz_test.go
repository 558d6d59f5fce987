package httpapi

import (
	"bytes"
	"errors"
	"net/http"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// FuzzDecodeUser feeds arbitrary bodies to the decoders of create, replace
// and patch requests. They must not panic, and must return either a valid
// user input or a 400 error.
func FuzzDecodeUser(f *testing.F) {
	for _, seed := range []string{
		`{"name":"Ada","email":"ada@example.com"}`,
		`{"name":"  Ada  ","email":"Ada <ada@example.com>"}`,
		`{"name":"é","email":"ü@example.de"}`,
		`{"name":null}`,
		`{"email":"a@b","extra":1}`,
		`{"name":"Ada","email":"a@b"} {}`,
		`{"name":"\u0000","email":"\"a b\"@c"}`,
		`{}`, `[]`, `null`, `"x"`, `1`, ``, `{`, `{"name":`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		in, err := decodeInput(bytes.NewReader(body))
		if err == nil {
			checkValidName(t, in.Name)
			checkValidEmail(t, in.Email)
		} else {
			checkBadRequest(t, err)
		}

		p, err := decodePatch(bytes.NewReader(body))
		if err != nil {
			checkBadRequest(t, err)
			return
		}
		if p.Name != nil {
			checkValidName(t, *p.Name)
		}
		if p.Email != nil {
			checkValidEmail(t, *p.Email)
		}
	})
}

func checkValidName(t *testing.T, name string) {
	t.Helper()
	if n := utf8.RuneCountInString(name); n < 1 || n > users.MaxNameRunes || strings.TrimSpace(name) != name {
		t.Fatalf("decoded invalid name %q", name)
	}
	if again, err := users.ValidateName(name); err != nil || again != name {
		t.Fatalf("decoded name %q does not validate again: %q, %v", name, again, err)
	}
}

func checkValidEmail(t *testing.T, email string) {
	t.Helper()
	if err := users.ValidateEmail(email); err != nil || len(email) > users.MaxEmailBytes {
		t.Fatalf("decoded invalid email %q: %v", email, err)
	}
}

func checkBadRequest(t *testing.T, err error) {
	t.Helper()
	var ae *apiError
	if !errors.As(toAPIError(err), &ae) || ae.Status != http.StatusBadRequest || ae.Message == "" {
		t.Fatalf("error %v maps to %+v; want a 400 with a message", err, toAPIError(err))
	}
}
