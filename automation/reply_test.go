package automation_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// TestAutoReplyAfterHours: a customer writes on Saturday 24 October 2026
// at 20:00 in Paris; the night after, clocks go back an hour. The auto-reply
// is queued in the same transaction as the message, through the outbox, as
// a system message naming the agent's employee code and Monday's opening at
// 09:00 Paris time (08:00 UTC, not 07:00). Ten minutes later the customer
// writes again: the cooldown holds the second reply back, and the run says
// so. A timer 25 hours later would be outside the 24-hour window: it sends
// nothing, and says that too.
func TestAutoReplyAfterHours(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			var weekdays []schematype.BusinessHours
			for wd := 1; wd <= 5; wd++ {
				weekdays = append(weekdays, schematype.BusinessHours{Weekday: wd, Open: "09:00", Close: "18:00"})
			}
			require.NoError(t, b.db.Client.Tenant.UpdateOneID(b.number.TenantID).
				SetSettings(schematype.TenantSettings{BusinessHours: weekdays}).Exec(b.ctx))
			chloe, err := b.db.Client.Agent.Create().SetName("Chloé").SetEmail("chloe@acme.test").SetPasswordHash("x").
				SetEmployeeCode("103").Save(b.ctx)
			require.NoError(t, err)
			closed := []schematype.RuleCondition{{Field: automation.FieldBusinessHours, Op: automation.OpIn, Values: []string{"CLOSED"}}}
			b.rule(t, "after hours", 0, automationrule.TriggerCUSTOMER_MESSAGE, false, closed, schematype.RuleAction{
				Type: automation.ActSendText, Text: "Hello {{contact.name}}, received — agent #{{agent.code}} will serve you after {{next_opening}}"})
			late := b.rule(t, "a day later", 0, automationrule.TriggerNO_AGENT_REPLY, false, nil,
				schematype.RuleAction{Type: automation.ActSendText, Text: "Still there?"})
			require.NoError(t, late.Update().SetDelayMinutes(25*60).Exec(b.ctx))
			in := b.start(t)

			paris, err := time.LoadLocation("Europe/Paris")
			require.NoError(t, err)
			b.clock.Set(time.Date(2026, 10, 24, 20, 0, 0, 0, paris))
			marie, err := b.db.Client.Contact.Create().SetWaID("33611111111").SetProfileName("Marie").Save(b.ctx)
			require.NoError(t, err)
			conv, err := b.db.Client.Conversation.Create().SetNumberID(b.number.ID).SetContactID(marie.ID).
				SetAssigneeID(chloe.ID).Save(b.ctx)
			require.NoError(t, err)
			b.write(t, in, conv, "Is my order ready?")

			replies := func() []*ent.Message {
				ms, err := b.db.Client.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionOUTBOUND)).
					Order(ent.Asc(message.FieldCreatedAt)).All(b.ctx)
				require.NoError(t, err)
				return ms
			}
			got := replies()
			require.Len(t, got, 1, "the auto-reply, queued with the message")
			require.Equal(t, "Hello Marie, received — agent #103 will serve you after 09:00 on Monday 26 October", got[0].Body)
			require.Nil(t, got[0].SenderID, "a system message")
			require.Equal(t, message.StatusQUEUED, got[0].Status, "in the outbox")
			monday := time.Date(2026, 10, 26, 8, 0, 0, 0, time.UTC) // 09:00 CET, after the change back from CEST
			hours, err := automation.HoursOf(b.ctx, b.db.Client, conv)
			require.NoError(t, err)
			next, ok := hours.NextOpening(b.clock.Now())
			require.True(t, ok)
			require.True(t, next.Equal(monday), "next opening %v", next.UTC())

			b.clock.Advance(10 * time.Minute)
			b.write(t, in, conv, "Hello?")
			require.Len(t, replies(), 1, "cooldown: one auto-reply an hour")
			runs := b.ruleRuns(t, conv)
			require.Len(t, runs, 2)
			require.Contains(t, runs[1].Actions[0], "cooldown")

			// The timer of "Hello?" fires 25 hours later: outside the window, nothing is sent.
			last, err := b.db.Client.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionINBOUND)).
				Order(ent.Desc(message.FieldCreatedAt)).First(b.ctx)
			require.NoError(t, err)
			b.clock.Advance(25 * time.Hour)
			require.NoError(t, in.svc.FireTimer(b.ctx, automation.TimerArgs{TenantID: b.number.TenantID, RuleID: late.ID,
				ConversationID: conv.ID, AnchorID: last.ID, Due: b.clock.Now()}))
			require.Len(t, replies(), 1)
			runs = b.ruleRuns(t, conv)
			require.Len(t, runs, 3)
			require.Equal(t, "a day later", runs[2].RuleName)
			require.Contains(t, runs[2].Actions[0], "outside the customer's 24-hour window")
		})
	}
}
