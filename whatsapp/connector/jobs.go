package connector

import (
	"context"
	"errors"
	"time"

	"github.com/riverqueue/river"
)

// ProcessWebhookArgs is the durable job that ingests one stored delivery.
type ProcessWebhookArgs struct {
	DeliveryID string `json:"delivery_id"`
}

// Kind names the job.
func (ProcessWebhookArgs) Kind() string { return "whatsapp.process_webhook" }

// InsertOpts: webhooks have their own queue, so a burst of sends never
// delays ingest.
func (ProcessWebhookArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueIngest, MaxAttempts: 25}
}

// Queues.
const (
	QueueIngest = "ingest"
	QueueSend   = "send"
)

// ProcessWebhookWorker runs ProcessWebhookArgs.
type ProcessWebhookWorker struct {
	river.WorkerDefaults[ProcessWebhookArgs]
	Ingester *Ingester
}

// Work ingests the delivery. A status for a message not yet recorded waits a
// little and tries again.
func (w *ProcessWebhookWorker) Work(ctx context.Context, j *river.Job[ProcessWebhookArgs]) error {
	err := w.Ingester.Process(ctx, j.Args.DeliveryID)
	if errors.Is(err, ErrStatusBeforeSend) {
		return river.JobSnooze(time.Second * time.Duration(1<<min(j.Attempt, 5)))
	}
	return err
}
