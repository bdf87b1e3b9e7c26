package whatsapp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

func metaError(code int, message string) string {
	return fmt.Sprintf(`{"error":{"message":%q,"type":"OAuthException","code":%d,"error_data":{"messaging_product":"whatsapp","details":"details of %d"},"fbtrace_id":"AbCd"}}`, message, code, code)
}

func TestAPIErrorClasses(t *testing.T) {
	t.Parallel()

	type class int
	const (
		unclassified class = iota
		retryable
		permanent
		tokenExpired // permanent as well
	)
	tests := []struct {
		name   string
		status int
		answer string
		want   class
	}{
		{name: "throughput", status: 400, answer: metaError(CodeThroughput, "(#130429) Rate limit hit"), want: retryable},
		{name: "pair rate limit", status: 400, answer: metaError(CodePairRateLimit, "(#131056) Pair rate limit hit"), want: retryable},
		{name: "something went wrong", status: 500, answer: metaError(CodeSomethingWentWrong, "Something went wrong"), want: retryable},
		{name: "service unavailable", status: 503, answer: metaError(CodeServiceUnavailable, "Service unavailable"), want: retryable},
		{name: "app call rate", status: 400, answer: metaError(CodeTooManyCalls, "(#4) Application request limit reached"), want: retryable},
		{name: "account call rate", status: 400, answer: metaError(CodeWABARateLimit, "(#80007) Rate limit issues"), want: retryable},
		{name: "api service", status: 503, answer: metaError(CodeAPIService, "Service temporarily unavailable"), want: retryable},
		{name: "HTTP 429 without envelope", status: 429, answer: ``, want: retryable},
		{name: "HTTP 502 from a proxy", status: 502, answer: `<html>Bad Gateway</html>`, want: retryable},
		{name: "outside the 24h window", status: 400, answer: metaError(CodeOutsideWindow, "(#131047) Re-engagement message"), want: permanent},
		{name: "undeliverable", status: 400, answer: metaError(CodeUndeliverable, "(#131026) Message Undeliverable"), want: permanent},
		{name: "unsupported type", status: 400, answer: metaError(CodeUnsupportedType, "(#131051) Unsupported message type"), want: permanent},
		{name: "media download", status: 400, answer: metaError(CodeMediaDownload, "(#131052) Media download error"), want: permanent},
		{name: "media upload", status: 400, answer: metaError(CodeMediaUpload, "(#131053) Media upload error"), want: permanent},
		{name: "template parameters", status: 400, answer: metaError(132000, "(#132000) Number of parameters does not match"), want: permanent},
		{name: "template missing", status: 404, answer: metaError(132001, "(#132001) Template name does not exist"), want: permanent},
		{name: "template disabled", status: 400, answer: metaError(132016, "(#132016) Template disabled"), want: permanent},
		{name: "invalid parameter", status: 400, answer: metaError(CodeInvalidParameter, "(#100) Invalid parameter"), want: permanent},
		// A permanent code wins over a 5xx status.
		{name: "permanent code on a 500", status: 500, answer: metaError(CodeOutsideWindow, "Re-engagement message"), want: permanent},
		{name: "expired token", status: 401, answer: metaError(CodeTokenExpired, "Error validating access token: Session has expired"), want: tokenExpired},
		{name: "spam rate limit", status: 400, answer: metaError(131048, "(#131048) Spam rate limit hit"), want: unclassified},
		{name: "past the template range", status: 400, answer: metaError(132017, "(#132017) something new"), want: unclassified},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, tt.status, tt.answer)

			_, err := bundle.client.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
			apiErr, ok := errors.AsType[*APIError](err)
			require.True(t, ok, "want an *APIError, got %v", err)
			require.Equal(t, tt.status, apiErr.Status)
			require.Equal(t, tt.want == retryable, apiErr.Retryable(), "retryable")
			require.Equal(t, tt.want == retryable, IsRetryable(err), "IsRetryable")
			require.Equal(t, tt.want == permanent || tt.want == tokenExpired, apiErr.Permanent(), "permanent")
			require.Equal(t, tt.want == tokenExpired, apiErr.TokenExpired(), "token expired")
		})
	}
}

func TestAPIErrorReadsMetasEnvelope(t *testing.T) {
	t.Parallel()
	bundle := setup(t, http.StatusBadRequest, `{"error":{"message":"(#131047) Re-engagement message","type":"OAuthException","code":131047,
		"error_subcode":2494010,"error_data":{"messaging_product":"whatsapp","details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."},
		"fbtrace_id":"A7zGJ1mX8y"}}`)

	_, err := bundle.client.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
	apiErr, ok := errors.AsType[*APIError](err)
	require.True(t, ok)
	require.Equal(t, &APIError{
		Status: 400, Code: 131047, Subcode: 2494010, Type: "OAuthException",
		Message: "(#131047) Re-engagement message",
		Details: "Message failed to send because more than 24 hours have passed since the customer last replied to this number.",
		TraceID: "A7zGJ1mX8y",
	}, apiErr)
	require.Contains(t, err.Error(), "131047")
	require.Contains(t, err.Error(), "more than 24 hours")
}

func TestNetworkErrorsAreRetryable(t *testing.T) {
	t.Parallel()

	t.Run("nobody listening", func(t *testing.T) {
		t.Parallel()
		server := httptest.NewServer(http.NotFoundHandler())
		server.Close()
		c := &Client{BaseURL: server.URL}

		_, err := c.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
		require.Error(t, err)
		require.True(t, IsRetryable(err))
	})
	t.Run("connection dropped before the answer", func(t *testing.T) {
		t.Parallel()
		server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if conn, _, err := w.(http.Hijacker).Hijack(); err == nil {
				conn.Close()
			}
		}))
		t.Cleanup(server.Close)
		c := &Client{BaseURL: server.URL, HTTPClient: server.Client()}

		_, err := c.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
		require.Error(t, err)
		require.True(t, IsRetryable(err))
	})
	t.Run("context cancelled", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t, http.StatusOK, sentAnswer)
		ctx, cancel := context.WithCancel(t.Context())
		cancel()

		_, err := bundle.client.SendText(ctx, testNumber, testToken, testCustomer, "hi", "")
		require.ErrorIs(t, err, context.Canceled)
		require.True(t, IsRetryable(err))
	})
}
