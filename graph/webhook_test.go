package graph_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestWebhooksThroughTheAPI: webhook.manage holders set endpoints up (the
// secret shown once, bad URLs and event types refused with INVALID_INPUT),
// every change is audited, and a role without the switch neither lists them
// nor reaches one by id.
func TestWebhooksThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		agentToken := s.Login(t, "agent@alpha.test", graphtest.Password)

		create := `mutation($u: String!, $e: [String!]!) { createWebhookEndpoint(input: {name: "HubSpot", url: $u, role: "partner", events: $e}) {
			secret endpoint { id url events role enabled secretPrefix } } }`
		for _, c := range []struct {
			url    string
			events []string
			field  string
		}{
			{"http://127.0.0.1:9/x", []string{"message.received"}, "url"},
			{"http://169.254.169.254/latest", []string{"message.received"}, "url"},
			{"https://crm.example.com/in", []string{"message.teleported"}, "events"},
			{"https://crm.example.com/in", []string{}, "events"},
		} {
			r := s.Do(t, w.token, create, map[string]any{"u": c.url, "e": c.events})
			r.RequireCode(t, "INVALID_INPUT")
			require.Contains(t, r.String(), c.field)
		}
		r := s.Do(t, agentToken, create, map[string]any{"u": "https://crm.example.com/in", "e": []string{"message.received"}})
		r.RequireCode(t, "FORBIDDEN")

		r = s.Do(t, w.token, create, map[string]any{"u": "https://crm.example.com/in", "e": []string{"message.received", "conversation.resolved"}})
		r.RequireOK(t)
		var made struct {
			CreateWebhookEndpoint struct {
				Secret   string
				Endpoint struct{ ID, SecretPrefix string }
			}
		}
		r.Decode(t, &made)
		ep := made.CreateWebhookEndpoint
		require.True(t, strings.HasPrefix(ep.Secret, "whsec_"), ep.Secret)
		require.True(t, strings.HasPrefix(ep.Secret, ep.Endpoint.SecretPrefix))

		// Lists: the owner sees it (never the secret); the agent sees nothing, by list or by id.
		r = s.Do(t, w.token, `{ webhookEndpoints { totalCount edges { node { id secretPrefix } } } outboundDeliveries { totalCount } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), ep.Endpoint.ID)
		require.NotContains(t, string(r.Body), ep.Secret)
		r = s.Do(t, agentToken, `{ webhookEndpoints { totalCount } }`, nil)
		r.RequireCode(t, "FORBIDDEN")
		r = s.Do(t, agentToken, `{ outboundDeliveries { totalCount } }`, nil)
		r.RequireCode(t, "FORBIDDEN")
		for _, id := range []string{ep.Endpoint.ID, w.webhook, w.delivery} {
			r = s.Do(t, agentToken, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": id})
			require.JSONEq(t, `{"node":null}`, string(r.Data), "%s: %s", id, r.Body)
		}

		// Rotate, update, redeliver, delete: each audited.
		r = s.Do(t, w.token, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret endpoint { secretPrefix } } }`, map[string]any{"id": ep.Endpoint.ID})
		r.RequireOK(t)
		require.NotContains(t, string(r.Data), ep.Secret)
		r = s.Do(t, w.token, `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false, maxInFlight: 64}) { id } }`, map[string]any{"id": ep.Endpoint.ID})
		r.RequireCode(t, "INVALID_INPUT")
		r = s.Do(t, w.token, `mutation($id: ID!) { updateWebhookEndpoint(id: $id, input: {enabled: false, maxInFlight: 8}) { enabled maxInFlight } }`, map[string]any{"id": ep.Endpoint.ID})
		r.RequireOK(t)
		require.JSONEq(t, `{"updateWebhookEndpoint":{"enabled":false,"maxInFlight":8}}`, string(r.Data))
		r = s.Do(t, w.token, `mutation($id: ID!) { redeliverWebhook(id: $id) { id state eventType } }`, map[string]any{"id": w.delivery})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"state":"PENDING"`)
		require.Contains(t, string(r.Data), `"eventType":"message.sent"`)
		r = s.Do(t, w.token, `mutation($id: ID!) { deleteWebhookEndpoint(id: $id) }`, map[string]any{"id": ep.Endpoint.ID})
		r.RequireOK(t)
		r = s.Do(t, w.token, `{ auditEvents(where: {actionHasPrefix: "webhook."}) { edges { node { action summary } } } }`, nil)
		r.RequireOK(t)
		for _, a := range []string{"webhook.create", "webhook.rotate_secret", "webhook.update", "webhook.redeliver", "webhook.delete"} {
			require.Contains(t, string(r.Data), `"action":"`+a+`"`)
		}
		require.NotContains(t, string(r.Data), "/in", "summaries name the host, not the path (it may carry a token)")
		r = s.Do(t, w.token, `{ webhookEventTypes }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), "conversation.created")
	})
}
