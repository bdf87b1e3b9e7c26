package graph

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// streamOf subscribes, as tenant's system viewer, to conversation events
// through streamFetch with fetches f and depth, and returns the subjects it
// sends.
func streamOf(t *testing.T, bus realtime.Bus, tenant string, depth int,
	f func(e realtime.Event) fetch[string]) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(viewer.System(t.Context(), tenant))
	t.Cleanup(cancel)
	out, err := streamFetch(ctx, bus, nil, []string{realtime.ConversationChanged, realtime.AgentChanged},
		func(_ context.Context, e realtime.Event) (fetch[string], error) { return f(e), nil },
		depth, func(uint64) string { return "resync" })
	require.NoError(t, err)
	return out
}

func receive(t *testing.T, out <-chan string) string {
	t.Helper()
	select {
	case s := <-out:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("nothing sent within 5 s")
		return ""
	}
}

// The events of a stream are read at once, and sent in their order: the
// first event's read waits for the second's to start, which one read at a
// time never gets to.
func TestStreamReadsEventsAtOnceInOrder(t *testing.T) {
	bus := realtime.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	secondStarted := make(chan struct{})
	out := streamOf(t, bus, "ten_a", eventFetches, func(e realtime.Event) fetch[string] {
		return func(context.Context) (string, bool, error) {
			switch e.Subject {
			case "c1":
				select {
				case <-secondStarted:
				case <-time.After(5 * time.Second):
					return "c1 read alone", true, nil
				}
			case "c2":
				close(secondStarted)
			}
			return e.Subject, true, nil
		}
	})
	for _, id := range []string{"c1", "c2", "c3"} {
		_, err := bus.Publish(t.Context(), realtime.ConversationEvent("ten_a", id, realtime.KindStatusChanged))
		require.NoError(t, err)
	}
	require.Equal(t, "c1", receive(t, out), "the first event's read saw the second start")
	require.Equal(t, "c2", receive(t, out))
	require.Equal(t, "c3", receive(t, out))
}

// A revocation is a barrier: what came before it is sent before anything
// after it is decided, so an event after a change of the viewer's numbers
// (AgentChanged) is judged with the change applied.
func TestStreamRevocationIsABarrier(t *testing.T) {
	bus := realtime.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	release := make(chan struct{})
	var mu sync.Mutex
	var seen []string // decisions and sends, in the order they happen
	note := func(s string) {
		mu.Lock()
		seen = append(seen, s)
		mu.Unlock()
	}
	out := streamOf(t, bus, "ten_a", eventFetches, func(e realtime.Event) fetch[string] {
		note("decide " + e.Subject)
		if e.Type == realtime.AgentChanged {
			return nil
		}
		return func(context.Context) (string, bool, error) {
			if e.Subject == "c1" {
				<-release
			}
			return e.Subject, true, nil
		}
	})
	for _, e := range []realtime.Event{
		realtime.ConversationEvent("ten_a", "c1", realtime.KindStatusChanged),
		realtime.AgentEvent("ten_a", "agt_1"),
		realtime.ConversationEvent("ten_a", "c2", realtime.KindStatusChanged),
	} {
		_, err := bus.Publish(t.Context(), e)
		require.NoError(t, err)
	}
	time.Sleep(50 * time.Millisecond) // c1's read is held: nothing after the revocation may be decided
	mu.Lock()
	require.Equal(t, []string{"decide c1"}, seen)
	mu.Unlock()
	close(release)
	require.Equal(t, "c1", receive(t, out))
	require.Equal(t, "c2", receive(t, out))
	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"decide c1", "decide agt_1", "decide c2"}, seen)
}
