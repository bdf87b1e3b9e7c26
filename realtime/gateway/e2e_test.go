package gateway_test

import (
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	graphqlclient "github.com/hasura/go-graphql-client"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

// listener is a real graphql-transport-ws client (hasura/go-graphql-client)
// collecting what one subscription receives.
type listener struct {
	mu     sync.Mutex
	events []map[string]any
	errs   []error
}

func listen(t *testing.T, url, token, query string) *listener {
	t.Helper()
	l := &listener{}
	c := graphqlclient.NewSubscriptionClient(url).
		WithProtocol(graphqlclient.GraphQLWS).
		WithConnectionParams(map[string]any{"Authorization": "Bearer " + token}).
		WithRetryTimeout(2 * time.Second).
		OnError(func(_ *graphqlclient.SubscriptionClient, err error) error {
			l.mu.Lock()
			l.errs = append(l.errs, err)
			l.mu.Unlock()
			return err
		})
	_, err := c.SubscribeRaw(query, nil, func(msg []byte, err error) error {
		l.mu.Lock()
		defer l.mu.Unlock()
		if err != nil {
			l.errs = append(l.errs, err)
			return nil
		}
		var ev map[string]any
		if json.Unmarshal(msg, &ev) == nil {
			l.events = append(l.events, ev)
		}
		return nil
	})
	require.NoError(t, err)
	go func() { _ = c.Run() }()
	t.Cleanup(func() { _ = c.Close() })
	return l
}

func (l *listener) snapshot() ([]map[string]any, []error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]map[string]any(nil), l.events...), append([]error(nil), l.errs...)
}

func TestEndToEndWithARealClient(t *testing.T) {
	t.Parallel()
	b := setup(t)
	owner := b.token
	do := func(token, q string, vars map[string]any, out any) {
		t.Helper()
		r := b.s.Do(t, token, q, vars)
		r.RequireOK(t)
		if out != nil {
			r.Decode(t, out)
		}
	}
	var convs struct {
		Conversations struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	do(owner, `{ conversations(first: 3) { edges { node { id } } } }`, nil, &convs)
	mine, others := convs.Conversations.Edges[0].Node.ID, convs.Conversations.Edges[1].Node.ID

	// A supervisor sees everything; an agent with an assigned-only role sees
	// the one conversation assigned to them, with phones masked and no email.
	do(owner, `mutation { createAgent(input: {name: "Sue", email: "sue@acme.test", password: "long enough pw", roles: ["supervisor"]}) { id } }`, nil, nil)
	var role struct{ CreateRole struct{ ID string } }
	do(owner, `mutation { createRole(input: {name: "assigned", label: "Assigned only", permissions: ["conversation.read.assigned", "contact.read"]}) { id } }`, nil, &role)
	var ann struct{ CreateAgent struct{ ID string } }
	do(owner, `mutation($r: [String!]) { createAgent(input: {name: "Ann", email: "ann@acme.test", password: "long enough pw", roles: $r}) { id } }`,
		map[string]any{"r": []string{"assigned"}}, &ann)
	do(owner, `mutation($c: ID!, $a: ID) { assignConversation(id: $c, agentID: $a) { id } }`, map[string]any{"c": mine, "a": ann.CreateAgent.ID}, nil)
	sue := b.s.Login(t, "sue@acme.test", "long enough pw")
	annToken := b.s.Login(t, "ann@acme.test", "long enough pw")

	const q = `subscription { conversationEvents { seq kind conversation { id status contact { phone } assignee { name } } } }`
	supervisor := listen(t, b.url, sue, q)
	agent := listen(t, b.url, annToken, q)
	// A raw client asks Ann's question with a field her role may not read.
	raw := b.dial(t, gateway.ProtocolTransportWS)
	raw.init(annToken)
	raw.send(subscribeMsg("e", `subscription { conversationEvents { conversation { id assignee { name email } } } }`))
	require.Eventually(t, settled(b.s.Gateway, 3), 15*time.Second, 20*time.Millisecond)

	// A change to a conversation that is not Ann's: only the supervisor hears.
	do(owner, `mutation($c: ID!) { resolveConversation(id: $c) { id } }`, map[string]any{"c": others}, nil)
	// A change to Ann's conversation: both hear, each with what they may see.
	do(owner, `mutation($c: ID!) { resolveConversation(id: $c) { id } }`, map[string]any{"c": mine}, nil)

	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		sup, _ := supervisor.snapshot()
		ag, _ := agent.snapshot()
		if len(sup) == 2 && len(ag) == 1 {
			break
		}
	}
	time.Sleep(100 * time.Millisecond) // nothing more arrives
	sup, supErrs := supervisor.snapshot()
	ag, _ := agent.snapshot()
	require.Len(t, sup, 2, "%s", debugListeners(supervisor, agent)())
	require.Len(t, ag, 1, "the agent hears only of their own conversation")
	require.Empty(t, supErrs)

	conv := func(ev map[string]any) map[string]any {
		return ev["conversationEvents"].(map[string]any)["conversation"].(map[string]any)
	}
	byID := map[string]map[string]any{}
	for _, ev := range sup {
		byID[conv(ev)["id"].(string)] = conv(ev)
	}
	require.Contains(t, byID, others)
	require.Contains(t, byID, mine)
	require.Equal(t, mine, conv(ag[0])["id"])
	// The supervisor reads the phone in the clear; the agent's is masked.
	require.NotContains(t, byID[mine]["contact"].(map[string]any)["phone"], "•")
	require.Contains(t, conv(ag[0])["contact"].(map[string]any)["phone"], "•")
	require.Equal(t, "Ann", conv(ag[0])["assignee"].(map[string]any)["name"])

	// The email, which needs agent.manage, arrives as null with a FORBIDDEN
	// error at its path, and the event about another conversation never came.
	m := raw.read()
	require.Equal(t, "next", m["type"])
	payload := m["payload"].(map[string]any)
	c := payload["data"].(map[string]any)["conversationEvents"].(map[string]any)["conversation"].(map[string]any)
	require.Equal(t, mine, c["id"])
	require.Equal(t, map[string]any{"name": "Ann", "email": nil}, c["assignee"])
	e := payload["errors"].([]any)[0].(map[string]any)
	require.Equal(t, "FORBIDDEN", e["extensions"].(map[string]any)["code"])
	require.Equal(t, []any{"conversationEvents", "conversation", "assignee", "email"}, e["path"])

	// Live lists need the switches of the lists they follow: Ann's role holds
	// neither number.view, agent.view nor report.view_own.
	for id, q := range map[string]string{
		"n": `subscription { numberStatusChanged { number { id } } }`,
		"a": `subscription { agentPresenceChanged { agent { id } } }`,
		"d": `subscription { dashboard { openConversations } }`,
	} {
		raw.send(subscribeMsg(id, q))
		m := raw.read()
		require.Equal(t, id, m["id"])
		require.Contains(t, fmt.Sprint(m["payload"]), "code:FORBIDDEN", "%s: %v", q, m)
		require.Equal(t, map[string]any{"id": id, "type": "complete"}, raw.read())
	}
}

func debugListeners(ls ...*listener) func() string {
	return func() string {
		out := ""
		for _, l := range ls {
			ev, errs := l.snapshot()
			out += fmt.Sprintf("events %v errors %v\n", ev, errs)
		}
		return out
	}
}
