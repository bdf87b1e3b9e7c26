package broadcast

import (
	"context"
	"time"
)

// Settle runs one settling of the number's SENDING rows, as a run does
// before it claims anything, and returns how many still wait.
func (d *Dispatcher) Settle(ctx context.Context, broadcastID, numberID string, horizon time.Duration) (int, error) {
	return d.reconcile(ctx, broadcastID, numberID, horizon)
}
