package main

import (
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TestAutoReplyThroughTheSimulator: a rule's auto-reply to a customer's
// message goes the whole way: ingest runs the rule in the message's
// transaction, the reply is queued as a system message, the send worker
// hands it to the provider (the simulator), and the run is listed.
func TestAutoReplyThroughTheSimulator(t *testing.T) {
	t.Parallel()
	for _, d := range []string{dialect.SQLite, dialect.Postgres} {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setupWhatsApp(t, d, 80)
			b.s.Do(t, b.owner, `mutation { createAutomationRule(input: {name: "ack", trigger: CUSTOMER_MESSAGE,
				actions: [{type: "SEND_TEXT", text: "Received, {{contact.name}}: we answer on {{number.name}}."}]}) { id } }`, nil).RequireOK(t)

			conv := b.writeIn(t, "33612340009", "Bonjour ?")
			require.Eventually(t, func() bool { return len(b.sim.Log()) == 1 }, 20*time.Second, 20*time.Millisecond, "the auto-reply reaches the provider")
			require.Equal(t, "33612340009", b.sim.Log()[0].To)
			reply, err := b.db.Client.Message.Query().Where(message.ConversationID(conv), message.DirectionEQ(message.DirectionOUTBOUND)).
				Only(viewer.System(t.Context(), b.tenantID))
			require.NoError(t, err)
			require.Equal(t, "Received, Customer 0009: we answer on Sim.", reply.Body)
			require.Nil(t, reply.SenderID)
			r := b.s.Do(t, b.owner, `{ automationRuns(first: 5) { edges { node { ruleName outcome conversationID } } } }`, nil)
			r.RequireOK(t)
			require.JSONEq(t, `{"automationRuns":{"edges":[{"node":{"ruleName":"ack","outcome":"APPLIED","conversationID":"`+conv+`"}}]}}`, string(r.Data))
		})
	}
}
