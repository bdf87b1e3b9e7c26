package gateway_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

const viewersSub = `subscription($id: ID!) { conversationViewers(conversationID: $id) { conversationID viewers { agent { name } typing } } }`

// viewers reads c's next list as "Name Name(typing)".
func viewers(c *client) string {
	c.t.Helper()
	m := c.read()
	require.Equal(c.t, "next", m["type"], m)
	var names []string
	for _, v := range event(m, "conversationViewers")["viewers"].([]any) {
		v := v.(map[string]any)
		name := v["agent"].(map[string]any)["name"].(string)
		if v["typing"].(bool) {
			name += "(typing)"
		}
		names = append(names, name)
	}
	return strings.Join(names, " ")
}

// viewersUntil reads lists until want.
func viewersUntil(c *client, want string) {
	c.t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for got := ""; got != want; got = viewers(c) {
		require.True(c.t, time.Now().Before(deadline), "never saw %q (last %q)", want, got)
	}
}

// Who is looking: the owner opens a conversation and sees herself, the agent
// opens it and both see both, the agent types and the owner sees it, the
// agent closes it and the owner sees her alone. Subscribers of the same
// question each get their own execution (a subscription that counts its
// subscriber as looking cannot be shared), and another tenant is told the
// conversation does not exist.
func TestWhoIsLooking(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conv := firstConversation(t, b)
	vars := map[string]any{"id": conv}

	owner := b.dial(t, gateway.ProtocolTransportWS)
	owner.init(b.token)
	owner.send(subscribeMsg("v", viewersSub, vars))
	viewersUntil(owner, "Owner acme")

	agentToken := b.s.Login(t, "agent@acme.test", graphtest.Password)
	agent := b.dial(t, gateway.ProtocolTransportWS)
	agent.init(agentToken)
	agent.send(subscribeMsg("v", viewersSub, vars))
	viewersUntil(agent, "Owner acme Agent")
	viewersUntil(owner, "Owner acme Agent")

	r := b.s.Do(t, agentToken, `mutation($id: ID!) { typingInConversation(conversationID: $id) }`, vars)
	r.RequireOK(t)
	require.Contains(t, string(r.Data), "true")
	viewersUntil(owner, "Owner acme Agent(typing)")

	// The owner on a second tab: the same question, its own execution.
	tab := b.dial(t, gateway.ProtocolTransportWS)
	tab.init(b.token)
	tab.send(subscribeMsg("v", viewersSub, vars))
	viewers(tab)
	require.Equal(t, 3, b.s.Gateway.Stats().Executions, "three subscribers, three executions: none shared")

	_ = agent.ws.Close(websocket.StatusNormalClosure, "")
	viewersUntil(owner, "Owner acme")

	other := b.s.Inbox(t, "other", 1)
	stranger := b.dial(t, gateway.ProtocolTransportWS)
	stranger.init(other)
	stranger.send(subscribeMsg("v", viewersSub, vars))
	m := stranger.read()
	require.Nil(t, m["payload"].(map[string]any)["data"], m)
	require.Contains(t, fmt.Sprint(m["payload"]), "NOT_FOUND", m)
	b.s.Do(t, other, `mutation($id: ID!) { typingInConversation(conversationID: $id) }`, vars).RequireCode(t, "NOT_FOUND")
}
