package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// TestEraseThroughTheAPI: contact.erase holders erase a customer, not while
// a legal hold applies; agents may do neither; both are audited.
func TestEraseThroughTheAPI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		w := seedWorld(t, s, "alpha")
		agentToken := s.Login(t, "agent@alpha.test", graphtest.Password)
		erase := `mutation($id: ID!) { eraseContact(id: $id) { id profileName phone erasedAt } }`
		hold := `mutation($id: ID!, $r: String) { setConversationLegalHold(id: $id, reason: $r) { id legalHoldAt legalHoldReason } }`

		s.Do(t, agentToken, erase, map[string]any{"id": w.contact}).RequireCode(t, "FORBIDDEN")
		s.Do(t, agentToken, hold, map[string]any{"id": w.conversation, "r": "x"}).RequireCode(t, "FORBIDDEN")

		r := s.Do(t, w.token, hold, map[string]any{"id": w.conversation, "r": "claim 17"})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"legalHoldReason":"claim 17"`)
		s.Do(t, w.token, erase, map[string]any{"id": w.contact}).RequireCode(t, "CONFLICT")
		r = s.Do(t, w.token, hold, map[string]any{"id": w.conversation, "r": nil})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"legalHoldAt":null`)

		r = s.Do(t, w.token, erase, map[string]any{"id": w.contact})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"profileName":""`)
		require.NotContains(t, string(r.Data), `"erasedAt":null`)
		r = s.Do(t, w.token, `query($c: ID!) { conversations(where: {id: $c}) { totalCount edges { node { messages { totalCount edges { node { body } } } } } } }`,
			map[string]any{"c": w.conversation})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"totalCount":1`, "the conversation still counts")
		require.NotContains(t, string(r.Data), "Hello?")
		require.NotContains(t, string(r.Data), "How can I help")

		retain := `mutation($d: Int!) { setRetention(days: $d) { retentionDays } }`
		s.Do(t, agentToken, retain, map[string]any{"d": 30}).RequireCode(t, "FORBIDDEN")
		s.Do(t, w.token, retain, map[string]any{"d": -1}).RequireCode(t, "INVALID_INPUT")
		r = s.Do(t, w.token, retain, map[string]any{"d": 30})
		r.RequireOK(t)
		require.JSONEq(t, `{"setRetention":{"retentionDays":30}}`, string(r.Data))

		r = s.Do(t, w.token, `{ auditEvents(where: {actionIn: ["contact.erase", "privacy.legal_hold"]}) { totalCount } verifyAuditChain { ok } }`, nil)
		r.RequireOK(t)
		require.Contains(t, string(r.Data), `"totalCount":3`)
		require.Contains(t, string(r.Data), `"ok":true`)
	})
}
