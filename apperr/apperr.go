// Package apperr defines the stable error codes every API error carries in
// extensions.code, and the error type domain services return. It is the one
// place where codes are declared; clients switch on them, so never rename one.
package apperr

import (
	"errors"
	"fmt"
	"time"
)

// Code is a stable, machine-readable error code.
type Code string

// The codes. GraphQL errors raised by the executor itself (parse and
// validation) keep gqlgen's GRAPHQL_PARSE_FAILED and GRAPHQL_VALIDATION_FAILED.
const (
	Unauthenticated Code = "UNAUTHENTICATED" // no or bad credentials
	Forbidden       Code = "FORBIDDEN"       // authenticated, not allowed
	NotFound        Code = "NOT_FOUND"       // absent, or in another tenant
	InvalidInput    Code = "INVALID_INPUT"   // the request is well formed but a value is wrong
	Conflict        Code = "CONFLICT"        // unique constraint or state conflict
	RateLimited     Code = "RATE_LIMITED"    // slow down and retry later
	BadRequest      Code = "BAD_REQUEST"     // the HTTP request itself is malformed
	PayloadTooLarge Code = "PAYLOAD_TOO_LARGE"
	// OutsideWindow: more than 24 hours since the customer last wrote; only a
	// template may be sent.
	OutsideWindow Code = "OUTSIDE_CUSTOMER_WINDOW"
	// UnsupportedByProvider: the number's transport cannot do this (the
	// Cloud API's Groups API cannot add members by number, for one); the
	// message says why. Nothing was stored.
	UnsupportedByProvider Code = "UNSUPPORTED_BY_PROVIDER"
	QueryTooDeep          Code = "QUERY_TOO_DEEP"
	// LinkInvalid: a signed link (an export's download) was altered or not
	// signed by this server. LinkExpired: it was, but its time is over.
	LinkInvalid     Code = "LINK_INVALID"
	LinkExpired     Code = "LINK_EXPIRED"
	QueryTooComplex Code = "QUERY_TOO_COMPLEX"
	// Cancelled: the caller left (a subscriber disconnected, a request was
	// abandoned) or its own deadline passed before the answer was ready.
	Cancelled Code = "CANCELLED"
	Internal  Code = "INTERNAL" // a bug or an outage; details are logged, not returned
)

// Error is an error with a code, safe to show to the caller.
type Error struct {
	Code    Code
	Message string
	// Field names the input field at fault, for INVALID_INPUT.
	Field string
	// Err is the cause, kept for logs and errors.Is.
	Err error
	// RetryAfter, for RATE_LIMITED, is how long to wait before trying again
	// (the Retry-After header and extensions.retryAfter, in seconds).
	RetryAfter time.Duration
}

func (e *Error) Error() string { return e.Message }

func (e *Error) Unwrap() error { return e.Err }

// New returns an error with code and message.
func New(code Code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// Invalid returns an INVALID_INPUT error about field.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: InvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Limited returns a RATE_LIMITED error asking to wait at least wait.
func Limited(wait time.Duration, format string, args ...any) *Error {
	return &Error{Code: RateLimited, Message: fmt.Sprintf(format, args...), RetryAfter: wait}
}

// RetrySeconds is d in whole seconds, rounded up, at least 1: what
// Retry-After carries.
func RetrySeconds(d time.Duration) int {
	return max(1, int((d+time.Second-1)/time.Second))
}

// CodeOf returns the code of err, or "" when err carries none.
func CodeOf(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}
