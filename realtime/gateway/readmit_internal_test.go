package gateway

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestAnOldExecutionCannotSpeakForARestartedSubscription: a re-admission
// moves a subscription from its execution to a new one (new permissions).
// What the old execution still had in hand — an event it was fanning out,
// or its end — must not reach the client after the new one's answer: an
// old event would replace a coalesced FORBIDDEN, and the old end would
// complete the subscription without it (CI saw both as a refused
// subscription that completed with no error).
func TestAnOldExecutionCannotSpeakForARestartedSubscription(t *testing.T) {
	g := &Gateway{cfg: Config{QueueSize: 8}, writes: make(chan *conn, 8), groups: map[string]*group{}}
	c := &conn{g: g, d: dialects[ProtocolTransportWS], subs: map[string]*sub{}}
	s := &sub{id: "1"}
	c.subs[s.id] = s
	_, cancel := context.WithCancel(context.Background())
	old := &group{g: g, key: "old", cancel: cancel, members: map[*sub]*conn{s: c}}
	restarted := &group{g: g, key: "new", cancel: cancel, members: map[*sub]*conn{s: c}}
	s.group = restarted // readmit: s left old and joined restarted

	c.deliver(restarted, s, []byte("forbidden"), s.id)
	c.deliver(old, s, []byte("an event from before the change"), s.id)
	old.finish()

	var queued []string
	for _, m := range c.queue {
		queued = append(queued, string(m.data))
	}
	require.Equal(t, []string{"forbidden"}, queued, "only the new execution speaks for the subscription")
	require.Same(t, s, c.subs[s.id], "the old execution's end did not end the restarted subscription")

	restarted.finish()
	require.Len(t, c.queue, 2, "the new execution's end completes it")
	require.Empty(t, c.subs)
}

// A re-admission that restarts a subscription after a revocation at seq
// since lets the old execution deliver what came before it first: the
// restart resumes after since, so an event the old execution still had in
// hand would otherwise be lost (found reading readmit: the subscription left
// its execution before waiting for it, and what it then delivered was
// dropped). A subscription stopped while its execution catches up is not
// restarted.
func TestAHandOverWaitsForWhatCameBefore(t *testing.T) {
	g := &Gateway{cfg: Config{QueueSize: 8}, writes: make(chan *conn, 8), groups: map[string]*group{}}
	c := &conn{g: g, d: dialects[ProtocolTransportWS], subs: map[string]*sub{}}
	s := &sub{id: "1"}
	c.subs[s.id] = s
	_, cancel := context.WithCancel(context.Background())
	old := &group{g: g, key: "old", cancel: cancel, members: map[*sub]*conn{s: c}, moved: make(chan struct{})}
	s.group, s.moving = old, true // readmit chose to move it

	handed := make(chan bool)
	go func() { handed <- c.handOver(s, old, 10) }()
	time.Sleep(20 * time.Millisecond) // the hand-over waits for the execution
	c.deliver(old, s, []byte("event 9, before the revocation at 10"), "")
	select {
	case <-handed:
		t.Fatal("handed over before the execution reached the revocation")
	case <-time.After(50 * time.Millisecond):
	}
	old.reach(10)
	require.True(t, <-handed)
	require.Len(t, c.queue, 1, "what the old execution delivered before the revocation reaches the client")
	require.Nil(t, s.group)
	require.False(t, s.moving)
	c.deliver(old, s, []byte("event 11, after it"), "")
	require.Len(t, c.queue, 1, "after the hand-over the old execution no longer speaks for it")

	// stopped by the client while its execution catches up: not restarted
	s2 := &sub{id: "2"}
	c.subs[s2.id] = s2
	other := &group{g: g, key: "other", cancel: cancel, members: map[*sub]*conn{s2: c}, moved: make(chan struct{})}
	s2.group, s2.moving = other, true
	go func() { handed <- c.handOver(s2, other, 20) }()
	c.stop(s2.id)
	other.reach(20)
	require.False(t, <-handed, "a stopped subscription is not restarted")
}
