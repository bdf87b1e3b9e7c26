package graph_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestNodeObeysTypeSwitches: node(id:) reads a group webhook event only
// with group.view, as Query.groupWebhookEvents does; a role without the
// switch learns nothing of it (not its provider group id, nor its number).
func TestNodeObeysTypeSwitches(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.DefaultConfig)
		owner := s.Inbox(t, "nts", 1)
		c := db.Client
		tenantID := c.Agent.Query().Where(agent.Email("agent@nts.test")).OnlyX(viewer.Platform(t.Context())).TenantID
		ctx := viewer.System(t.Context(), tenantID)
		num := c.Number.Query().OnlyX(ctx)
		ev := c.GroupWebhookEvent.Create().SetNumberID(num.ID).SetField("group_participants_update").
			SetType("group_participants_add").SetGroupID("120363000000000001@g.us").SetOccurredAt(time.Now()).
			SetDigest("d1").SaveX(ctx)

		s.Do(t, owner, `mutation { createRole(input: {name: "reader", label: "Reader", permissions: ["conversation.read.all", "number.view"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, owner, `mutation { createAgent(input: {name: "Rex", email: "rex@nts.test", password: "long enough pw", roles: ["reader"]}) { id } }`, nil).RequireOK(t)
		rex := s.Login(t, "rex@nts.test", "long enough pw")

		const q = `query($id: ID!) { node(id: $id) { id ... on GroupWebhookEvent { field groupID numberID } } }`
		s.Do(t, rex, `{ groupWebhookEvents(first: 5) { totalCount } }`, nil).RequireCode(t, "FORBIDDEN")
		r := s.Do(t, rex, q, map[string]any{"id": ev.ID})
		r.RequireCode(t, "FORBIDDEN")
		require.NotContains(t, r.String(), "120363000000000001", "the provider's group id")
		require.NotContains(t, r.String(), num.ID)

		s.Do(t, owner, q, map[string]any{"id": ev.ID}).RequireOK(t) // group.view reads it
	})
}
