package app

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

// While River stops, the error its periodic job enqueuer logs for its own
// cancelled context is logged at INFO; any other error, or the same one while
// running, stays at ERROR (defect 12).
func TestRiverCancelledOnStopIsNotAnError(t *testing.T) {
	var buf bytes.Buffer
	var stopping atomic.Bool
	log := slog.New(riverLog{slog.LevelWarn, &stopping, slog.NewTextHandler(&buf, nil)}).With("svc", "river")
	ctx := context.Background()
	msg := "maintenance.PeriodicJobEnqueuer: Error starting transaction"

	log.ErrorContext(ctx, msg, "error", context.Canceled.Error())
	require.Contains(t, buf.String(), "level=ERROR", "while running it is an error")
	buf.Reset()

	stopping.Store(true)
	log.ErrorContext(ctx, msg, "error", context.Canceled.Error())
	require.Contains(t, buf.String(), `level=INFO msg="maintenance.PeriodicJobEnqueuer: Error starting transaction (while stopping)" svc=river error="context canceled"`)
	buf.Reset()

	log.ErrorContext(ctx, msg, "error", errors.New("connection refused").Error())
	require.Contains(t, buf.String(), "level=ERROR")
	buf.Reset()

	log.Info("chatty")
	require.Empty(t, buf.String(), "River's INFO is still left out")
}
