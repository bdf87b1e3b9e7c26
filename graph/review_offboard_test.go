package graph_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/graph/graphtest"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/store/storetest"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestOffboardMovesConversationsOutsideTheCallersScope: a lead with
// agent.manage whose own row scope is their numbers offboards an agent of
// another number: every open conversation of the agent still goes where
// reassignTo says, not only those the lead could read, and none is left
// with the disabled agent.
func TestOffboardMovesConversationsOutsideTheCallersScope(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, db *store.DB) {
		s := graphtest.New(t, db, graph.Config{})
		owner := s.Inbox(t, "obs", 3) // agent@obs.test holds 3 open conversations on the tenant's number
		c := db.Client
		sam := c.Agent.Query().Where(agent.Email("agent@obs.test")).OnlyX(viewer.Platform(t.Context()))
		ctx := viewer.System(t.Context(), sam.TenantID)
		hash, err := auth.HashPassword(graphtest.Password)
		require.NoError(t, err)
		bo := c.Agent.Create().SetName("Bo").SetEmail("bo@obs.test").SetPasswordHash(hash).SaveX(ctx)

		// The lead: the agent role's switches and agent.manage, member of no number.
		s.Do(t, owner, `mutation { createRole(input: {name: "lead", label: "Lead", permissions: ["conversation.read.number",
			"conversation.reply", "conversation.resolve", "conversation.transfer", "contact.read", "contact.edit", "number.view",
			"agent.view", "group.view", "report.view_own", "agent.manage"]}) { id } }`, nil).RequireOK(t)
		s.Do(t, owner, `mutation { createAgent(input: {name: "Lee", email: "lee@obs.test", password: "long enough pw", roles: ["lead"]}) { id } }`, nil).RequireOK(t)
		lee := s.Login(t, "lee@obs.test", "long enough pw")

		r := s.Do(t, lee, `mutation($id: ID!, $to: ID!) { offboardAgent(id: $id, reassignTo: {agentID: $to}) { moves { conversationID agentID } } }`,
			map[string]any{"id": sam.ID, "to": bo.ID})
		r.RequireOK(t)
		var out struct {
			OffboardAgent struct {
				Moves []struct{ ConversationID, AgentID string }
			}
		}
		r.Decode(t, &out)
		require.Len(t, out.OffboardAgent.Moves, 3, "every open conversation of the agent moves")
		left, err := c.Conversation.Query().Where(conversation.AssigneeID(sam.ID)).Count(ctx)
		require.NoError(t, err)
		require.Zero(t, left, "no conversation stays with the offboarded agent")
		moved, err := c.Conversation.Query().Where(conversation.AssigneeID(bo.ID)).Count(ctx)
		require.NoError(t, err)
		require.Equal(t, 3, moved)
	})
}
