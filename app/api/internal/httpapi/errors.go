package httpapi

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/sample-app/sample-app/app/api/internal/users"
)

// apiError is an error together with the status and JSON body it is answered
// with.
type apiError struct {
	Status  int    `json:"-"`
	Message string `json:"error"`
	Field   string `json:"field,omitempty"`
}

func (e *apiError) Error() string { return e.Message }

// badRequest returns a 400 error, about field unless field is "".
func badRequest(field, format string, args ...any) *apiError {
	return &apiError{Status: http.StatusBadRequest, Message: fmt.Sprintf(format, args...), Field: field}
}

// toAPIError maps err to the response that reports it. Errors it does not
// know are internal: a 500 whose body reveals nothing.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	var fe *users.FieldError
	if errors.As(err, &fe) {
		return badRequest(fe.Field, "%s", fe.Message)
	}
	switch {
	case errors.Is(err, users.ErrNotFound):
		return &apiError{Status: http.StatusNotFound, Message: "user not found"}
	case errors.Is(err, users.ErrEmailTaken):
		return &apiError{Status: http.StatusConflict, Message: "email already taken", Field: "email"}
	case errors.Is(err, users.ErrConflict):
		return &apiError{Status: http.StatusConflict, Message: "user was modified concurrently; retry the request"}
	case errors.Is(err, users.ErrUnavailable):
		return &apiError{Status: http.StatusServiceUnavailable, Message: "storage unavailable; retry later"}
	}
	return &apiError{Status: http.StatusInternalServerError, Message: "internal error"}
}
