package connector

import (
	"cmp"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// MaxWebhookBytes bounds a webhook body; Meta's are far smaller.
const MaxWebhookBytes = 3 << 20

// Webhook receives the Cloud API's webhooks. GET answers Meta's
// verification handshake; POST checks X-Hub-Signature-256, stores the raw
// body (one INSERT: the stored row is the durable record) and answers 200 at
// once: a crash after that answer loses nothing, the Sweeper ingests what no
// ingest finished.
type Webhook struct {
	Client      *ent.Client
	AppSecret   []byte
	VerifyToken string
	// Ingester, when set, ingests a delivery right after it is stored, for
	// latency: the delivery is stored claimed by that ingest for Lease, so
	// that no sweep takes it meanwhile. At most Eager run at once; past that,
	// deliveries are stored unclaimed for the Sweeper.
	Ingester *Ingester
	Eager    int
	// Lease is how long an eager ingest holds its delivery (ClaimLease when
	// zero): after that a sweep takes it, the ingest being presumed dead.
	Lease time.Duration
	Log   *slog.Logger

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
	eager := h.Ingester != nil && h.eager.Add(1) <= int64(h.Eager)
	if h.Ingester != nil && !eager {
		h.eager.Add(-1)
	}
	create := h.Client.WebhookDelivery.Create().SetBody(body)
	var claim string
	if eager {
		claim = newClaim()
		create.SetClaim(claim).SetDueAt(h.Ingester.clock.Now().Add(cmp.Or(h.Lease, ClaimLease)).UTC())
	}
	d, err := create.Save(ctx)
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
			h.Ingester.ingestClaimed(context.WithoutCancel(ctx), d, claim)
		}()
	}
}
