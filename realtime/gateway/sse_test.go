package gateway_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

// sseStream is a subscription over server-sent events.
type sseStream struct {
	events chan sseEvent // closed when the server ends the stream
}

type sseEvent struct {
	Type string
	Data map[string]any
}

// openSSE posts an operation with Accept: text/event-stream and reads its
// events in the background.
func openSSE(t *testing.T, url, token, query string) *sseStream {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"query": query})
	ctx, cancel := context.WithCancel(t.Context())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, res.StatusCode)
	require.Contains(t, res.Header.Get("Content-Type"), "text/event-stream")
	s := &sseStream{events: make(chan sseEvent, 256)}
	go func() {
		defer close(s.events)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if ev.Type != "" {
					s.events <- ev
				}
				ev = sseEvent{}
			case strings.HasPrefix(line, "event: "):
				ev.Type = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: "):
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.Data)
			}
		}
	}()
	return s
}

// next returns the next event; ok is false when the stream ended.
func (s *sseStream) next(t *testing.T) (sseEvent, bool) {
	t.Helper()
	select {
	case ev, ok := <-s.events:
		return ev, ok
	case <-time.After(5 * time.Second):
		t.Fatal("no event within 5s")
		return sseEvent{}, false
	}
}

// ended reads to the end of the stream and returns its last error (the
// server's reason to end it), or nil.
func (s *sseStream) ended(t *testing.T) map[string]any {
	t.Helper()
	var last map[string]any
	for {
		ev, ok := s.next(t)
		if !ok {
			return last
		}
		if errs, _ := ev.Data["errors"].([]any); len(errs) > 0 {
			last = errs[0].(map[string]any)
		}
	}
}

func closeCode(err map[string]any) float64 {
	ext, _ := err["extensions"].(map[string]any)
	code, _ := ext["closeCode"].(float64)
	return code
}

// steadyPresence gives presence a grace long enough that a loaded machine
// renews the lease in time: with graphtest's 50 ms, a late renewal turned
// agents OFFLINE and ONLINE again mid-test (TestPresence failed 2 runs of 4).
var steadyPresence = graphtest.WithConfig(func(c *app.Config) { c.PresenceGrace = time.Second })

// presenceOf returns the next presence the watcher hears of the agent named
// name (the watcher's own may arrive late, once it has subscribed).
func presenceOf(watcher *client, name string) string {
	for {
		a := event(watcher.read(), "agentPresenceChanged")["agent"].(map[string]any)
		if a["name"] == name {
			return a["presence"].(string)
		}
	}
}

func (b *bundle) httpURL() string { return "http" + strings.TrimPrefix(b.url, "ws") }

// An event stream delivers a subscription's events, and signing out ends it
// like a websocket: the last event says why (4403), then it completes.
func TestEventStreamSubscription(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conv := firstConversation(t, b)
	agent := b.s.Login(t, "agent@acme.test", graphtest.Password)
	s := openSSE(t, b.httpURL(), agent, conversationSub)
	waitSubscribed(t, b)
	require.Equal(t, 1, b.s.Gateway.Stats().Connections, "the stream is a connection of the gateway")

	b.s.Do(t, b.token, `mutation { resolveConversation(id: "`+conv+`") { id } }`, nil).RequireOK(t)
	ev, ok := s.next(t)
	require.True(t, ok)
	require.Equal(t, "next", ev.Type)
	require.Equal(t, "STATUS_CHANGED", ev.Data["data"].(map[string]any)["conversationEvents"].(map[string]any)["kind"])

	b.s.Do(t, agent, `mutation { logout }`, nil).RequireOK(t)
	last := s.ended(t)
	require.Equal(t, float64(gateway.CloseForbidden), closeCode(last), "%v", last)
	require.Eventually(t, func() bool { return b.s.Gateway.Stats().Connections == 0 }, 15*time.Second, 10*time.Millisecond)
}

// Websockets and event streams share the per-agent cap and both count for
// presence.
func TestEventStreamsShareCapsAndPresence(t *testing.T) {
	t.Parallel()
	b := setup(t, steadyPresence, graphtest.WithGateway(graph.GatewayConfig{MaxConnectionsPerAgent: 2}))
	watcher := b.dial(t, gateway.ProtocolTransportWS)
	watcher.init(b.token)
	watcher.send(subscribeMsg("p", `subscription { agentPresenceChanged { agent { name presence } } }`))
	waitSubscribed(t, b)
	presence := func() string { return presenceOf(watcher, "Agent") }

	agent := b.s.Login(t, "agent@acme.test", graphtest.Password)
	first := openSSE(t, b.httpURL(), agent, conversationSub)
	require.Equal(t, "ONLINE", presence(), "an event stream makes its agent ONLINE")
	ws := b.dial(t, gateway.ProtocolTransportWS)
	ws.init(agent)

	third := openSSE(t, b.httpURL(), agent, conversationSub)
	last := third.ended(t)
	require.Equal(t, float64(gateway.CloseForbidden), closeCode(last), "%v", last)
	require.Contains(t, last["message"], "too many connections")
	refused := b.dial(t, gateway.ProtocolTransportWS)
	refused.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + agent + `"}}`)
	require.Equal(t, gateway.CloseForbidden, refused.closed())

	_ = ws.ws.CloseNow()
	b.s.Do(t, agent, `mutation { logout }`, nil).RequireOK(t) // ends the stream
	_ = first.ended(t)
	require.Equal(t, "OFFLINE", presence(), "after the grace period, with neither connection left")
}

// An API key has a connection cap of its own, and revoking it closes its
// websockets and event streams at once.
func TestAPIKeyConnections(t *testing.T) {
	t.Parallel()
	b := setup(t, graphtest.WithGateway(graph.GatewayConfig{MaxConnectionsPerKey: 2}))
	r := b.s.Do(t, b.token, `mutation { createAPIKey(input: {name: "crm", role: "supervisor"}) { secret apiKey { id } } }`, nil)
	r.RequireOK(t)
	var out struct {
		CreateAPIKey struct {
			Secret string
			APIKey struct{ ID string }
		}
	}
	r.Decode(t, &out)
	key := out.CreateAPIKey.Secret

	ws := b.dial(t, gateway.ProtocolTransportWS)
	ws.init(key)
	s := openSSE(t, b.httpURL(), key, conversationSub)
	waitSubscribed(t, b)
	refused := b.dial(t, gateway.ProtocolTransportWS)
	refused.send(`{"type":"connection_init","payload":{"Authorization":"Bearer ` + key + `"}}`)
	require.Equal(t, gateway.CloseForbidden, refused.closed(), "a third connection for a key capped at two")

	b.s.Do(t, b.token, `mutation($id: ID!) { revokeAPIKey(id: $id) { id } }`, map[string]any{"id": out.CreateAPIKey.APIKey.ID}).RequireOK(t)
	require.Equal(t, gateway.CloseForbidden, ws.closed())
	require.Equal(t, float64(gateway.CloseForbidden), closeCode(s.ended(t)))
}

// A connection lives no longer than its access token: it closes with 4403
// when the token expires.
func TestConnectionsCloseWhenTheirTokenExpires(t *testing.T) {
	t.Parallel()
	b := setup(t)
	// graphtest signs with this secret; a token of a second's life.
	tokens, err := auth.NewTokens([]byte(strings.Repeat("k", 32)), time.Second, clock.Real())
	require.NoError(t, err)
	var me struct {
		Viewer struct {
			Agent  struct{ ID string }
			Tenant struct{ ID string }
		}
	}
	b.s.Do(t, b.token, `{ viewer { agent { id } tenant { id } } }`, nil).Decode(t, &me)
	short, _, err := tokens.Issue(me.Viewer.Tenant.ID, me.Viewer.Agent.ID, "", []string{"owner"})
	require.NoError(t, err)

	start := time.Now()
	ws := b.dial(t, gateway.ProtocolTransportWS)
	ws.init(short)
	s := openSSE(t, b.httpURL(), short, conversationSub)
	require.Equal(t, gateway.CloseForbidden, ws.closed())
	last := s.ended(t)
	require.Equal(t, float64(gateway.CloseForbidden), closeCode(last))
	require.Contains(t, last["message"], "expired")
	require.Less(t, time.Since(start), 4*time.Second)
}
