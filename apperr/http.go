package apperr

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
)

// statuses are the HTTP statuses of the codes, for endpoints outside GraphQL.
var statuses = map[Code]int{
	Unauthenticated: http.StatusUnauthorized,
	Forbidden:       http.StatusForbidden,
	NotFound:        http.StatusNotFound,
	InvalidInput:    http.StatusBadRequest,
	Conflict:        http.StatusConflict,
	RateLimited:     http.StatusTooManyRequests,
	BadRequest:      http.StatusBadRequest,
	PayloadTooLarge: http.StatusRequestEntityTooLarge,
	LinkInvalid:     http.StatusForbidden,
	LinkExpired:     http.StatusGone,
	Cancelled:       499, // nginx's "client closed request": nobody reads it
}

// WriteHTTP answers err as the GraphQL endpoint would, outside GraphQL:
// {"errors": [{"message", "extensions": {"code", "field"}}]} with the code's
// HTTP status. An error without a code is INTERNAL, its text not shown.
func WriteHTTP(w http.ResponseWriter, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = New(Internal, "internal error")
	}
	status, ok := statuses[e.Code]
	if !ok {
		status = http.StatusInternalServerError
	}
	write(w, status, e)
}

// WriteMethodNotAllowed answers a request whose method is not allowed:
// 405 with Allow, the body a BAD_REQUEST error as WriteHTTP writes them.
func WriteMethodNotAllowed(w http.ResponseWriter, allowed string) {
	w.Header().Set("Allow", allowed)
	write(w, http.StatusMethodNotAllowed, New(BadRequest, "use %s", allowed))
}

func write(w http.ResponseWriter, status int, e *Error) {
	ext := map[string]any{"code": string(e.Code)}
	if e.Field != "" {
		ext["field"] = e.Field
	}
	if e.Code == Unauthenticated {
		w.Header().Set("WWW-Authenticate", `Bearer realm="switchboard"`)
	}
	if e.Code == RateLimited {
		w.Header().Set("Retry-After", strconv.Itoa(RetrySeconds(e.RetryAfter)))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"errors": []map[string]any{{"message": e.Message, "extensions": ext}}})
}
