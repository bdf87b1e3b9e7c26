package graph

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/lib/pq"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
)

// A subscriber that leaves mid-execution makes its loads fail with the
// context's error: that is the caller going away, not an internal error. The
// same error while the operation's context is still alive (a timeout of the
// server's own) stays INTERNAL. On Postgres the failed load carries the
// server's cancellation (SQLSTATE 57014) instead of the context's error.
func TestCallerCancellationIsNotInternal(t *testing.T) {
	t.Parallel()
	left, cancel := context.WithCancel(t.Context())
	cancel()
	loadErr := fmt.Errorf("load conversation: %w", context.Canceled)

	require.Equal(t, string(apperr.Cancelled), presentError(left, loadErr).Extensions["code"])
	require.Equal(t, string(apperr.Internal), presentError(t.Context(), loadErr).Extensions["code"])
	require.Equal(t, string(apperr.Internal), presentError(left, errors.New("disk full")).Extensions["code"])

	// On Postgres lib/pq answers a context that ends mid-statement with the
	// server's cancellation, not the context's error.
	pqCancel := fmt.Errorf("load conversation: %w", &pq.Error{Code: "57014", Message: "canceling statement due to user request"})
	require.Equal(t, string(apperr.Cancelled), presentError(left, pqCancel).Extensions["code"])
	require.Equal(t, string(apperr.Internal), presentError(t.Context(), pqCancel).Extensions["code"], "a statement_timeout of the server's")
}
