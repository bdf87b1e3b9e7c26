package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// M4: a type is readable only under its switch, through every path (nested
// edges, node(id:)), and group members' phones carry the phone mask in
// answers and filters.
func TestEveryPathRespectsTypeSwitchesAndMasks(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		w := seedWorld(t, s, "alpha")
		// A reader of every conversation without group.view.
		s.Do(t, w.token, `mutation { createRole(input: {name: "reader", label: "Reader", permissions: ["conversation.read.all", "contact.read", "number.view", "agent.view"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, w.token, `mutation($p: String!) { createAgent(input: {name: "Rex", email: "rex@alpha.test", password: $p, roles: ["reader"]}) { id } }`,
			map[string]any{"p": graphtest.Password}).RequireOK(t)
		reader := s.Login(t, "rex@alpha.test", graphtest.Password)

		r := s.Do(t, reader, `query($c: ID!) { node(id: $c) { ... on Conversation { number { groups { edges { node { subject members { edges { node { waID } } } } } } } } } }`,
			map[string]any{"c": w.conversation})
		require.NotEmpty(t, r.Errors, "%s", r.Body)
		require.Equal(t, "FORBIDDEN", r.Errors[0].Code())
		require.NotContains(t, string(r.Body), "Parents")
		require.NotContains(t, string(r.Body), w.memberWaID[len(w.memberWaID)-4:])
		r = s.Do(t, reader, `{ numbers { edges { node { id } } } numbersWithGroups: numbers(where: {hasGroupsWith: {subject: "Parents"}}) { totalCount } }`, nil)
		require.NotEmpty(t, r.Errors, "%s", r.Body)
		require.Equal(t, "FORBIDDEN", r.Errors[0].Code(), "%s", r.Body)

		// node(id:) on groups, members, roles, API keys and sessions: refused by
		// the id's type, before any row is read.
		sessionID, err := db.Client.Session.Query().FirstID(viewer.Platform(t.Context()))
		require.NoError(t, err)
		agent := agentToken(t, s)
		for name, c := range map[string]struct{ token, id string }{
			"group":   {reader, w.group},
			"role":    {agent, w.agentRole},
			"API key": {agent, w.apiKey},
			"session": {agent, sessionID},
		} {
			t.Run(name, func(t *testing.T) {
				r := s.Do(t, c.token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": c.id})
				r.RequireCode(t, "FORBIDDEN")
				require.JSONEq(t, `{"node": null}`, string(r.Data))
				r = s.Do(t, c.token, `query($id: ID!) { nodes(ids: [$id]) { id } }`, map[string]any{"id": c.id})
				require.NotContains(t, string(r.Data), c.id)
			})
		}
		s.Do(t, w.token, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": sessionID}).RequireOK(t)

		// The agent sees groups, but members' phones masked, and cannot
		// filter on them.
		r = s.Do(t, agent, `query($g: ID!) { node(id: $g) { ... on Group { members { edges { node { waID } } } } } }`, map[string]any{"g": w.group})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), "•")
		require.NotContains(t, string(r.Data), w.memberWaID)
		r = s.Do(t, agent, `query($wa: String!) { groups(where: {hasMembersWith: {waID: $wa}}) { totalCount } }`, map[string]any{"wa": w.memberWaID})
		r.RequireCode(t, "FORBIDDEN")
		r = s.Do(t, w.token, `query($g: ID!) { node(id: $g) { ... on Group { members { edges { node { waID } } } } } }`, map[string]any{"g": w.group})
		r.RequireOK(t)
		require.Contains(t, string(r.Data), w.memberWaID, "the owner sees the phone")
	})
}
