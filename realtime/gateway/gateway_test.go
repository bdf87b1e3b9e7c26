package gateway_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// bundle is a test server with a signed-in owner.
type bundle struct {
	s     *graphtest.Server
	url   string // ws://…/graphql
	token string
}

func setup(t *testing.T, opts ...graphtest.Option) *bundle {
	t.Helper()
	s := graphtest.New(t, storetest.Open(t, dialect.SQLite), graph.Config{}, opts...)
	token := s.Inbox(t, "acme", 3)
	srv := httptest.NewServer(s.Handler)
	t.Cleanup(srv.Close)
	return &bundle{s: s, url: "ws" + strings.TrimPrefix(srv.URL, "http") + "/graphql", token: token}
}

// client is a raw protocol client.
type client struct {
	t  *testing.T
	ws *websocket.Conn
}

func (b *bundle) dial(t *testing.T, protocols ...string) *client {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, b.url, &websocket.DialOptions{Subprotocols: protocols})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func (c *client) send(msg string) {
	c.t.Helper()
	require.NoError(c.t, c.ws.Write(c.t.Context(), websocket.MessageText, []byte(msg)))
}

// read returns the next message, skipping server pings.
func (c *client) read() map[string]any {
	c.t.Helper()
	for {
		// Generous: under a loaded CI machine an event can take seconds.
		ctx, cancel := context.WithTimeout(c.t.Context(), 15*time.Second)
		_, data, err := c.ws.Read(ctx)
		cancel()
		require.NoError(c.t, err)
		var m map[string]any
		require.NoError(c.t, json.Unmarshal(data, &m))
		if m["type"] == "ping" || m["type"] == "ka" {
			continue
		}
		return m
	}
}

// closed waits for the server to close the connection and returns its code.
func (c *client) closed() websocket.StatusCode {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(c.t.Context(), 10*time.Second)
	defer cancel()
	for {
		_, _, err := c.ws.Read(ctx)
		if err != nil {
			require.NoError(c.t, ctx.Err(), "the server did not close the connection")
			return websocket.CloseStatus(err)
		}
	}
}

func (c *client) init(token string) {
	c.t.Helper()
	c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + token + `"}}`)
	require.Equal(c.t, "connection_ack", c.read()["type"])
}

const conversationSub = `subscription { conversationEvents { seq kind conversation { id status } } }`

// subscribeMsg is a subscribe message; vars, when given, are its variables.
func subscribeMsg(id, query string, vars ...map[string]any) string {
	payload := map[string]any{"query": query}
	if len(vars) > 0 {
		payload["variables"] = vars[0]
	}
	b, _ := json.Marshal(map[string]any{"id": id, "type": "subscribe", "payload": payload})
	return string(b)
}

func TestProtocol(t *testing.T) {
	t.Parallel()
	b := setup(t)
	tests := []struct {
		name string
		run  func(t *testing.T, c *client)
		want websocket.StatusCode
	}{
		{"no subprotocol", func(t *testing.T, c *client) {}, gateway.CloseSubprotocol},
		{"subscribe before init", func(t *testing.T, c *client) { c.send(subscribeMsg("1", conversationSub)) }, gateway.CloseUnauthorized},
		{"bad token", func(t *testing.T, c *client) {
			c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer nope"}}`)
		}, gateway.CloseForbidden},
		{"no token", func(t *testing.T, c *client) { c.send(`{"type":"connection_init"}`) }, gateway.CloseForbidden},
		{"second init", func(t *testing.T, c *client) {
			c.init(b.token)
			c.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + b.token + `"}}`)
		}, gateway.CloseTooManyInit},
		{"duplicate id", func(t *testing.T, c *client) {
			c.init(b.token)
			c.send(subscribeMsg("1", conversationSub))
			c.send(subscribeMsg("1", conversationSub))
		}, gateway.CloseDuplicateID},
		{"bad JSON", func(t *testing.T, c *client) { c.send(`{"type":`) }, gateway.CloseInvalidMessage},
		{"unknown message type", func(t *testing.T, c *client) { c.send(`{"type":"hello"}`) }, gateway.CloseInvalidMessage},
		{"subscribe without id", func(t *testing.T, c *client) {
			c.init(b.token)
			c.send(`{"type":"subscribe","payload":{"query":"{ __typename }"}}`)
		}, gateway.CloseInvalidMessage},
		{"binary message", func(t *testing.T, c *client) {
			require.NoError(t, c.ws.Write(t.Context(), websocket.MessageBinary, []byte(`{}`)))
		}, gateway.CloseInvalidMessage},
		{"message too big", func(t *testing.T, c *client) {
			c.send(`{"type":"connection_init","payload":{"x":"` + strings.Repeat("x", 100<<10) + `"}}`)
		}, websocket.StatusMessageTooBig},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			protocols := []string{gateway.ProtocolTransportWS}
			if tt.want == gateway.CloseSubprotocol {
				protocols = []string{"mqtt"}
			}
			c := b.dial(t, protocols...)
			tt.run(t, c)
			require.Equal(t, tt.want, c.closed())
		})
	}
}

func TestInitTimeout(t *testing.T) {
	t.Parallel()
	b := setup(t, graphtest.WithGateway(graph.GatewayConfig{InitTimeout: 100 * time.Millisecond}))
	c := b.dial(t, gateway.ProtocolTransportWS)
	require.Equal(t, gateway.CloseInitTimeout, c.closed())
}

func TestPingPongAndSingleResults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.dial(t, gateway.ProtocolTransportWS)
	c.init(b.token)

	c.send(`{"type":"ping","payload":{"n":1}}`)
	require.Equal(t, map[string]any{"type": "pong", "payload": map[string]any{"n": float64(1)}}, c.read())

	// A query over the socket answers once, then completes.
	c.send(subscribeMsg("q", `{ viewer { kind } }`))
	m := c.read()
	require.Equal(t, "next", m["type"])
	require.Equal(t, "q", m["id"])
	require.Equal(t, map[string]any{"data": map[string]any{"viewer": map[string]any{"kind": "AGENT"}}}, m["payload"])
	require.Equal(t, map[string]any{"type": "complete", "id": "q"}, c.read())

	// An invalid operation answers an error for its id; the connection stays.
	c.send(subscribeMsg("bad", `subscription { nope }`))
	m = c.read()
	require.Equal(t, "error", m["type"])
	require.Equal(t, "bad", m["id"])
	require.Contains(t, m["payload"].([]any)[0].(map[string]any)["message"], "nope")
	c.send(`{"type":"ping"}`)
	require.Equal(t, "pong", c.read()["type"])
}

func TestSubscriptionOverBothProtocols(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conv := firstConversation(t, b)
	for _, p := range []struct{ protocol, subscribe, next, stop string }{
		{gateway.ProtocolTransportWS, "subscribe", "next", "complete"},
		{gateway.ProtocolLegacyWS, "start", "data", "stop"},
	} {
		t.Run(p.protocol, func(t *testing.T) {
			c := b.dial(t, p.protocol)
			c.init(b.token)
			c.send(`{"id":"s","type":"` + p.subscribe + `","payload":{"query":"` + conversationSub + `"}}`)
			waitSubscribed(t, b)
			b.s.Do(t, b.token, `mutation { resolveConversation(id: "`+conv+`") { id } }`, nil).RequireOK(t)
			m := c.read()
			require.Equal(t, p.next, m["type"], "%v", m)
			require.Equal(t, "s", m["id"])
			ev := m["payload"].(map[string]any)["data"].(map[string]any)["conversationEvents"].(map[string]any)
			require.Equal(t, "STATUS_CHANGED", ev["kind"])
			require.Equal(t, map[string]any{"id": conv, "status": "RESOLVED"}, ev["conversation"])

			// Stopping ends delivery.
			c.send(`{"id":"s","type":"` + p.stop + `"}`)
			require.Eventually(t, func() bool { return b.s.Gateway.Stats().Subscriptions == 0 }, 15*time.Second, 10*time.Millisecond)
			b.s.Do(t, b.token, `mutation { setConversationStatus(id: "`+conv+`", status: OPEN) { id } }`, nil).RequireOK(t)
			c.send(`{"id":"after","type":"` + p.subscribe + `","payload":{"query":"{ __typename }"}}`)
			m = c.read()
			require.NotEqual(t, "s", m["id"], "no event after stop: %v", m)
		})
	}
}

func TestSharedExecution(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conv := firstConversation(t, b)
	var clients []*client
	for range 5 {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(b.token)
		c.send(subscribeMsg("x", conversationSub))
		clients = append(clients, c)
	}
	require.Eventually(t, settled(b.s.Gateway, 5), 15*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, b.s.Gateway.Stats().Executions, "five subscribers of one question, one execution")
	b.s.Do(t, b.token, `mutation { resolveConversation(id: "`+conv+`") { id } }`, nil).RequireOK(t)
	for _, c := range clients {
		require.Equal(t, "next", c.read()["type"])
	}
}

func TestDrainClosesWithGoingAway(t *testing.T) {
	t.Parallel()
	b := setup(t)
	c := b.dial(t, gateway.ProtocolTransportWS)
	c.init(b.token)
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	go func() { _ = b.s.Gateway.Shutdown(ctx) }()
	require.Equal(t, gateway.CloseGoingAway, c.closed())
}

// TestSlowConsumer: a client that stops reading is closed once its queue is
// full (1013), and meanwhile a reading client gets every event.
func TestSlowConsumer(t *testing.T) {
	t.Parallel()
	b := setup(t, graphtest.WithGateway(graph.GatewayConfig{QueueSize: 16, WriteTimeout: 2 * time.Second}))
	conv := firstConversation(t, b)
	slow := b.dialSlow(t)
	slow.init(b.token)
	// About 20 KiB an event, so that its backlog outgrows what the kernel
	// buffers on loopback (a few MiB) and the server's writes block. Long
	// alias names make the bytes while staying under the signed-in alias
	// limit (graph/bound.go).
	pad := strings.Repeat("x", 80)
	var big strings.Builder
	for i := range 180 {
		fmt.Fprintf(&big, " f%d%s: updatedAt", i, pad)
	}
	slow.send(subscribeMsg("s", `subscription { conversationEvents { seq conversation {`+big.String()+` } } }`))
	fast := b.dial(t, gateway.ProtocolTransportWS)
	fast.init(b.token)
	fast.send(subscribeMsg("f", conversationSub))
	require.Eventually(t, settled(b.s.Gateway, 2), 15*time.Second, 10*time.Millisecond)

	// In lockstep with the reading client: each event is published once the
	// previous one reached it, so the stalled client is the only one that
	// could hold anything up, and it never does.
	tenantID := tenantOf(t, b)
	for range 600 {
		e, err := b.s.Bus.Publish(t.Context(), realtime.ConversationEvent(tenantID, conv, realtime.KindStatusChanged))
		require.NoError(t, err)
		m := fast.read()
		require.Equal(t, "next", m["type"], "%v", m)
		ev := m["payload"].(map[string]any)["data"].(map[string]any)["conversationEvents"].(map[string]any)
		require.Equal(t, float64(e.Seq), ev["seq"])
	}
	require.Equal(t, gateway.CloseTooSlow, slow.closed())
	require.GreaterOrEqual(t, b.s.Gateway.Stats().TooSlow, int64(1))
}

// dialSlow connects with a tiny receive buffer and never reads, so that the
// server's writes to it block once a few kilobytes are in flight.
func (b *bundle) dialSlow(t *testing.T) *client {
	t.Helper()
	dialer := &net.Dialer{Control: func(_, _ string, rc syscall.RawConn) error {
		return rc.Control(func(fd uintptr) {
			_ = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 2048)
		})
	}}
	hc := &http.Client{Transport: &http.Transport{DialContext: dialer.DialContext}}
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, b.url, &websocket.DialOptions{Subprotocols: []string{gateway.ProtocolTransportWS}, HTTPClient: hc})
	require.NoError(t, err)
	t.Cleanup(func() { _ = ws.CloseNow() })
	return &client{t: t, ws: ws}
}

func firstConversation(t *testing.T, b *bundle) string {
	t.Helper()
	r := b.s.Do(t, b.token, `{ conversations(first: 1) { edges { node { id } } } }`, nil)
	r.RequireOK(t)
	var out struct {
		Conversations struct {
			Edges []struct{ Node struct{ ID string } }
		}
	}
	r.Decode(t, &out)
	return out.Conversations.Edges[0].Node.ID
}

func tenantOf(t *testing.T, b *bundle) string {
	t.Helper()
	r := b.s.Do(t, b.token, `{ viewer { tenant { id } } }`, nil)
	var out struct {
		Viewer struct{ Tenant struct{ ID string } }
	}
	r.Decode(t, &out)
	return out.Viewer.Tenant.ID
}

// settled reports when the gateway holds subs subscriptions and every
// execution's stream is open: an event published then reaches them all.
func settled(g *gateway.Gateway, subs int) func() bool {
	return func() bool {
		st := g.Stats()
		return st.Subscriptions == subs && st.Live == st.Executions
	}
}

func waitSubscribed(t *testing.T, b *bundle) {
	t.Helper()
	require.Eventually(t, func() bool { return b.s.Gateway.Stats().Live > 0 }, 15*time.Second, 10*time.Millisecond)
}
