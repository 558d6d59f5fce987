// Package users holds the user resource: its validation rules and its
// Redis-backed store.
package users

import (
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
)

// Limits on client-supplied values.
const (
	MaxNameRunes  = 100
	MaxEmailBytes = 254 // the longest address SMTP can carry (RFC 5321)
)

// Errors returned by the Store.
var (
	// ErrNotFound means no user has the requested id.
	ErrNotFound = errors.New("user not found")
	// ErrEmailTaken means another user already has the email, compared case-insensitively.
	ErrEmailTaken = errors.New("email already taken")
	// ErrConflict means the user kept changing under a write until it gave up.
	ErrConflict = errors.New("user was modified concurrently")
	// ErrUnavailable wraps every failure to talk to Redis.
	ErrUnavailable = errors.New("storage unavailable")
)

// User is a stored user.
type User struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Email     string    `json:"email"`
	CreatedAt time.Time `json:"createdAt"`
	UpdatedAt time.Time `json:"updatedAt"`
}

// Input is the part of a user that clients set.
type Input struct {
	Name  string
	Email string
}

// Validate returns in with its name trimmed, or a *FieldError for the first
// invalid field.
func (in Input) Validate() (Input, error) {
	name, err := ValidateName(in.Name)
	if err != nil {
		return Input{}, err
	}
	if err := ValidateEmail(in.Email); err != nil {
		return Input{}, err
	}
	return Input{Name: name, Email: in.Email}, nil
}

// Patch holds new values for some fields of a user; a nil field is left as it is.
type Patch struct {
	Name  *string
	Email *string
}

// IsEmpty reports whether p changes nothing.
func (p Patch) IsEmpty() bool { return p.Name == nil && p.Email == nil }

// Validate returns p with its name trimmed, or a *FieldError for the first
// invalid field.
func (p Patch) Validate() (Patch, error) {
	var out Patch
	if p.Name != nil {
		name, err := ValidateName(*p.Name)
		if err != nil {
			return Patch{}, err
		}
		out.Name = &name
	}
	if p.Email != nil {
		if err := ValidateEmail(*p.Email); err != nil {
			return Patch{}, err
		}
		email := *p.Email
		out.Email = &email
	}
	return out, nil
}

// apply returns u with the fields of p set.
func (p Patch) apply(u User) User {
	if p.Name != nil {
		u.Name = *p.Name
	}
	if p.Email != nil {
		u.Email = *p.Email
	}
	return u
}

// FieldError reports an invalid value for a field.
type FieldError struct {
	Field   string
	Message string
}

func (e *FieldError) Error() string { return e.Message }

// ValidateName returns name without surrounding white space. It must then be
// 1 to MaxNameRunes characters long and hold no control characters.
func ValidateName(name string) (string, error) {
	name = strings.TrimSpace(name)
	if n := utf8.RuneCountInString(name); n < 1 || n > MaxNameRunes {
		return "", &FieldError{"name", fmt.Sprintf("name must be 1 to %d characters long, not counting surrounding spaces", MaxNameRunes)}
	}
	if strings.ContainsFunc(name, unicode.IsControl) {
		return "", &FieldError{"name", "name must not contain control characters"}
	}
	return name, nil
}

// ValidateEmail checks that email is one plain address such as
// "ada@example.com": no display name, angle brackets, comments or
// surrounding spaces.
func ValidateEmail(email string) error {
	if len(email) > MaxEmailBytes {
		return &FieldError{"email", fmt.Sprintf("email must be at most %d bytes long", MaxEmailBytes)}
	}
	addr, err := mail.ParseAddress(email)
	if err != nil || addr.Name != "" || addr.Address != email {
		return &FieldError{"email", "email must be a single plain address such as name@example.com"}
	}
	return nil
}

// ValidID reports whether id is in the canonical form of the ids the store
// generates: a lower-case, hyphenated UUID of version 7.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.Version() == 7 && u.String() == id
}
