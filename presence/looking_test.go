package presence_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/realtime"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// next waits for the watcher's next list.
func next(t *testing.T, c <-chan []presence.Looker) []presence.Looker {
	t.Helper()
	select {
	case l, ok := <-c:
		require.True(t, ok, "the watch ended")
		return l
	case <-time.After(10 * time.Second):
		t.Fatal("no list came")
		return nil
	}
}

// until reads lists until one satisfies ok.
func until(t *testing.T, c <-chan []presence.Looker, what string, ok func([]presence.Looker) bool) []presence.Looker {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case l, open := <-c:
			require.True(t, open, "the watch ended before: %s", what)
			if ok(l) {
				return l
			}
		case <-deadline:
			t.Fatalf("never: %s", what)
		}
	}
}

func agents(l []presence.Looker) string {
	var b strings.Builder
	for _, x := range l {
		b.WriteString(x.AgentID)
		if x.Typing {
			b.WriteString("(typing)")
		}
		b.WriteString(" ")
	}
	return strings.TrimSpace(b.String())
}

// One instance: Ann opens the conversation, Bob joins and sees her, Ann
// types and Bob sees it (and it ends by itself), a keystroke a second
// signals once, Ann's second tab closing leaves her looking, her last one
// leaving takes her off at once; another tenant's conversation of the same
// id sees nothing of it.
func TestLookingAtAConversation(t *testing.T) {
	t.Parallel()
	bus := realtime.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	l := presence.NewLooking(bus, time.Minute, 300*time.Millisecond, quiet)
	ctx := t.Context()
	go l.Run(ctx)

	annCtx, annLeaves := context.WithCancel(ctx)
	ann := l.Watch(annCtx, "ten_a", "cnv_1", "agt_ann")
	until(t, ann, "Ann sees herself", func(x []presence.Looker) bool { return agents(x) == "agt_ann" })

	other := l.Watch(ctx, "ten_b", "cnv_1", "")
	require.Empty(t, next(t, other), "another tenant's watcher sees nobody")

	bobCtx, bobLeaves := context.WithCancel(ctx)
	defer bobLeaves()
	bob := l.Watch(bobCtx, "ten_a", "cnv_1", "agt_bob")
	list := until(t, bob, "Bob sees Ann then himself", func(x []presence.Looker) bool { return agents(x) == "agt_ann agt_bob" })
	require.False(t, list[0].Since.After(list[1].Since))

	sent, err := l.Typing(ctx, "ten_a", "cnv_1", "agt_ann", nil)
	require.NoError(t, err)
	require.True(t, sent)
	checked := false
	sent, err = l.Typing(ctx, "ten_a", "cnv_1", "agt_ann", func() error { checked = true; return nil })
	require.NoError(t, err)
	require.False(t, sent, "a second keystroke within two seconds signals nothing")
	require.False(t, checked, "and checks nothing")
	until(t, bob, "Bob sees Ann typing", func(x []presence.Looker) bool { return agents(x) == "agt_ann(typing) agt_bob" })
	until(t, bob, "Ann's typing ends by itself", func(x []presence.Looker) bool { return agents(x) == "agt_ann agt_bob" })

	tabCtx, tabCloses := context.WithCancel(ctx)
	l.Watch(tabCtx, "ten_a", "cnv_1", "agt_ann")
	time.Sleep(50 * time.Millisecond)
	tabCloses()
	time.Sleep(100 * time.Millisecond)
	require.Equal(t, "agt_ann agt_bob", agents(l.List("ten_a", "cnv_1")), "Ann still looks from her first tab")

	annLeaves()
	until(t, bob, "Ann left", func(x []presence.Looker) bool { return agents(x) == "agt_bob" })
	require.Empty(t, l.List("ten_b", "cnv_1"))

	_, err = l.Typing(ctx, "ten_a", "cnv_2", "agt_bob", func() error { return context.Canceled })
	require.Error(t, err, "a refused check sends nothing")
	sent, err = l.Typing(ctx, "ten_a", "cnv_2", "agt_bob", nil)
	require.NoError(t, err)
	require.True(t, sent, "a refused check does not count as sent")
}

// A look whose instance vanished (no renewal, no goodbye) expires after its
// time to live.
func TestALookExpires(t *testing.T) {
	t.Parallel()
	bus := realtime.NewMemory()
	t.Cleanup(func() { _ = bus.Close() })
	l := presence.NewLooking(bus, 300*time.Millisecond, 300*time.Millisecond, quiet)
	go l.Run(t.Context())
	watcher := l.Watch(t.Context(), "ten_a", "cnv_1", "")
	require.Empty(t, next(t, watcher))
	require.NoError(t, bus.Signal(t.Context(), realtime.Signal{TenantID: "ten_a", Type: presence.LookingSignal, Subject: "cnv_1",
		Data: []byte(`{"a":"agt_gone","w":"tab"}`)}))
	until(t, watcher, "the look arrives", func(x []presence.Looker) bool { return agents(x) == "agt_gone" })
	until(t, watcher, "and expires", func(x []presence.Looker) bool { return len(x) == 0 })
}

// Two instances on one NATS server (TEST_NATS_URL): a look on A is seen on B,
// and leaving on A is seen on B at once.
func TestLookingAcrossInstances(t *testing.T) {
	t.Parallel()
	url := os.Getenv("TEST_NATS_URL")
	if url == "" {
		t.Skip("TEST_NATS_URL not set: looks across instances need a shared bus")
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.ToUpper(hex.EncodeToString(b))
	open := func() realtime.Bus {
		bus, err := realtime.NewNATS(t.Context(), url, realtime.WithNATSStream("LOOK_"+name, "look"+strings.ToLower(name)), realtime.WithLogger(quiet))
		require.NoError(t, err)
		t.Cleanup(func() { _ = bus.Close() })
		return bus
	}
	a := presence.NewLooking(open(), time.Minute, time.Second, quiet)
	bReg := presence.NewLooking(open(), time.Minute, time.Second, quiet)
	go a.Run(t.Context())
	go bReg.Run(t.Context())

	onB := bReg.Watch(t.Context(), "ten_a", "cnv_1", "agt_bob")
	until(t, onB, "Bob on B sees himself", func(x []presence.Looker) bool { return agents(x) == "agt_bob" })
	annCtx, annLeaves := context.WithCancel(t.Context())
	a.Watch(annCtx, "ten_a", "cnv_1", "agt_ann")
	until(t, onB, "Bob on B sees Ann on A", func(x []presence.Looker) bool { return agents(x) == "agt_bob agt_ann" })
	annLeaves()
	until(t, onB, "Ann left A", func(x []presence.Looker) bool { return agents(x) == "agt_bob" })
}
