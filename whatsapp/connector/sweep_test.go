package connector_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// sweepBundle is the test bundle with a fake clock, an eager ingest on the
// endpoint and a Sweeper, whose logs are kept.
type sweepBundle struct {
	*testBundle
	clock   *clock.Fake
	sweeper *connector.Sweeper
	logs    *syncBuffer
}

func setupSweep(t *testing.T, db *store.DB) *sweepBundle {
	t.Helper()
	b := setup(t, db)
	logs := &syncBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	clk := clock.NewFake(time.Now())
	b.ingester = connector.NewIngester(db.Client, db.Dialect, realtime.NewPublisher(b.bus, log), clk, log)
	b.hook.Ingester, b.hook.Eager, b.hook.Log = b.ingester, 4, log
	return &sweepBundle{testBundle: b, clock: clk, logs: logs, sweeper: &connector.Sweeper{
		Client: db.Client, Dialect: db.Dialect, Ingester: b.ingester, Every: 10 * time.Millisecond, Batch: 16, Log: log,
	}}
}

type syncBuffer struct {
	mu sync.Mutex
	bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.Buffer.String()
}

// stored stores body as the endpoint does, claimed by an eager ingest that
// never ran (the instance was killed right after answering 200) when claim
// is set, else unclaimed (every eager slot taken).
func (b *sweepBundle) stored(t *testing.T, body []byte, claim string) string {
	t.Helper()
	create := b.db.Client.WebhookDelivery.Create().SetBody(body)
	if claim != "" {
		create.SetClaim(claim).SetDueAt(b.clock.Now().Add(connector.ClaimLease).UTC())
	}
	d, err := create.Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	return d.ID
}

func (b *sweepBundle) state(t *testing.T, id string) webhookdelivery.State {
	t.Helper()
	d, err := b.db.Client.WebhookDelivery.Get(viewer.Platform(t.Context()), id)
	require.NoError(t, err)
	return d.State
}

// A delivery stored and answered but never ingested (the instance was
// killed) is ingested by a sweep after a restart: at once when nobody held
// it, and once its claim's lease has passed when an eager ingest held it.
func TestSweepIngestsWhatAKilledInstanceLeft(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupSweep(t, db)
		held := b.stored(t, inboundAt("wamid.held", 1750000000, "text", `{"body":"held"}`), "dead instance's claim")
		free := b.stored(t, inboundAt("wamid.free", 1750000001, "text", `{"body":"free"}`), "")

		n, err := b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n, "only the unclaimed delivery is due")
		require.Equal(t, webhookdelivery.StatePROCESSED, b.state(t, free))
		require.Equal(t, webhookdelivery.StateRECEIVED, b.state(t, held), "held until its lease passes")

		b.clock.Advance(connector.ClaimLease + time.Second)
		n, err = b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		require.Equal(t, webhookdelivery.StatePROCESSED, b.state(t, held))
		d, err := db.Client.WebhookDelivery.Get(viewer.Platform(t.Context()), held)
		require.NoError(t, err)
		require.Empty(t, d.Claim, "released")
		require.Nil(t, d.DueAt)
		got, err := db.Client.Message.Query().Where(message.ProviderMessageIDIn("wamid.held", "wamid.free")).Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, 2, got)

		n, err = b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Zero(t, n, "nothing left")
	})
}

// The endpoint's eager ingest holds its delivery: a sweep running meanwhile
// does not take it, and the delivery is processed once.
func TestEagerIngestIsNotSweptMeanwhile(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupSweep(t, db)
		require.Equal(t, http.StatusOK, b.post(t, inboundAt("wamid.eager", 1750000000, "text", `{"body":"hi"}`)))
		n, err := b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 0, n, "held by the eager ingest, or already processed")
		require.Eventually(t, func() bool {
			ds, err := db.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StatePROCESSED)).
				Count(viewer.Platform(t.Context()))
			return err == nil && ds == 1
		}, 10*time.Second, 5*time.Millisecond)
		require.NotContains(t, b.logs.String(), "duplicate message")
	})
}

// An ingest that fails gives its delivery back to the sweep with its error,
// retried after a backoff; a status that waits for its message is taken
// again once its wait is over.
func TestSweepRetriesAfterAWait(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupSweep(t, db)
		status := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"statuses":[{"id":"wamid.later","status":"delivered","timestamp":"1750000000","recipient_id":"16505551234"}]}}]}]}`)
		id := b.stored(t, status, "")
		n, err := b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		d, err := db.Client.WebhookDelivery.Get(viewer.Platform(t.Context()), id)
		require.NoError(t, err)
		require.Equal(t, webhookdelivery.StateRECEIVED, d.State, "waits for its message")
		require.Equal(t, 1, d.Attempts)
		require.NotNil(t, d.DueAt)

		n, err = b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Zero(t, n, "not before its wait is over")
		b.clock.Advance(2 * time.Second)
		n, err = b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Equal(t, 1, n)
		d, err = db.Client.WebhookDelivery.Get(viewer.Platform(t.Context()), id)
		require.NoError(t, err)
		require.Equal(t, 2, d.Attempts)
	})
}

// Two instances sweeping one database at once never take one delivery
// twice: every delivery is claimed by exactly one sweep, and ingested once.
func TestTwoSweepersNeverTakeOneDelivery(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		b := setupSweep(t, db)
		if db.Dialect == dialect.Postgres {
			db.SQL.SetMaxOpenConns(12) // two instances' worth of concurrent claims
		}
		const deliveries = 120
		want := map[string]bool{}
		for i := range deliveries {
			want[b.stored(t, customerText(i, fmt.Sprintf("wamid.swept.%d", i), 1750000000+int64(i)), "")] = true
		}
		// Claims alone, racing: each id comes out of one claim only.
		claimed := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		other := &connector.Sweeper{Client: db.Client, Dialect: db.Dialect, Ingester: b.ingester, Log: b.sweeper.Log}
		for i := range 6 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s := []*connector.Sweeper{b.sweeper, other}[i%2]
				for {
					token := fmt.Sprintf("claim %d", i)
					ids, err := s.Claim(t.Context(), token, 7)
					if !assertNoError(t, err) || len(ids) == 0 {
						return
					}
					mu.Lock()
					for _, id := range ids {
						if prev, ok := claimed[id]; ok {
							t.Errorf("%s claimed by %q and %q", id, prev, token)
						}
						claimed[id] = token
					}
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		require.Len(t, claimed, deliveries)

		// Their leases pass; two sweepers ingest everything, each once.
		b.clock.Advance(connector.ClaimLease + time.Second)
		for _, s := range []*connector.Sweeper{b.sweeper, other} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					n, err := s.Sweep(t.Context())
					if !assertNoError(t, err) || n == 0 {
						return
					}
				}
			}()
		}
		wg.Wait()
		n, err := db.Client.WebhookDelivery.Query().Where(webhookdelivery.StateEQ(webhookdelivery.StatePROCESSED),
			webhookdelivery.AttemptsEQ(1)).Count(viewer.Platform(t.Context()))
		require.NoError(t, err)
		require.Equal(t, deliveries, n, "each processed, once")
		msgs, err := db.Client.Message.Query().Count(b.ctx)
		require.NoError(t, err)
		require.Equal(t, deliveries, msgs)
		require.False(t, strings.Contains(b.logs.String(), "duplicate message"), "no delivery ingested twice")
	})
}

func assertNoError(t *testing.T, err error) bool {
	t.Helper()
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

// heldArrivals holds the first arrival's ingest until release is closed,
// telling entered once it is held.
type heldArrivals struct {
	first            atomic.Bool
	entered, release chan struct{}
}

func (h *heldArrivals) Arrived(context.Context, *ent.Tx, *ent.Conversation, *ent.Message, bool) error {
	if h.first.CompareAndSwap(false, true) { // the others go on meanwhile
		close(h.entered)
		<-h.release
	}
	return nil
}

// Deliveries stored while the eager ingest is busy wait for it, claimed
// (no sweep takes them), and are then ingested together in one
// transaction; a delivery with statuses among them is ingested alone.
func TestEagerIngestTakesWhatWaitedTogether(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		if db.Dialect == dialect.SQLite {
			t.Skip("SQLite has one writer: an ingest held in its transaction holds every store too")
		}
		b := setupSweep(t, db)
		held := &heldArrivals{entered: make(chan struct{}), release: make(chan struct{})}
		release := sync.OnceFunc(func() { close(held.release) })
		t.Cleanup(release) // a failure above the release holds no transaction
		b.ingester.Arrivals = held
		b.hook.Eager = 1
		customer := func(i int) []byte { return customerText(i, fmt.Sprintf("wamid.queued.%d", i), 1750000000+int64(i)) }
		require.Equal(t, http.StatusOK, b.deliver(customer(0)).Code)
		select {
		case <-held.entered:
		case <-time.After(10 * time.Second):
			t.Fatal("the first delivery's ingest never started")
		}
		for i := 1; i <= 5; i++ {
			require.Equal(t, http.StatusOK, b.deliver(customer(i)).Code)
		}
		status := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages",
"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"972123456789","phone_number_id":"1122334455667"},
"statuses":[{"id":"wamid.sent.elsewhere","status":"delivered","timestamp":"1750000000","recipient_id":"16505551234"}]}}]}]}`)
		require.Equal(t, http.StatusOK, b.deliver(status).Code)
		n, err := b.sweeper.Sweep(t.Context())
		require.NoError(t, err)
		require.Zero(t, n, "what waits for the eager ingest is held by it")

		release()
		require.Eventually(t, func() bool {
			n, err := db.Client.Message.Query().Where(message.ProviderMessageIDHasPrefix("wamid.queued.")).Count(b.ctx)
			return err == nil && n == 6
		}, 10*time.Second, 5*time.Millisecond)
		require.Eventually(t, func() bool {
			n, err := db.Client.WebhookDelivery.Query().Where(webhookdelivery.Attempts(1)).Count(viewer.Platform(t.Context()))
			return err == nil && n == 7
		}, 10*time.Second, 5*time.Millisecond, "each ingested once (the status waits for its message)")
		require.EqualValues(t, 5, b.ingester.Batched(), "the five messages that waited, in one transaction; the status alone")
	})
}
