package whatsapp

import (
	"errors"
	"fmt"
	"net"
)

// Cloud API error codes this package classifies. The simulator answers with
// the same codes.
const (
	CodeAPIService         = 2      // temporary: downtime or overload
	CodeTooManyCalls       = 4      // the app's API call rate limit
	CodeInvalidParameter   = 100    // a parameter is unsupported, misspelled or invalid
	CodeTokenExpired       = 190    // the access token expired or was invalidated
	CodeWABARateLimit      = 80007  // the business account's API rate limit
	CodeThroughput         = 130429 // the number's messages-per-second throughput
	CodeSomethingWentWrong = 131000 // unknown failure on Meta's side
	CodeServiceUnavailable = 131016 // service temporarily unavailable
	CodeUndeliverable      = 131026 // the recipient cannot receive it: not on WhatsApp, old client, terms not accepted
	CodeOutsideWindow      = 131047 // more than 24 h since the customer last wrote: only a template may re-engage
	CodeUnsupportedType    = 131051 // message type not supported
	CodeMediaDownload      = 131052 // Meta could not download the customer's media
	CodeMediaUpload        = 131053 // Meta could not fetch or accept the media sent
	CodePairRateLimit      = 131056 // too many messages to the same customer in a short time
	CodeTemplateFirst      = 132000 // 132000-132016: the template is missing, paused, disabled or its parameters do not fit
	CodeTemplateLast       = 132016
)

// APIError is an error answer of the Cloud API: Meta's error envelope with
// the HTTP status it came with.
type APIError struct {
	Status  int // HTTP status
	Code    int
	Subcode int
	Type    string
	Message string
	Details string // error_data.details: the most specific explanation
	TraceID string // fbtrace_id, for Meta support
}

func (e *APIError) Error() string {
	msg := e.Message
	if e.Details != "" {
		msg += ": " + e.Details
	}
	return fmt.Sprintf("whatsapp: cloud api error %d (HTTP %d): %s", e.Code, e.Status, msg)
}

// Permanent reports whether sending the same request again cannot succeed:
// the message must fail with this reason, or, for an expired token or a
// closed 24-hour window, wait for a person or a template.
func (e *APIError) Permanent() bool {
	switch e.Code {
	case CodeInvalidParameter, CodeTokenExpired, CodeUndeliverable, CodeOutsideWindow,
		CodeUnsupportedType, CodeMediaDownload, CodeMediaUpload:
		return true
	}
	return e.Code >= CodeTemplateFirst && e.Code <= CodeTemplateLast
}

// Retryable reports whether the same request may succeed later, after a
// back-off: rate limits and outages. An error that is neither Retryable nor
// Permanent is one Meta has not told us how to handle; treat it as permanent
// after a few attempts.
func (e *APIError) Retryable() bool {
	if e.Permanent() {
		return false
	}
	switch e.Code {
	case CodeAPIService, CodeTooManyCalls, CodeWABARateLimit, CodeThroughput,
		CodeSomethingWentWrong, CodeServiceUnavailable, CodePairRateLimit:
		return true
	}
	return e.Status == 429 || e.Status >= 500
}

// TokenExpired reports whether the number's access token must be renewed
// before anything else can be sent with it.
func (e *APIError) TokenExpired() bool { return e.Code == CodeTokenExpired }

// IsRetryable reports whether a Client error may go away by itself: a
// retryable APIError, or no answer from Meta at all (network failure, timeout,
// cancelled context). A request refused before sending, or an answer that
// could not be read, is not retryable.
func IsRetryable(err error) bool {
	if apiErr, ok := errors.AsType[*APIError](err); ok {
		return apiErr.Retryable()
	}
	_, ok := errors.AsType[*transportError](err)
	return ok
}

// NotSent reports whether err says the request never reached Meta: the
// connection could not be made (refused, unreachable, this process out of
// file descriptors). Any other transport error (a reset, a timeout while
// waiting for the answer) may come after Meta took the request.
func NotSent(err error) bool {
	if _, ok := errors.AsType[*transportError](err); !ok {
		return false
	}
	op, ok := errors.AsType[*net.OpError](err)
	return ok && op.Op == "dial"
}

// transportError is a request that got no HTTP answer.
type transportError struct{ err error }

func (e *transportError) Error() string { return e.err.Error() }
func (e *transportError) Unwrap() error { return e.err }
