package httpapi

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"strconv"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// Page sizes of GET /api/users.
const (
	defaultLimit = 20
	maxLimit     = 100
)

// userList is the body of GET /api/users.
type userList struct {
	Items []users.User `json:"items"`
	// NextCursor fetches the next page; it is absent on the last page.
	NextCursor string `json:"nextCursor,omitempty"`
}

// createUser handles POST /api/users.
func (a *api) createUser(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(w, r)
	if err != nil {
		return err
	}
	u, err := a.store.Create(r.Context(), in)
	if err != nil {
		return err
	}
	w.Header().Set("Location", "/api/users/"+u.ID)
	writeJSON(w, http.StatusCreated, u)
	return nil
}

// readInput reads a JSON request body holding a whole user (name and email).
func readInput(w http.ResponseWriter, r *http.Request) (users.Input, error) {
	body, err := requestBody(w, r, mediaJSON)
	if err != nil {
		return users.Input{}, err
	}
	return decodeInput(body)
}

// listUsers handles GET /api/users?limit=&cursor=, newest first.
func (a *api) listUsers(w http.ResponseWriter, r *http.Request) error {
	query, err := parseQuery(r)
	if err != nil {
		return err
	}
	limit, err := parseLimit(query)
	if err != nil {
		return err
	}
	after, err := decodeCursor(query)
	if err != nil {
		return err
	}
	page, next, err := a.store.List(r.Context(), after, limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, userList{Items: page, NextCursor: encodeCursor(next)})
	return nil
}

// getUser handles GET /api/users/{id}.
func (a *api) getUser(w http.ResponseWriter, r *http.Request) error {
	u, err := a.store.Get(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// replaceUser handles PUT /api/users/{id}: both name and email are required.
func (a *api) replaceUser(w http.ResponseWriter, r *http.Request) error {
	in, err := readInput(w, r)
	if err != nil {
		return err
	}
	u, err := a.store.Update(r.Context(), r.PathValue("id"), users.Patch{Name: &in.Name, Email: &in.Email})
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// patchUser handles PATCH /api/users/{id} with a JSON merge patch.
func (a *api) patchUser(w http.ResponseWriter, r *http.Request) error {
	body, err := requestBody(w, r, mediaMergePatch, mediaJSON)
	if err != nil {
		return err
	}
	p, err := decodePatch(body)
	if err != nil {
		return err
	}
	var u users.User
	if p.IsEmpty() {
		u, err = a.store.Get(r.Context(), r.PathValue("id"))
	} else {
		u, err = a.store.Update(r.Context(), r.PathValue("id"), p)
	}
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, u)
	return nil
}

// deleteUser handles DELETE /api/users/{id}.
func (a *api) deleteUser(w http.ResponseWriter, r *http.Request) error {
	if err := a.store.Delete(r.Context(), r.PathValue("id")); err != nil {
		return err
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// parseQuery parses the query string of r. One that cannot be parsed (an
// invalid percent-escape, a ';' separator) is a 400 naming the problem, so a
// client bug is not served as if its parameters were absent.
func parseQuery(r *http.Request) (url.Values, error) {
	query, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return nil, badRequest("", "query string is malformed: %v", err)
	}
	return query, nil
}

// queryParam returns the value of the query parameter name ("" when absent);
// a parameter given more than once is a 400, since only one value can apply.
func queryParam(query url.Values, name string) (string, error) {
	values := query[name]
	if len(values) > 1 {
		return "", badRequest(name, "%s is given %d times; give it at most once", name, len(values))
	}
	if len(values) == 0 {
		return "", nil
	}
	return values[0], nil
}

// parseLimit parses the limit query parameter; absent or "" means
// defaultLimit.
func parseLimit(query url.Values) (int, error) {
	s, err := queryParam(query, "limit")
	if err != nil {
		return 0, err
	}
	if s == "" {
		return defaultLimit, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 || n > maxLimit {
		return 0, badRequest("limit", "limit must be an integer from 1 to %d", maxLimit)
	}
	return n, nil
}

// encodeCursor makes the opaque cursor of the page after the user with id;
// "" stays "".
func encodeCursor(id string) string {
	return base64.RawURLEncoding.EncodeToString([]byte(id))
}

// decodeCursor returns the user id in the cursor query parameter, made by
// encodeCursor; absent or "" means the first page.
func decodeCursor(query url.Values) (string, error) {
	cursor, err := queryParam(query, "cursor")
	if err != nil || cursor == "" {
		return "", err
	}
	id, err := base64.RawURLEncoding.DecodeString(cursor)
	if err != nil || !users.ValidID(string(id)) {
		return "", badRequest("cursor", "cursor is invalid; pass the nextCursor of a previous page")
	}
	return string(id), nil
}
