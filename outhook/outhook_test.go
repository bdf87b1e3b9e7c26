package outhook_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// world is one tenant with a number, a publisher whose outbox is an
// outhook.Service, and a fake clock.
type world struct {
	db     *store.DB
	ctx    context.Context // the tenant's system viewer
	clock  *clock.Fake
	pub    *realtime.Publisher
	svc    *outhook.Service
	box    *credential.Box
	authz  *policy.Authorizer
	number *ent.Number
	n      int
}

func newWorld(t *testing.T, db *store.DB) *world { return newBenchWorld(t, db) }

func newBenchWorld(t testing.TB, db *store.DB) *world {
	t.Helper()
	ten, err := db.Client.Tenant.Create().SetName("Acme").SetSlug("acme").Save(viewer.Platform(t.Context()))
	require.NoError(t, err)
	ctx := viewer.System(t.Context(), ten.ID)
	require.NoError(t, policy.SeedBuiltinRoles(ctx, db.Client))
	num, err := db.Client.Number.Create().SetPhone("+33100000001").SetDisplayName("Sales").Save(ctx)
	require.NoError(t, err)
	box, err := credential.NewBox([]byte("test secret test secret test secret"))
	require.NoError(t, err)
	w := &world{db: db, ctx: ctx, clock: clock.NewFake(time.Date(2026, 11, 30, 8, 0, 0, 0, time.UTC)),
		pub: realtime.NewPublisher(realtime.NewMemory(), slog.Default()), box: box,
		authz: policy.NewAuthorizer(db.Client), number: num}
	w.svc = w.instance()
	w.pub.SetOutbox(w.svc)
	return w
}

// instance is another server process on the same database.
func (w *world) instance() *outhook.Service {
	return outhook.New(w.db.Client, w.box, w.authz, w.pub, w.clock, slog.Default(),
		outhook.Config{AllowPrivate: true, Timeout: 5 * time.Second})
}

// conversation opens a conversation with a new customer, publishing CREATED.
func (w *world) conversation(t *testing.T) *ent.Conversation { return w.conversationB(t) }

func (w *world) conversationB(t testing.TB) *ent.Conversation {
	t.Helper()
	w.n++
	var c *ent.Conversation
	require.NoError(t, store.WithTx(w.ctx, w.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		ct, err := tx.Contact.Create().SetWaID(fmt.Sprint(33600000000 + w.n)).SetPhone(fmt.Sprint("+", 33600000000+w.n)).
			SetProfileName(fmt.Sprint("Customer ", w.n)).Save(ctx)
		if err != nil {
			return err
		}
		if c, err = tx.Conversation.Create().SetNumberID(w.number.ID).SetContactID(ct.ID).Save(ctx); err != nil {
			return err
		}
		w.pub.OnCommit(tx, realtime.ConversationEvent(c.TenantID, c.ID, realtime.KindCreated))
		return nil
	}))
	return c
}

// message adds a customer's message to c, publishing ADDED, as ingest does.
func (w *world) message(t *testing.T, c *ent.Conversation, body string) *ent.Message {
	t.Helper()
	var m *ent.Message
	require.NoError(t, store.WithTx(w.ctx, w.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		m, err = tx.Message.Create().SetConversationID(c.ID).SetNumberID(c.NumberID).
			SetDirection("INBOUND").SetKind("TEXT").SetBody(body).SetStatus("RECEIVED").Save(ctx)
		if err != nil {
			return err
		}
		w.pub.OnCommit(tx, realtime.MessageEvent(m.TenantID, m.ID, c.ID, realtime.KindAdded))
		return nil
	}))
	return m
}

func (w *world) endpoint(t *testing.T, url, role string, events ...string) (*ent.WebhookEndpoint, string) {
	t.Helper()
	name := "CRM"
	ep, secret, err := w.svc.Create(w.ctx, outhook.EndpointInput{Name: &name, URL: &url, Role: &role, Events: events})
	require.NoError(t, err)
	return ep, secret
}

// receiver is a CRM that checks signatures and remembers what it accepted.
type receiver struct {
	mu       sync.Mutex
	secret   string
	down     func() bool // answers 503 while true
	fail     func() bool // answers 500 when true
	hang     chan struct{}
	hung     chan struct{}
	accepted []outhook.Payload // in order of acceptance
	bodies   map[string][32]byte
	dupes    int
	badSig   int
	mismatch int
	requests int
	refused  int
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	rc.mu.Lock()
	rc.requests++
	if err := outhook.Verify(rc.secret, r.Header.Get(outhook.HeaderSignature), body, time.Now(), outhook.DefaultTolerance); err != nil {
		rc.badSig++
		rc.mu.Unlock()
		http.Error(w, err.Error(), http.StatusUnauthorized)
		return
	}
	if hang := rc.hang; hang != nil {
		// The CRM takes the event, and its answer never reaches the sender.
		rc.accept(r, body)
		rc.mu.Unlock()
		rc.hung <- struct{}{}
		select {
		case <-hang:
		case <-r.Context().Done():
		}
		return
	}
	defer rc.mu.Unlock()
	if rc.down != nil && rc.down() {
		rc.refused++
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	if rc.fail != nil && rc.fail() {
		rc.refused++
		http.Error(w, "flaky", http.StatusInternalServerError)
		return
	}
	if !rc.accept(r, body) {
		http.Error(w, "bad body", http.StatusBadRequest)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accept records an event, once per event id; a repeat must be identical.
func (rc *receiver) accept(r *http.Request, body []byte) bool {
	var p outhook.Payload
	if err := json.Unmarshal(body, &p); err != nil || p.ID != r.Header.Get(outhook.HeaderEventID) {
		rc.mismatch++
		return false
	}
	sum := sha256.Sum256(body)
	if prev, ok := rc.bodies[p.ID]; ok {
		rc.dupes++
		if prev != sum {
			rc.mismatch++
		}
		return true
	}
	rc.bodies[p.ID] = sum
	rc.accepted = append(rc.accepted, p)
	return true
}

// TestDeliveryThroughFailuresOutageAndKill is must-show 4 of issue 14: a
// receiver that fails half the time and is down for ten (simulated) minutes,
// and an instance killed with deliveries in flight: every event arrives,
// duplicates carry the same event id and body, each conversation's events
// arrive in order, and every signature verifies.
func TestDeliveryThroughFailuresOutageAndKill(t *testing.T) {
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		w := newWorld(t, db)
		rng := rand.New(rand.NewPCG(1, 2))
		start := w.clock.Now()
		outageFrom, outageTo := start.Add(3*time.Minute), start.Add(13*time.Minute)
		rc := &receiver{bodies: map[string][32]byte{},
			down: func() bool { now := w.clock.Now(); return !now.Before(outageFrom) && now.Before(outageTo) },
			fail: func() bool { return rng.IntN(2) == 0 },
		}
		srv := httptest.NewServer(rc)
		defer srv.Close()
		_, rc.secret = w.endpoint(t, srv.URL, policy.RoleOwner, outhook.ConversationCreated, outhook.MessageReceived)

		// Traffic before anything is sent: 4 conversations, interleaved.
		var convs []*ent.Conversation
		for range 4 {
			convs = append(convs, w.conversation(t))
		}
		for i := range 5 {
			for _, c := range convs {
				w.message(t, c, fmt.Sprintf("%s #%d", c.ID, i))
			}
		}

		// Instance A claims deliveries, they hang at the receiver, and A is killed.
		rc.mu.Lock()
		rc.hang, rc.hung = make(chan struct{}), make(chan struct{}, 64)
		rc.mu.Unlock()
		a := w.instance()
		actx, kill := context.WithCancel(t.Context())
		n, err := a.DispatchOnce(actx)
		require.NoError(t, err)
		require.Equal(t, 4, n, "maxInFlight (4) deliveries in flight, one per conversation")
		for range n {
			<-rc.hung
		}
		kill()
		a.Wait()
		rc.mu.Lock()
		close(rc.hang)
		rc.hang = nil
		rc.mu.Unlock()

		// Instance B runs on; more traffic arrives during the outage.
		pending := func() int {
			n, err := db.Client.OutboundDelivery.Query().Where(outbounddelivery.StateEQ(outbounddelivery.StatePENDING)).
				Count(viewer.Platform(t.Context()))
			require.NoError(t, err)
			return n
		}
		step, more := 0, false
		for ; step < 3000 && (pending() > 0 || !more); step++ {
			if !more && w.clock.Now().After(outageFrom.Add(time.Minute)) {
				more = true
				for i := 5; i < 8; i++ {
					for _, c := range convs {
						w.message(t, c, fmt.Sprintf("%s #%d", c.ID, i))
					}
				}
				convs = append(convs, w.conversation(t))
				w.message(t, convs[4], fmt.Sprintf("%s #%d", convs[4].ID, 0))
			}
			_, err := w.svc.DispatchOnce(t.Context())
			require.NoError(t, err)
			w.svc.Wait()
			w.clock.Advance(10 * time.Second)
		}
		if pending() > 0 {
			left, _ := db.Client.OutboundDelivery.Query().Where(outbounddelivery.StateEQ(outbounddelivery.StatePENDING)).Order(ent.Asc(outbounddelivery.FieldSeq)).Limit(6).All(viewer.Platform(t.Context()))
			for _, d := range left {
				t.Logf("left: %s %s %s attempts %d lease %v next %v err %q status %v", d.ID, d.OrderKey, d.EventType, d.Attempts, d.LeaseUntil, d.NextAttemptAt, d.LastError, d.LastStatus)
			}
		}
		require.Zero(t, pending(), "all delivered after %d steps (%s simulated)", step, w.clock.Now().Sub(start))
		require.True(t, w.clock.Now().After(outageTo), "the outage was lived through")

		// Every event arrived, whole, signed.
		all, err := db.Client.OutboundDelivery.Query().Order(ent.Asc(outbounddelivery.FieldSeq)).All(viewer.Platform(t.Context()))
		require.NoError(t, err)
		require.Len(t, all, 4+4*8+1+1)
		rc.mu.Lock()
		defer rc.mu.Unlock()
		require.Zero(t, rc.badSig, "every signature verifies")
		require.Zero(t, rc.mismatch, "a duplicate carries the same event id and the same body")
		require.Positive(t, rc.refused, "the receiver refused some attempts")
		require.GreaterOrEqual(t, rc.dupes, 4, "what the killed instance sent is sent again")
		got := map[string]bool{}
		for _, p := range rc.accepted {
			got[p.ID] = true
		}
		for _, d := range all {
			require.Equal(t, outbounddelivery.StateDELIVERED, d.State, d.ID)
			require.True(t, got[d.EventID], "event %s (%s) arrived", d.EventID, d.EventType)
		}
		require.Len(t, rc.accepted, len(all), "each event accepted once (duplicates counted apart: %d)", rc.dupes)

		// In order per conversation: the order of acceptance is the order of the changes.
		order := map[string][]string{}
		for _, d := range all {
			order[d.OrderKey] = append(order[d.OrderKey], d.EventID)
		}
		seen := map[string][]string{}
		for _, p := range rc.accepted {
			key := ""
			if c, ok := p.Data["conversation"].(map[string]any); ok {
				key, _ = c["id"].(string)
			}
			if m, ok := p.Data["message"].(map[string]any); ok {
				key, _ = m["conversationID"].(string)
			}
			seen[key] = append(seen[key], p.ID)
		}
		require.Equal(t, order, seen)
		t.Logf("%s: %d events, %d requests, %d refused, %d duplicates, %d steps (%s simulated)",
			db.Dialect, len(all), rc.requests, rc.refused, rc.dupes, step, w.clock.Now().Sub(start))
	})
}
