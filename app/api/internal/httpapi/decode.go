package httpapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"maps"
	"mime"
	"net/http"
	"slices"
	"strings"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// maxBodyBytes is the largest request body accepted: 1 MiB.
const maxBodyBytes = 1 << 20

// errTooLarge answers a body over maxBodyBytes.
var errTooLarge = &apiError{Status: http.StatusRequestEntityTooLarge, Message: "request body is larger than 1 MiB"}

// Media types of request bodies.
const (
	mediaJSON       = "application/json"
	mediaMergePatch = "application/merge-patch+json"
)

// userFields are the members a request body may hold.
var userFields = []string{"name", "email"}

// requestBody checks that the Content-Type of r is one of mediaTypes and
// returns its body, limited to maxBodyBytes.
func requestBody(w http.ResponseWriter, r *http.Request, mediaTypes ...string) (io.Reader, error) {
	mediaType, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || !slices.Contains(mediaTypes, mediaType) {
		return nil, &apiError{
			Status:  http.StatusUnsupportedMediaType,
			Message: "Content-Type must be " + strings.Join(mediaTypes, " or "),
		}
	}
	return http.MaxBytesReader(w, r.Body, maxBodyBytes), nil
}

// decodeInput decodes and validates the body of a create or a full replace:
// an object with both name and email.
func decodeInput(body io.Reader) (users.Input, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return users.Input{}, err
	}
	name, err := requiredString(obj, "name")
	if err != nil {
		return users.Input{}, err
	}
	email, err := requiredString(obj, "email")
	if err != nil {
		return users.Input{}, err
	}
	return users.Input{Name: name, Email: email}.Validate()
}

// decodePatch decodes and validates a JSON merge patch (RFC 7396) of a user:
// an object with name, email or both.
func decodePatch(body io.Reader) (users.Patch, error) {
	obj, err := decodeObject(body)
	if err != nil {
		return users.Patch{}, err
	}
	var p users.Patch
	if p.Name, err = stringMember(obj, "name"); err != nil {
		return users.Patch{}, err
	}
	if p.Email, err = stringMember(obj, "email"); err != nil {
		return users.Patch{}, err
	}
	return p.Validate()
}

// decodeObject decodes body as exactly one JSON object whose members are all
// userFields, and returns the members.
func decodeObject(body io.Reader) (map[string]json.RawMessage, error) {
	dec := json.NewDecoder(body)
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		return nil, decodeError(err)
	}
	if obj == nil {
		return nil, badRequest("", "request body must be a JSON object, not null")
	}
	if _, err := dec.Token(); err != io.EOF {
		if tooLarge(err) {
			return nil, errTooLarge
		}
		return nil, badRequest("", "request body must hold one JSON object and nothing after it")
	}
	for _, key := range slices.Sorted(maps.Keys(obj)) {
		if !slices.Contains(userFields, key) {
			return nil, badRequest(key, "unknown field; allowed fields are %s", strings.Join(userFields, ", "))
		}
	}
	return obj, nil
}

// stringMember returns the string value of the member key of obj, or nil if
// there is no such member. A member that is null or not a string is an error.
func stringMember(obj map[string]json.RawMessage, key string) (*string, error) {
	raw, ok := obj[key]
	if !ok {
		return nil, nil
	}
	if bytes.Equal(raw, []byte("null")) {
		return nil, badRequest(key, "%s is required and cannot be null", key)
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return nil, badRequest(key, "%s must be a string", key)
	}
	return &s, nil
}

// requiredString returns the string value of the member key of obj, which
// must be present.
func requiredString(obj map[string]json.RawMessage, key string) (string, error) {
	s, err := stringMember(obj, key)
	if err != nil {
		return "", err
	}
	if s == nil {
		return "", badRequest(key, "%s is required", key)
	}
	return *s, nil
}

// decodeError maps an error from decoding a request body.
func decodeError(err error) error {
	var syntaxErr *json.SyntaxError
	var typeErr *json.UnmarshalTypeError
	switch {
	case tooLarge(err):
		return errTooLarge
	case errors.Is(err, io.EOF):
		return badRequest("", "request body is empty")
	case errors.Is(err, io.ErrUnexpectedEOF):
		return badRequest("", "request body is truncated JSON")
	case errors.As(err, &syntaxErr):
		return badRequest("", "request body is malformed JSON at byte %d", syntaxErr.Offset)
	case errors.As(err, &typeErr):
		return badRequest("", "request body must be a JSON object")
	}
	return badRequest("", "cannot read request body")
}

// tooLarge reports whether err comes from reading past maxBodyBytes.
func tooLarge(err error) bool {
	var maxErr *http.MaxBytesError
	return errors.As(err, &maxErr)
}
