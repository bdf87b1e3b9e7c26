package gateway

import (
	"context"
	"testing"

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
