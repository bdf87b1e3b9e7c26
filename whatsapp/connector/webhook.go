package connector

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// MaxWebhookBytes bounds a webhook body; Meta's are far smaller.
const MaxWebhookBytes = 3 << 20

// Webhook receives the Cloud API's webhooks. GET answers Meta's
// verification handshake; POST checks X-Hub-Signature-256, stores the raw
// body and enqueues its processing in one transaction, then answers 200 at
// once: a crash after that answer loses nothing.
type Webhook struct {
	Client      *ent.Client
	AppSecret   []byte
	VerifyToken string
	// Enqueue schedules the processing of a stored delivery inside tx (a
	// durable job in production: EnqueueWebhook). eager tells that Process
	// is about to ingest it at once, so the job is only a safety net.
	Enqueue func(ctx context.Context, tx *ent.Tx, deliveryID string, eager bool) error
	// Process, when set, ingests a delivery right after it is stored, for
	// latency; the durable job then finds it done. At most Eager run at once;
	// past that, deliveries wait for their job.
	Process func(ctx context.Context, deliveryID string) error
	Eager   int
	Log     *slog.Logger

	rejected, accepted atomic.Int64
	eager              atomic.Int64
}

// Rejected counts POSTs refused for a missing or wrong signature.
func (h *Webhook) Rejected() int64 { return h.rejected.Load() }

// Accepted counts stored deliveries.
func (h *Webhook) Accepted() int64 { return h.accepted.Load() }

func (h *Webhook) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		challenge, ok := whatsapp.VerifyChallenge(r.URL.Query(), h.VerifyToken)
		if !ok {
			http.Error(w, "verification failed", http.StatusForbidden)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = io.WriteString(w, challenge)
	case http.MethodPost:
		h.post(w, r)
	default:
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

func (h *Webhook) post(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, MaxWebhookBytes))
	var tooLarge *http.MaxBytesError
	switch {
	case errors.As(err, &tooLarge):
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	case err != nil:
		http.Error(w, "unreadable body", http.StatusBadRequest)
		return
	}
	if err := whatsapp.VerifySignature(h.AppSecret, body, r.Header.Get(whatsapp.SignatureHeader)); err != nil {
		h.rejected.Add(1)
		h.Log.Warn("whatsapp: webhook refused", "reason", err, "remote", r.RemoteAddr)
		http.Error(w, "bad signature", http.StatusUnauthorized)
		return
	}
	ctx := viewer.Platform(r.Context())
	// An eager slot is taken before storing, so that the job knows it is
	// only the safety net.
	eager := h.Process != nil && h.eager.Add(1) <= int64(h.Eager)
	if h.Process != nil && !eager {
		h.eager.Add(-1)
	}
	var id string
	err = store.WithTx(ctx, h.Client, func(ctx context.Context, tx *ent.Tx) error {
		d, err := tx.WebhookDelivery.Create().SetBody(body).Save(ctx)
		if err != nil {
			return err
		}
		id = d.ID
		return h.Enqueue(ctx, tx, d.ID, eager)
	})
	if err != nil {
		if eager {
			h.eager.Add(-1)
		}
		// Meta retries what is not acknowledged: nothing is lost.
		h.Log.Error("whatsapp: webhook not stored", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	h.accepted.Add(1)
	w.WriteHeader(http.StatusOK)
	if eager {
		go func() {
			defer h.eager.Add(-1)
			if err := h.Process(context.WithoutCancel(ctx), id); err != nil && !errors.Is(err, ErrStatusBeforeSend) {
				h.Log.Warn("whatsapp: eager ingest failed; its job will retry", "delivery", id, "err", err)
			}
		}()
	}
}

// EagerGrace is how long the job of a delivery being ingested eagerly waits
// before it runs: long enough for the eager ingest to finish, so the two do
// not ingest the same delivery at once (on Postgres the loser would hit a
// unique index and be retried); short enough to pick up soon what an eager
// ingest that failed or died left behind.
const EagerGrace = 5 * time.Second

// EnqueueWebhook returns a Webhook.Enqueue that inserts the delivery's
// durable job with jobs, in the delivery's transaction.
func EnqueueWebhook(jobs *job.Client) func(ctx context.Context, tx *ent.Tx, deliveryID string, eager bool) error {
	return func(ctx context.Context, tx *ent.Tx, deliveryID string, eager bool) error {
		stx, err := tx.SQLTx()
		if err != nil {
			return err
		}
		var opts *river.InsertOpts
		if eager {
			opts = &river.InsertOpts{ScheduledAt: time.Now().Add(EagerGrace)}
		}
		_, err = jobs.InsertTx(ctx, stx, ProcessWebhookArgs{DeliveryID: deliveryID}, opts)
		return err
	}
}
