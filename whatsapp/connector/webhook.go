package connector

import (
	"cmp"
	"context"
	"errors"
	"hash/fnv"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// MaxWebhookBytes bounds a webhook body; Meta's are far smaller.
const MaxWebhookBytes = 3 << 20

// Webhook receives the Cloud API's webhooks. GET answers Meta's
// verification handshake; POST checks X-Hub-Signature-256, stores the raw
// body (the stored row is the durable record; POSTs arriving together are
// stored in one transaction) and answers 200 once it is committed: a crash
// after that answer loses nothing, the Sweeper ingests what no ingest
// finished.
type Webhook struct {
	Client      *ent.Client
	AppSecret   []byte
	VerifyToken string
	// Ingester, when set, ingests the stored deliveries right after they
	// are stored, for latency: they are stored claimed by the eager ingest
	// for Lease, so that no sweep takes them meanwhile, and queued for it.
	// Eager workers take what is queued, up to maxBatch deliveries at a time
	// each, and ingest it in one transaction when they can (a group commit:
	// under load the batches grow with the time a batch takes, idle each
	// delivery goes at once; none when Eager is zero). While Eager × maxBatch deliveries wait, new
	// ones are stored unclaimed for the Sweeper.
	Ingester *Ingester
	Eager    int
	// Lease is how long an eager ingest holds its delivery (ClaimLease when
	// zero), from when it is stored: after that a sweep takes it, the ingest
	// being presumed dead, and an eager ingest that finds it still queued
	// leaves it to the sweep.
	Lease time.Duration
	// Writers is how many batches of deliveries are stored at once (1 when
	// zero). POSTs that arrive while a batch is being stored wait and are
	// stored together in the next one, in one transaction: a group commit.
	// On SQLite's single writer a transaction per webhook (two or three per
	// broadcast message) queued every other write behind them.
	Writers int
	// MaxPending bounds the POSTs waiting for the next batch to be stored
	// (those in the batches being stored, Writers × 64 at most, come on
	// top; a POST still sending its body is not counted); one beyond it is
	// answered 503 with Retry-After at once, and the provider posts it
	// again later (Meta retries for days). Zero: no bound. Each waiting
	// POST holds its connection: unbounded, a flood of status webhooks
	// held thousands, until the process ran out of descriptors and could
	// no longer open its database file.
	MaxPending int
	Log        *slog.Logger

	rejected, accepted, shed atomic.Int64

	mu      sync.Mutex
	pending []*arrival // POSTs waiting to be stored
	writing int        // requests storing batches
	// queued are the deliveries waiting for the eager ingest, in Eager
	// partitions by customer (shareKey): each has one worker at most, so
	// batches ingested at once hold different customers' rows.
	queued    [][]delivery
	nQueued   int
	ingesting []bool
	batches   atomic.Int64
}

// arrival is a POST waiting to be stored.
type arrival struct {
	body []byte
	done chan error
}

// maxBatch bounds the deliveries stored (and ingested) together.
const maxBatch = 64

// Batches counts the transactions that stored deliveries; with Accepted it
// tells how many webhooks a commit stored.
func (h *Webhook) Batches() int64 { return h.batches.Load() }

// Rejected counts POSTs refused for a missing or wrong signature.
func (h *Webhook) Rejected() int64 { return h.rejected.Load() }

// Accepted counts stored deliveries.
func (h *Webhook) Accepted() int64 { return h.accepted.Load() }

// Pending is how many POSTs wait to be stored now.
func (h *Webhook) Pending() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.pending)
}

// Shed counts POSTs answered 503 because MaxPending were waiting.
func (h *Webhook) Shed() int64 { return h.shed.Load() }

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
	a := &arrival{body: body, done: make(chan error, 1)}
	h.mu.Lock()
	if h.MaxPending > 0 && len(h.pending) >= h.MaxPending {
		h.mu.Unlock()
		if n := h.shed.Add(1); n&(n-1) == 0 { // the 1st, 2nd, 4th, 8th…: said, not flooded
			h.Log.Warn("whatsapp: webhooks arrive faster than they are stored; the excess is answered 503 for the provider to retry",
				"waiting", h.MaxPending, "shed", n)
		}
		w.Header().Set("Retry-After", "1")
		http.Error(w, "busy: try again", http.StatusServiceUnavailable)
		return
	}
	h.pending = append(h.pending, a)
	lead := h.writing < max(h.Writers, 1)
	if lead {
		h.writing++
	}
	h.mu.Unlock()
	if lead {
		// this request stores what is pending, its own among it, until
		// nothing is
		h.storePending(context.WithoutCancel(viewer.Platform(r.Context())))
	}
	if err := <-a.done; err != nil {
		// Meta retries what is not acknowledged: nothing is lost.
		h.Log.Error("whatsapp: webhook not stored", "err", err)
		http.Error(w, "try again", http.StatusServiceUnavailable)
		return
	}
	w.WriteHeader(http.StatusOK)
}

// storePending stores the pending arrivals a batch at a time until none is
// left, answering each, and queues every batch for the eager ingest when
// its queue has room.
func (h *Webhook) storePending(ctx context.Context) {
	for {
		h.mu.Lock()
		n := min(len(h.pending), maxBatch)
		if n == 0 {
			h.writing--
			h.mu.Unlock()
			return
		}
		batch := slices.Clone(h.pending[:n])
		h.pending = slices.Delete(h.pending, 0, n)
		h.mu.Unlock()
		h.storeBatch(ctx, batch)
	}
}

// storeBatch stores a batch in one transaction, claimed by the eager ingest
// and queued for it if fewer than Eager × maxBatch deliveries wait there
// (else unclaimed, for the Sweeper), and answers each arrival.
func (h *Webhook) storeBatch(ctx context.Context, batch []*arrival) {
	eager := false
	if h.Ingester != nil {
		h.mu.Lock()
		eager = h.nQueued < h.Eager*maxBatch // none without Eager workers
		h.mu.Unlock()
	}
	var claim string
	var due time.Time
	if eager {
		claim, due = newClaim(), h.Ingester.clock.Now().Add(cmp.Or(h.Lease, ClaimLease)).UTC()
	}
	create := func(c *ent.Client, a *arrival) *ent.WebhookDeliveryCreate {
		create := c.WebhookDelivery.Create().SetBody(a.body)
		if eager {
			create.SetClaim(claim).SetDueAt(due)
		}
		return create
	}
	var ds []*ent.WebhookDelivery
	var err error
	if len(batch) == 1 {
		var d *ent.WebhookDelivery
		if d, err = create(h.Client, batch[0]).Save(ctx); err == nil {
			ds = []*ent.WebhookDelivery{d}
		}
	} else {
		err = store.WithTx(ctx, h.Client, func(ctx context.Context, tx *ent.Tx) error {
			ds = ds[:0]
			// rows of 9 columns at most: under 100 parameters a statement,
			// where modernc's binding stays cheap (store/bulk)
			for chunk := range slices.Chunk(batch, 9) {
				creates := make([]*ent.WebhookDeliveryCreate, len(chunk))
				for i, a := range chunk {
					creates[i] = create(tx.Client(), a)
				}
				saved, err := tx.WebhookDelivery.CreateBulk(creates...).Save(ctx)
				if err != nil {
					return err
				}
				ds = append(ds, saved...)
			}
			return nil
		})
	}
	if err != nil {
		for _, a := range batch {
			a.done <- err
		}
		return
	}
	h.batches.Add(1)
	h.accepted.Add(int64(len(batch)))
	for _, a := range batch {
		a.done <- nil
	}
	if !eager {
		return
	}
	workers := h.Eager
	parsed := parseAll(ds) // once, for the partition and the ingest; outside the lock
	h.mu.Lock()
	if h.queued == nil {
		h.queued, h.ingesting = make([][]delivery, workers), make([]bool, workers)
	}
	var start []int
	for _, d := range parsed {
		i := partition(d, workers)
		h.queued[i] = append(h.queued[i], d)
		h.nQueued++
		if !h.ingesting[i] {
			h.ingesting[i] = true
			start = append(start, i)
		}
	}
	h.mu.Unlock()
	for _, i := range start {
		go h.ingestQueued(ctx, i)
	}
}

// ingestQueued ingests what partition i of the eager ingest holds,
// maxBatch deliveries at a time, until nothing is queued there.
func (h *Webhook) ingestQueued(ctx context.Context, i int) {
	for {
		h.mu.Lock()
		n := min(len(h.queued[i]), maxBatch)
		if n == 0 {
			h.ingesting[i] = false
			h.mu.Unlock()
			return
		}
		batch := slices.Clone(h.queued[i][:n])
		h.queued[i] = slices.Delete(h.queued[i], 0, n)
		h.nQueued -= n
		h.mu.Unlock()
		h.Ingester.ingestBatch(ctx, batch)
	}
}

// partition is d's among n, by its share key: a customer's deliveries (a
// message's statuses) always in the same one.
func partition(d delivery, n int) int {
	if n == 1 {
		return 0
	}
	h := fnv.New32a()
	_, _ = h.Write([]byte(shareKey(d)))
	return int(h.Sum32() % uint32(n))
}
