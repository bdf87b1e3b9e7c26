package sim

import (
	"fmt"
	"net/http"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// apiError is an error answer of the Graph API, written in Meta's envelope.
type apiError struct {
	status  int // HTTP status
	code    int
	subcode int
	typ     string
	message string
	details string // error_data.details
}

func (e *apiError) Error() string { return fmt.Sprintf("(#%d) %s: %s", e.code, e.message, e.details) }

// envelope is Meta's error body.
func (e *apiError) envelope(traceID string) map[string]any {
	body := map[string]any{
		"message":    e.message,
		"type":       e.typ,
		"code":       e.code,
		"fbtrace_id": traceID,
	}
	if e.subcode != 0 {
		body["error_subcode"] = e.subcode
	}
	if e.details != "" {
		body["error_data"] = map[string]string{"messaging_product": "whatsapp", "details": e.details}
	}
	return map[string]any{"error": body}
}

// The HTTP statuses follow Meta's error code reference: throttling and
// policy errors come with 400, not 429.

func errInvalidParameter(format string, args ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: whatsapp.CodeInvalidParameter, typ: "OAuthException",
		message: "(#100) Invalid parameter", details: fmt.Sprintf(format, args...)}
}

func errTokenInvalid() *apiError {
	return &apiError{status: http.StatusUnauthorized, code: whatsapp.CodeTokenExpired, typ: "OAuthException",
		message: "Error validating access token: Session has expired or is invalid."}
}

// errNoNode is Graph's answer for an id that does not exist or that the token
// may not see.
func errNoNode(method, id string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: whatsapp.CodeInvalidParameter, subcode: 33, typ: "GraphMethodException",
		message: fmt.Sprintf("Unsupported %s request. Object with ID '%s' does not exist, cannot be loaded due to missing permissions, or does not support this operation.", method, id)}
}

func errThroughput() *apiError {
	return &apiError{status: http.StatusBadRequest, code: whatsapp.CodeThroughput, typ: "OAuthException",
		message: "(#130429) Rate limit hit", details: "Cloud API message throughput has been reached."}
}

func errPairRate() *apiError {
	return &apiError{status: http.StatusBadRequest, code: whatsapp.CodePairRateLimit, typ: "OAuthException",
		message: "(#131056) (Business Account, Consumer Account) pair rate limit hit",
		details: "Message failed to send because there were too many messages sent from this phone number to the same phone number in a short period of time."}
}

func errOutsideWindow() *apiError {
	return &apiError{status: http.StatusBadRequest, code: whatsapp.CodeOutsideWindow, typ: "OAuthException",
		message: "(#131047) Re-engagement message",
		details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number."}
}

// codeAccountLocked is Meta's answer to a send from a banned number.
const codeAccountLocked = 131031

func errAccountLocked() *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeAccountLocked, typ: "OAuthException",
		message: "(#131031) Business Account locked", details: "The business account has been locked and cannot send messages."}
}

// errOutage is a 503 with code 2 (API service) or a 500 with code 131000
// (something went wrong).
func errOutage(status int) *apiError {
	if status == http.StatusInternalServerError {
		return &apiError{status: status, code: whatsapp.CodeSomethingWentWrong, typ: "OAuthException",
			message: "(#131000) Something went wrong", details: "Something went wrong. Please try again later."}
	}
	return &apiError{status: http.StatusServiceUnavailable, code: whatsapp.CodeAPIService, typ: "OAuthException",
		message: "(#2) Service temporarily unavailable", details: "Temporarily unavailable due to downtime or overload."}
}

// deliveryErrors are the titles Meta gives the codes a failed status carries.
var deliveryErrors = map[int]string{
	whatsapp.CodeUndeliverable:      "Message undeliverable",
	whatsapp.CodeOutsideWindow:      "Re-engagement message",
	131049:                          "Message not delivered to maintain healthy ecosystem engagement",
	131050:                          "User has stopped marketing messages",
	whatsapp.CodeMediaUpload:        "Media upload error",
	130472:                          "User's number is part of an experiment",
	whatsapp.CodeSomethingWentWrong: "Something went wrong",
}

// deliveryError is the errors[] item of a failed status.
func deliveryError(code int) map[string]any {
	title, ok := deliveryErrors[code]
	if !ok {
		title = "Message failed to send"
	}
	return map[string]any{
		"code":       code,
		"title":      title,
		"message":    title,
		"error_data": map[string]string{"details": title + "."},
		"href":       "https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes/",
	}
}
