package realtime_test

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime"
)

// TestEventsCarryTheirChange: what a constructor builds is what Change reads
// back, and events stored before Change existed (a replay window, another
// instance not yet upgraded) read the same.
func TestEventsCarryTheirChange(t *testing.T) {
	t.Parallel()
	e := realtime.RoutedEvent("ten_1", "cnv_1", realtime.KindAssigned, "agt_1", "POLICY", "least-loaded")
	require.Equal(t, realtime.ConversationChanged, e.Type)
	require.Equal(t, realtime.Change{Kind: realtime.KindAssigned, AgentID: "agt_1", Cause: "POLICY", Reason: "least-loaded"}, e.Change())
	m := realtime.MessageEvent("ten_1", "msg_1", "cnv_1", realtime.KindAdded)
	require.Equal(t, "msg_1", m.Subject)
	require.Equal(t, realtime.Change{Kind: realtime.KindAdded, ConversationID: "cnv_1"}, m.Change())

	old := realtime.Event{Data: json.RawMessage(`{"kind":"ASSIGNED","agentID":"agt_1","cause":"POLICY","reason":"r"}`)}
	require.Equal(t, realtime.Change{Kind: "ASSIGNED", AgentID: "agt_1", Cause: "POLICY", Reason: "r"}, old.Change())
	require.Equal(t, realtime.Change{}, realtime.Event{}.Change())
}
