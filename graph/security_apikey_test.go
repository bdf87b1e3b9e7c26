package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
)

// M5: an API key acts with at most its creator's current rights, stops
// working while they are disabled, and nobody re-enables someone who holds
// more than they do.
func TestAPIKeysAnswerToTheirCreator(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		adaID, ada := adminOf(t, s, w, "ada@alpha.test")
		r := s.Do(t, ada, `mutation { createAPIKey(input: {name: "ops", role: "admin"}) { secret } }`, nil)
		r.RequireOK(t)
		var out struct{ CreateAPIKey struct{ Secret string } }
		r.Decode(t, &out)
		key := out.CreateAPIKey.Secret
		createTeam := `mutation { createTeam(input: {name: "Night shift"}) { id } }`
		s.Do(t, key, createTeam, nil).RequireOK(t)

		// Ada is demoted to agent: her key keeps its admin role but acts
		// with no more than an agent may.
		s.Do(t, w.token, `mutation($a: ID!, $r: [ID!]!) { assignRoles(agentID: $a, roleIDs: $r) { id } }`,
			map[string]any{"a": adaID, "r": []string{w.agentRole}}).RequireOK(t)
		s.Do(t, key, createTeam, nil).RequireCode(t, "FORBIDDEN")
		r = s.Do(t, key, `{ viewer { permissions } }`, nil)
		r.RequireOK(t)
		require.NotContains(t, string(r.Data), "agent.manage")
		require.Contains(t, string(r.Data), "conversation.reply")

		// Disabled, her key stops working at once.
		s.Do(t, w.token, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": adaID}).RequireOK(t)
		s.Do(t, key, `{ viewer { kind } }`, nil).RequireCode(t, "UNAUTHENTICATED")

		// An administrator cannot bring back an owner the owners disabled.
		s.Do(t, w.token, `mutation($p: String!) { createAgent(input: {name: "Otto", email: "otto@alpha.test", password: $p, roles: ["owner"]}) { id } }`,
			map[string]any{"p": graphtest.Password}).RequireOK(t)
		var otto struct {
			Agents struct {
				Edges []struct{ Node struct{ ID string } }
			}
		}
		r = s.Do(t, w.token, `{ agents(where: {name: "Otto"}) { edges { node { id } } } }`, nil)
		r.RequireOK(t)
		r.Decode(t, &otto)
		ottoID := otto.Agents.Edges[0].Node.ID
		s.Do(t, w.token, `mutation($a: ID!) { disableAgent(id: $a) { id } }`, map[string]any{"a": ottoID}).RequireOK(t)
		_, bob := adminOf(t, s, w, "bob@alpha.test")
		s.Do(t, bob, `mutation($a: ID!) { enableAgent(id: $a) { id } }`, map[string]any{"a": ottoID}).RequireCode(t, "FORBIDDEN")
		s.Do(t, bob, `mutation($a: ID!) { enableAgent(id: $a) { id } }`, map[string]any{"a": adaID}).RequireOK(t)
	})
}
