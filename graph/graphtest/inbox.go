package graphtest

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/viewer"
)

// InboxQuery is what an inbox screen asks for: a page of conversations with
// each one's contact, assignee, number and last message.
const InboxQuery = `query($n: Int!) {
  conversations(first: $n, orderBy: {field: LAST_MESSAGE_AT, direction: DESC}) {
    totalCount
    pageInfo { hasNextPage endCursor }
    edges { cursor node {
      id status priority unreadCount lastMessageAt
      contact { id profileName phone tags }
      assignee { id name employeeCode presence }
      number { id phone displayName status }
      lastMessage { id direction kind body status createdAt }
    } }
  }
}`

// AddConversations adds n conversations on numberID assigned to agentID,
// each with a new contact (WhatsApp ids counted from first) and two messages.
// It writes through ent as the tenant's system viewer, as ingest would.
func AddConversations(t testing.TB, c *ent.Client, tenantID, numberID, agentID string, first, n int) {
	t.Helper()
	ctx := viewer.System(t.Context(), tenantID)
	for i := first; i < first+n; i++ {
		wa := strconv.Itoa(33700000000 + i)
		ct, err := c.Contact.Create().SetWaID(wa).SetProfileName("Customer " + strconv.Itoa(i)).SetPhone("+" + wa).Save(ctx)
		require.NoError(t, err)
		conv, err := c.Conversation.Create().SetNumberID(numberID).SetContactID(ct.ID).SetAssigneeID(agentID).Save(ctx)
		require.NoError(t, err)
		at := time.Now()
		msgs, err := c.Message.CreateBulk(
			c.Message.Create().SetConversationID(conv.ID).SetNumberID(numberID).SetDirection(message.DirectionINBOUND).
				SetStatus(message.StatusRECEIVED).SetBody("Where is my order?").SetCreatedAt(at),
			c.Message.Create().SetConversationID(conv.ID).SetNumberID(numberID).SetDirection(message.DirectionOUTBOUND).
				SetStatus(message.StatusREAD).SetBody("On its way!").SetSenderID(agentID).SetCreatedAt(at.Add(time.Second)),
		).Save(ctx)
		require.NoError(t, err)
		require.NoError(t, conv.Update().SetLastMessageID(msgs[1].ID).SetLastMessageAt(msgs[1].CreatedAt).Exec(ctx))
	}
}

// Inbox creates a tenant with a number, an agent (agent@<slug>.test, role
// agent, member of the number) and n conversations assigned to them, and
// returns the owner's access token.
func (s *Server) Inbox(t testing.TB, slug string, n int) string {
	t.Helper()
	tenantID, token := s.Tenant(t, slug)
	ctx := viewer.System(t.Context(), tenantID)
	num, err := s.DB.Client.Number.Create().SetPhone("+33612340000").SetDisplayName("Main").Save(ctx)
	require.NoError(t, err)
	hash, err := auth.HashPassword(Password)
	require.NoError(t, err)
	agent, err := s.DB.Client.Agent.Create().SetName("Agent").SetEmail("agent@" + slug + ".test").
		SetPasswordHash(hash).SetEmployeeCode("103").AddNumberIDs(num.ID).Save(ctx)
	require.NoError(t, err)
	AddConversations(t, s.DB.Client, tenantID, num.ID, agent.ID, 0, n)
	return token
}
