package automation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
)

// TestTheEveningCustomer is the seed scenario (must-show 2). The
// shop in Paris opens Monday to Saturday 09:00–18:00; Chloé (#103) and Eve
// work a Sunday shift from 09:00, Dan from 10:00; Ann and Bob work the
// shop's hours and are online tonight. A customer writes on Saturday 24
// October 2026 at 20:00; that night the clocks go back an hour.
//
// The auto-reply is queued with the customer's message (the same
// transaction, through the outbox) and names #103 and 09:00 tomorrow: of the
// agents whose shift opens first (Chloé, Eve), Chloé is the least loaded.
// Ann and Bob, online, do not take it. Sunday at 08:30 — 07:30 UTC, when a
// summer-time computation would already have opened — it is still waiting;
// at 09:05 (08:05 UTC) Chloé holds it with its whole history.
func TestTheEveningCustomer(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			var shop []schematype.BusinessHours
			for wd := 1; wd <= 6; wd++ {
				shop = append(shop, schematype.BusinessHours{Weekday: wd, Open: "09:00", Close: "18:00"})
			}
			require.NoError(t, b.db.Client.Tenant.UpdateOneID(b.number.TenantID).
				SetSettings(schematype.TenantSettings{BusinessHours: shop}).Exec(b.ctx))
			sunday := func(from string) []schematype.BusinessHours {
				return []schematype.BusinessHours{{Weekday: 0, Open: from, Close: "17:00"}}
			}
			shift := func(name, code string, hours []schematype.BusinessHours) *ent.Agent {
				a, err := b.db.Client.Agent.Create().SetName(name).SetEmail(name + "@acme.test").SetPasswordHash("x").
					SetEmployeeCode(code).SetWorkingHours(hours).Save(b.ctx)
				require.NoError(t, err)
				return a
			}
			chloe := shift("Chloé", "103", sunday("09:00"))
			eve := shift("Eve", "104", sunday("09:00"))
			shift("Dan", "105", sunday("10:00"))
			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			b.clock.Set(time.Date(2026, 10, 24, 17, 0, 0, 0, paris))
			for _, a := range []*ent.Agent{eve, b.ann, b.bob} { // the day's work: one open conversation each
				ct, err := b.db.Client.Contact.Create().SetWaID(fmt.Sprint(33650000000 + b.n.Add(1))).Save(b.ctx)
				require.NoError(t, err)
				_, err = b.db.Client.Conversation.Create().SetNumberID(b.number.ID).SetContactID(ct.ID).SetAssigneeID(a.ID).Save(b.ctx)
				require.NoError(t, err)
			}
			b.rule(t, "after hours", 0, automationrule.TriggerCUSTOMER_MESSAGE, false,
				[]schematype.RuleCondition{{Field: automation.FieldBusinessHours, Op: automation.OpIn, Values: []string{"CLOSED"}}},
				schematype.RuleAction{Type: automation.ActSendText, Minutes: 24 * 60,
					Text: "Received — agent #{{agent.code}} will serve you after {{agent.starts}}"})
			in := b.start(t)
			arrivals := automation.Arrivals{in.router, in.svc}

			b.clock.Set(time.Date(2026, 10, 24, 20, 0, 0, 0, paris))
			conv := b.arrive(t, arrivals, nil, "Is my order ready?")
			outbound := func() []*ent.Message {
				ms, err := b.db.Client.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionOUTBOUND)).All(b.ctx)
				require.NoError(t, err)
				return ms
			}
			replies := outbound()
			require.Len(t, replies, 1, "the auto-reply, queued in the transaction of the customer's message")
			require.Equal(t, "Received — agent #103 will serve you after 09:00 tomorrow", replies[0].Body)
			require.Nil(t, replies[0].SenderID, "a system message")
			require.Equal(t, message.StatusQUEUED, replies[0].Status, "in the outbox, sent by its worker at once")
			require.True(t, replies[0].CreatedAt.Equal(b.clock.Now()))

			conv = b.reload(t, conv)
			require.Nil(t, conv.AssigneeID, "Ann and Bob are online, but it is not their shift's conversation")
			require.Equal(t, chloe.ID, *conv.ReservedForID)
			opening := time.Date(2026, 10, 25, 8, 0, 0, 0, time.UTC) // 09:00 CET, after the clocks went back
			require.True(t, conv.ReservedUntil.Equal(opening), "reserved until %v", conv.ReservedUntil.UTC())
			stats, err := in.router.Stats(b.ctx)
			require.NoError(t, err)
			require.Equal(t, 1, stats.Length, "waiting, in the queue")

			b.clock.Set(time.Date(2026, 10, 24, 23, 30, 0, 0, paris))
			b.arrive(t, arrivals, conv, "I need it for Monday")
			assigned, err := in.router.Drain(b.ctx)
			require.NoError(t, err)
			require.Zero(t, assigned, "a reserved conversation is nobody else's")
			require.Len(t, outbound(), 1, "one auto-reply (cooldown)")

			b.clock.Set(time.Date(2026, 10, 25, 8, 30, 0, 0, paris))
			_, err = in.router.RunDue(b.ctx)
			require.NoError(t, err)
			require.Nil(t, b.reload(t, conv).AssigneeID, "08:30 CET: not yet")

			b.clock.Set(time.Date(2026, 10, 25, 9, 5, 0, 0, paris))
			_, err = in.router.RunDue(b.ctx)
			require.NoError(t, err)
			conv = b.reload(t, conv)
			require.NotNil(t, conv.AssigneeID)
			require.Equal(t, chloe.ID, *conv.AssigneeID, "at 09:05 #103 holds it")
			require.Nil(t, conv.ReservedForID)
			require.Nil(t, conv.QueuedAt)
			history, err := conv.QueryMessages().Order(ent.Asc(message.FieldCreatedAt)).All(b.ctx)
			require.NoError(t, err)
			require.Len(t, history, 3, "the customer's two messages and the auto-reply")
			require.Equal(t, "Is my order ready?", history[0].Body)
			moves, err := conv.QueryAssignments().Order(ent.Asc(assignment.FieldCreatedAt)).All(b.ctx)
			require.NoError(t, err)
			require.Len(t, moves, 2)
			require.Equal(t, assignment.CauseRESERVATION, moves[0].Cause)
			require.Contains(t, moves[0].Reason, "Chloé (#103)")
			require.Equal(t, assignment.CauseHANDOVER, moves[1].Cause)
			require.Equal(t, chloe.ID, *moves[1].AgentID)
			chloe, err = b.db.Client.Agent.Get(b.ctx, chloe.ID)
			require.NoError(t, err)
			require.Equal(t, 1, chloe.OpenCount, "her load counts it")

			_, err = in.router.RunDue(b.ctx)
			require.NoError(t, err)
			require.Len(t, b.history(t, conv), 2, "handed over once")
		})
	}
}

// arrive records a customer's message in conv (a new unassigned
// conversation when nil) and tells as in the transaction, as ingest does.
func (b *testBundle) arrive(t *testing.T, as automation.Arrivals, conv *ent.Conversation, text string) *ent.Conversation {
	t.Helper()
	created := conv == nil
	err := store.WithTx(b.ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		if created {
			ct, err := tx.Contact.Create().SetWaID(fmt.Sprint(33700000000 + b.n.Add(1))).SetProfileName("Marie").Save(ctx)
			if err != nil {
				return err
			}
			if conv, err = tx.Conversation.Create().SetNumberID(b.number.ID).SetContactID(ct.ID).
				SetCreatedAt(b.clock.Now()).Save(ctx); err != nil {
				return err
			}
		}
		msg, err := tx.Message.Create().SetConversationID(conv.ID).SetNumberID(b.number.ID).
			SetDirection(message.DirectionINBOUND).SetStatus(message.StatusRECEIVED).SetBody(text).
			SetCreatedAt(b.clock.Now()).Save(ctx)
		if err != nil {
			return err
		}
		if err := tx.Conversation.UpdateOneID(conv.ID).SetLastCustomerMessageAt(msg.CreatedAt).Exec(ctx); err != nil {
			return err
		}
		return as.Arrived(ctx, tx, conv, msg, created)
	})
	require.NoError(t, err)
	return conv
}

func (b *testBundle) history(t *testing.T, c *ent.Conversation) []*ent.Assignment {
	t.Helper()
	h, err := c.QueryAssignments().All(b.ctx)
	require.NoError(t, err)
	return h
}
