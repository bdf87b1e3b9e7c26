package graph_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/outhook"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestOffboardAndBroadcastWebhooks: offboardAgent sends agent.offboarded and
// a broadcast's end (here: cancelled) sends broadcast.finished with its
// counts, each signed, to the endpoints subscribed; an endpoint whose role
// may not see broadcasts has its broadcast.finished SKIPPED, never sent.
func TestOffboardAndBroadcastWebhooks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig, graphtest.WithApp(app.WithWorkers(true)),
			graphtest.WithConfig(func(c *app.Config) { c.Webhooks.AllowPrivate = true; c.Webhooks.Poll = 50 * time.Millisecond }))
		w := seedWorld(t, s, "alpha")

		var (
			mu       sync.Mutex
			secrets  = map[string]string{}          // by path
			received = map[string]outhook.Payload{} // the admin endpoint's, by type
			badSig   int
		)
		crm := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
			body, _ := io.ReadAll(r.Body)
			mu.Lock()
			defer mu.Unlock()
			if outhook.Verify(secrets[r.URL.Path], r.Header.Get(outhook.HeaderSignature), body, time.Now(), outhook.DefaultTolerance) != nil {
				badSig++
				rw.WriteHeader(http.StatusUnauthorized)
				return
			}
			var p outhook.Payload
			if json.Unmarshal(body, &p) != nil || p.ID != r.Header.Get(outhook.HeaderEventID) {
				rw.WriteHeader(http.StatusBadRequest)
				return
			}
			if r.URL.Path == "/admin" {
				received[p.Type] = p
			}
		}))
		defer crm.Close()

		create := `mutation($u: String!, $r: String!) { createWebhookEndpoint(input: {name: "CRM", url: $u, role: $r,
			events: ["agent.offboarded", "broadcast.finished"]}) { secret endpoint { id } } }`
		var made struct {
			CreateWebhookEndpoint struct {
				Secret   string
				Endpoint struct{ ID string }
			}
		}
		endpoint := func(role string) string {
			r := s.Do(t, w.token, create, map[string]any{"u": crm.URL + "/" + role, "r": role})
			r.RequireOK(t)
			r.Decode(t, &made)
			mu.Lock()
			secrets["/"+role] = made.CreateWebhookEndpoint.Secret
			mu.Unlock()
			return made.CreateWebhookEndpoint.Endpoint.ID
		}
		endpoint("admin")
		partner := endpoint("partner")

		s.Do(t, w.token, `mutation($id: ID!) { offboardAgent(id: $id, reassignTo: {policy: true}) { agent { id } } }`,
			map[string]any{"id": w.agent}).RequireOK(t)
		s.Do(t, w.token, `mutation($id: ID!) { cancelBroadcast(id: $id) { state } }`, map[string]any{"id": w.broadcast}).RequireOK(t)

		require.Eventually(t, func() bool {
			mu.Lock()
			defer mu.Unlock()
			return len(received) == 2
		}, 20*time.Second, 20*time.Millisecond, "both events reach the CRM")
		mu.Lock()
		defer mu.Unlock()
		require.Zero(t, badSig)
		off := received[outhook.AgentOffboarded].Data["agent"].(map[string]any)
		require.Equal(t, w.agent, off["id"])
		cast := received[outhook.BroadcastFinished].Data["broadcast"].(map[string]any)
		require.Equal(t, w.broadcast, cast["id"])
		require.Equal(t, "CANCELLED", cast["state"])
		require.Equal(t, map[string]any{"planned": 0.0, "pending": 0.0, "skipped": 1.0, "sending": 0.0, "sent": 0.0, "failed": 0.0},
			cast["counts"], "the fixture's one recipient was skipped")

		// The partner role may not see broadcasts: its delivery is skipped.
		require.Eventually(t, func() bool {
			d, err := db.Client.OutboundDelivery.Query().Where(outbounddelivery.EndpointID(partner),
				outbounddelivery.EventType(outhook.BroadcastFinished)).Only(viewer.Platform(t.Context()))
			return err == nil && d.State == outbounddelivery.StateSKIPPED
		}, 20*time.Second, 20*time.Millisecond)
	})
}
