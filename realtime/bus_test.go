package realtime

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// busDriver is one bus implementation, run through the conformance suite
// (TestBus). Every bus must pass all of it.
type busDriver struct {
	name string
	// backend prepares an empty backend for one test alone (a schema, a
	// stream) or skips the test when the backend is not available.
	backend func(t *testing.T) *testBackend
	// isShared says that buses opened on one backend share sequences and
	// events, like the instances of a deployment. Memory buses do not.
	isShared bool
}

type testBackend struct {
	// open returns a new bus on the backend, closed when the test ends.
	open func(t *testing.T, opts ...Option) Bus
	// interrupt breaks the connections of every bus opened on the backend,
	// which then reconnect; nil when a bus has no connection to break.
	interrupt func(t *testing.T)
}

func busDrivers() []busDriver {
	return []busDriver{memoryDriver(), memorySQLiteDriver(), postgresDriver(), natsDriver()}
}

// waitFor bounds how long a test waits for something that should happen,
// generous for a busy machine under -race.
const waitFor = 15 * time.Second

func TestBus(t *testing.T) {
	t.Parallel()
	for _, d := range busDrivers() {
		t.Run(d.name, func(t *testing.T) {
			t.Parallel()
			testBus(t, d)
		})
	}
}

func testBus(t *testing.T, d busDriver) {
	type testBundle struct {
		backend *testBackend
		bus     Bus
	}
	setup := func(t *testing.T, opts ...Option) *testBundle {
		t.Helper()
		backend := d.backend(t)
		return &testBundle{backend: backend, bus: backend.open(t, opts...)}
	}
	// instances returns the bus and, on shared backends, a second instance
	// on the same backend.
	instances := func(t *testing.T, bundle *testBundle, opts ...Option) []Bus {
		if !d.isShared {
			return []Bus{bundle.bus}
		}
		return []Bus{bundle.bus, bundle.backend.open(t, opts...)}
	}

	t.Run("PublishAssignsSeqPerTenantAndAt", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		before := time.Now().Add(-time.Second)

		a1 := publish(t, bundle.bus, testEvent("ten_a", 1))
		a2 := publish(t, bundle.bus, testEvent("ten_a", 2))
		b1 := publish(t, bundle.bus, testEvent("ten_b", 1))
		a3 := publish(t, bundle.bus, testEvent("ten_a", 3))

		require.Equal(t, []uint64{1, 2, 3}, []uint64{a1.Seq, a2.Seq, a3.Seq})
		require.Equal(t, uint64(1), b1.Seq)
		require.WithinRange(t, a3.At, before, time.Now().Add(time.Second))
		require.Equal(t, "message.added", a2.Type)
		require.Equal(t, "msg_2", a2.Subject)
		require.JSONEq(t, `{"n":2}`, string(a2.Data))
	})

	t.Run("PublishRejectsInvalidEvents", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		tests := []struct {
			name  string
			event Event
		}{
			{"no tenant", Event{Type: "message.added"}},
			{"tenant with a dot", Event{TenantID: "ten.a", Type: "message.added"}},
			{"tenant with a wildcard", Event{TenantID: "ten_*", Type: "message.added"}},
			{"no type", Event{TenantID: "ten_a"}},
			{"data not JSON", Event{TenantID: "ten_a", Type: "message.added", Data: json.RawMessage(`{"n":`)}},
			{"data too big", Event{TenantID: "ten_a", Type: "message.added", Data: bigJSON(MaxDataBytes + 1)}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				_, err := bundle.bus.Publish(t.Context(), tt.event)
				require.Error(t, err)
			})
		}

		// Rejected events took no Seq.
		require.Equal(t, uint64(1), publish(t, bundle.bus, testEvent("ten_a", 1)).Seq)
	})

	t.Run("SubscriberReceivesItsTenantsEvents", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sub := subscribe(t, bundle.bus, "ten_a")

		var published []Event
		for i := range 3 {
			published = append(published, publish(t, bundle.bus, testEvent("ten_a", i)))
		}

		require.Equal(t, published, receive(t, sub, 3))
	})

	t.Run("TenantsAreIsolated", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		subA := subscribe(t, bundle.bus, "ten_a")

		for i := range 5 {
			publish(t, bundle.bus, testEvent("ten_b", i))
		}
		a := publish(t, bundle.bus, testEvent("ten_a", 0))

		// Every bus delivers in publish order here, so B's events would
		// have come before A's.
		require.Equal(t, []Event{a}, receive(t, subA, 1))
		require.Empty(t, subA.Events())
	})

	t.Run("SignalsReachEveryInstanceAndLeaveNoTrace", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		buses := instances(t, bundle)
		got := make([]chan Signal, len(buses))
		for i, b := range buses {
			got[i] = make(chan Signal, 4)
			b.HandleSignals(func(s Signal) { got[i] <- s })
		}
		sub := subscribe(t, bundle.bus, "ten_a")
		sent := Signal{TenantID: "ten_a", Type: "conversation.looking", Subject: "cnv_1", Data: json.RawMessage(`{"agent":"agt_1"}`)}
		require.NoError(t, buses[len(buses)-1].Signal(t.Context(), sent))
		for i := range buses {
			select {
			case s := <-got[i]:
				require.Equal(t, sent.TenantID, s.TenantID)
				require.Equal(t, sent.Type, s.Type)
				require.Equal(t, sent.Subject, s.Subject)
				require.JSONEq(t, string(sent.Data), string(s.Data))
			case <-time.After(waitFor):
				t.Fatalf("instance %d never got the signal", i)
			}
		}
		// No Seq taken, nothing kept, no event delivered: the first event
		// after it is still the tenant's first.
		e := publish(t, bundle.bus, testEvent("ten_a", 1))
		require.Equal(t, uint64(1), e.Seq)
		require.Equal(t, []Event{e}, receive(t, sub, 1))
		missed, ok, err := bundle.bus.Since(t.Context(), "ten_a", 0)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, []Event{e}, missed)

		for _, bad := range []Signal{
			{TenantID: "ten_a"},
			{TenantID: "", Type: "x"},
			{TenantID: "ten_a", Type: "x", Data: json.RawMessage(`{`)},
			{TenantID: "ten_a", Type: "x", Data: bigJSON(MaxSignalBytes + 1)},
		} {
			require.Error(t, bundle.bus.Signal(t.Context(), bad))
		}
	})

	t.Run("AllTenantsSubscriptionReceivesEveryTenant", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sub := subscribe(t, bundle.bus, "")

		published := []Event{
			publish(t, bundle.bus, testEvent("ten_a", 1)),
			publish(t, bundle.bus, testEvent("ten_b", 1)),
			publish(t, bundle.bus, testEvent("ten_a", 2)),
		}

		require.Equal(t, published, receive(t, sub, 3))
	})

	t.Run("ConcurrentPublishersGetEverySeqOnce", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		buses := instances(t, bundle)
		var subs []*Subscription
		for _, b := range buses {
			subs = append(subs, subscribe(t, b, "ten_a"))
		}
		const publishers, each = 8, 25

		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			seqs []uint64
		)
		for p := range publishers {
			wg.Go(func() {
				bus := buses[p%len(buses)]
				var last uint64
				for i := range each {
					e, err := bus.Publish(context.Background(), testEvent("ten_a", i))
					if !assertNoError(t, err) {
						return
					}
					if e.Seq <= last {
						t.Errorf("publisher %d got Seq %d after %d", p, e.Seq, last)
					}
					last = e.Seq
					mu.Lock()
					seqs = append(seqs, e.Seq)
					mu.Unlock()
				}
			})
		}
		wg.Wait()

		want := make([]uint64, publishers*each)
		for i := range want {
			want[i] = uint64(i + 1)
		}
		slices.Sort(seqs)
		require.Equal(t, want, seqs)
		for i, sub := range subs {
			require.Equal(t, want, seqsOf(receive(t, sub, len(want))), "instance %d", i)
		}
	})

	t.Run("SinceReplaysMissedEvents", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		var published []Event
		for i := range 5 {
			published = append(published, publish(t, bundle.bus, testEvent("ten_a", i)))
		}

		for i, bus := range instances(t, bundle) {
			tests := []struct {
				name     string
				tenantID string
				afterSeq uint64
				want     []Event
				wantOK   bool
			}{
				{"some missed", "ten_a", 2, published[2:], true},
				{"all missed", "ten_a", 0, published, true},
				{"up to date", "ten_a", 5, nil, true},
				{"never assigned", "ten_a", 6, nil, false},
				{"tenant without events", "ten_b", 0, nil, true},
				{"tenant without events, seq never assigned", "ten_b", 3, nil, false},
			}
			for _, tt := range tests {
				t.Run(fmt.Sprintf("instance %d/%s", i, tt.name), func(t *testing.T) {
					events, ok, err := bus.Since(t.Context(), tt.tenantID, tt.afterSeq)
					require.NoError(t, err)
					require.Equal(t, tt.wantOK, ok)
					require.Equal(t, tt.want, events)
				})
			}
		}
	})

	t.Run("SinceAsksForResyncBeyondTheWindow", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t, WithWindow(4))
		var published []Event
		for i := range 10 {
			published = append(published, publish(t, bundle.bus, testEvent("ten_a", i)))
		}

		events, ok, err := bundle.bus.Since(t.Context(), "ten_a", 6)
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, published[6:], events)

		for _, afterSeq := range []uint64{5, 0} {
			events, ok, err = bundle.bus.Since(t.Context(), "ten_a", afterSeq)
			require.NoError(t, err)
			require.False(t, ok, "after %d", afterSeq)
			require.Empty(t, events)
		}
	})

	t.Run("SlowSubscriberDoesNotBlockPublishing", func(t *testing.T) {
		t.Parallel()
		const buffer, total, publishers = 16, 10_000, 8
		bundle := setup(t, WithBuffer(buffer))
		stalled := subscribe(t, bundle.bus, "") // never read

		published := make(chan struct{})
		go func() {
			defer close(published)
			var wg sync.WaitGroup
			for p := range publishers {
				wg.Go(func() {
					for i := range total / publishers {
						_, err := bundle.bus.Publish(context.Background(), testEvent(fmt.Sprintf("ten_%d", p), i))
						if !assertNoError(t, err) {
							return
						}
					}
				})
			}
			wg.Wait()
		}()
		select {
		case <-published:
		case <-time.After(2 * time.Minute):
			t.Fatalf("publishing %d events did not finish", total)
		}

		requireResync(t, stalled)
		require.Len(t, stalled.Events(), buffer, "the stalled subscriber keeps what fit")
		// Others still receive (after the tail of the burst, on buses that
		// deliver asynchronously).
		fresh := subscribe(t, bundle.bus, "ten_0")
		e := publish(t, bundle.bus, testEvent("ten_0", 0))
		require.True(t, receiveSeq(fresh, e.Seq, waitFor), "a new subscriber receives")
	})

	t.Run("LargeEventArrivesWhole", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sub := subscribe(t, bundle.bus, "ten_a")
		ev := testEvent("ten_a", 1)
		ev.Data = bigJSON(MaxDataBytes)

		e := publish(t, bundle.bus, ev)

		require.Equal(t, []Event{e}, receive(t, sub, 1))
		require.JSONEq(t, string(ev.Data), string(e.Data))
	})

	t.Run("ClosingSubscriptionStopsDelivery", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		closed := subscribe(t, bundle.bus, "ten_a")
		ctx, cancel := context.WithCancel(t.Context())
		cancelled, err := bundle.bus.Subscribe(ctx, "ten_a")
		require.NoError(t, err)
		open := subscribe(t, bundle.bus, "ten_a")

		closed.Close()
		closed.Close() // harmless
		cancel()
		e := publish(t, bundle.bus, testEvent("ten_a", 1))

		require.Equal(t, []Event{e}, receive(t, open, 1))
		_, ok := <-closed.Events()
		require.False(t, ok, "nothing after Close")
		requireClosed(t, cancelled)
	})

	t.Run("ClosingBusClosesEverything", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		sub := subscribe(t, bundle.bus, "")
		publish(t, bundle.bus, testEvent("ten_a", 1))

		require.NoError(t, bundle.bus.Close())
		require.NoError(t, bundle.bus.Close())

		requireClosed(t, sub)
		_, err := bundle.bus.Publish(t.Context(), testEvent("ten_a", 2))
		require.ErrorIs(t, err, ErrClosed)
		_, err = bundle.bus.Subscribe(t.Context(), "ten_a")
		require.ErrorIs(t, err, ErrClosed)
		_, _, err = bundle.bus.Since(t.Context(), "ten_a", 0)
		require.ErrorIs(t, err, ErrClosed)
	})

	t.Run("ReconnectResyncsSubscribers", func(t *testing.T) {
		t.Parallel()
		bundle := setup(t)
		if bundle.backend.interrupt == nil {
			t.Skip(d.name + " bus has no connection to lose")
		}
		sub := subscribe(t, bundle.bus, "ten_a")

		bundle.backend.interrupt(t)

		requireResync(t, sub)
		// Delivery resumes once the bus is connected again.
		deadline := time.Now().Add(waitFor)
		for {
			e := publish(t, bundle.bus, testEvent("ten_a", 1))
			if receiveSeq(sub, e.Seq, time.Second) {
				break
			}
			require.True(t, time.Now().Before(deadline), "no delivery after reconnecting")
		}
	})
}

// TestFanoutResyncsOnBrokenSequence covers what the conformance suite
// cannot provoke: a bus that lost events in transit.
func TestFanoutResyncsOnBrokenSequence(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name       string
		seqs       []uint64
		wantResync bool
	}{
		{"consecutive", []uint64{1, 2, 3}, false},
		{"first seen mid-history", []uint64{7, 8}, false},
		{"gap", []uint64{1, 2, 4}, true},
		{"history reset", []uint64{5, 6, 1}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			f := newFanout(DefaultBuffer)
			sub, err := f.subscribe(t.Context(), "ten_a")
			require.NoError(t, err)
			other, err := f.subscribe(t.Context(), "ten_b")
			require.NoError(t, err)

			for _, seq := range tt.seqs {
				f.deliver(Event{TenantID: "ten_a", Seq: seq})
			}

			require.Len(t, sub.Events(), len(tt.seqs), "events are delivered all the same")
			require.Equal(t, tt.wantResync, len(sub.Resync()) == 1)
			require.Empty(t, other.Resync(), "other tenants are not disturbed")
		})
	}
}

func testEvent(tenantID string, n int) Event {
	return Event{
		TenantID: tenantID,
		Type:     "message.added",
		Subject:  fmt.Sprintf("msg_%d", n),
		Data:     json.RawMessage(fmt.Sprintf(`{"n":%d}`, n)),
	}
}

// bigJSON returns a JSON string value of exactly size bytes.
func bigJSON(size int) json.RawMessage {
	return json.RawMessage(`"` + strings.Repeat("x", size-2) + `"`)
}

func publish(t *testing.T, b Bus, e Event) Event {
	t.Helper()
	e, err := b.Publish(t.Context(), e)
	require.NoError(t, err)
	return e
}

func subscribe(t *testing.T, b Bus, tenantID string) *Subscription {
	t.Helper()
	sub, err := b.Subscribe(t.Context(), tenantID)
	require.NoError(t, err)
	t.Cleanup(sub.Close)
	return sub
}

// receive returns the next n events of sub, failing the test if they do not
// arrive in time.
func receive(t *testing.T, sub *Subscription, n int) []Event {
	t.Helper()
	timeout := time.After(waitFor)
	events := make([]Event, 0, n)
	for len(events) < n {
		select {
		case e, ok := <-sub.Events():
			require.True(t, ok, "subscription closed after %d of %d events", len(events), n)
			events = append(events, e)
		case <-timeout:
			require.FailNow(t, "events did not arrive", "got %d of %d", len(events), n)
		}
	}
	return events
}

// receiveSeq reads sub until the event with seq arrives, or gives up after
// timeout.
func receiveSeq(sub *Subscription, seq uint64, timeout time.Duration) bool {
	deadline := time.After(timeout)
	for {
		select {
		case e := <-sub.Events():
			if e.Seq == seq {
				return true
			}
		case <-deadline:
			return false
		}
	}
}

func requireResync(t *testing.T, sub *Subscription) {
	t.Helper()
	select {
	case <-sub.Resync():
	case <-time.After(waitFor):
		require.FailNow(t, "no resync signal")
	}
}

// requireClosed drains sub and fails unless its Events channel is closed.
func requireClosed(t *testing.T, sub *Subscription) {
	t.Helper()
	timeout := time.After(waitFor)
	for {
		select {
		case _, ok := <-sub.Events():
			if !ok {
				return
			}
		case <-timeout:
			require.FailNow(t, "subscription still open")
		}
	}
}

// assertNoError is for goroutines, where require cannot stop the test.
func assertNoError(t *testing.T, err error) bool {
	if err != nil {
		t.Error(err)
		return false
	}
	return true
}

func seqsOf(events []Event) []uint64 {
	seqs := make([]uint64, len(events))
	for i, e := range events {
		seqs[i] = e.Seq
	}
	return seqs
}

func randomSuffix(t *testing.T) string {
	b := make([]byte, 6)
	_, err := rand.Read(b)
	require.NoError(t, err)
	return hex.EncodeToString(b)
}
