package automation_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/store"
)

func (b *testBundle) rule(t *testing.T, name string, pos int, trigger automationrule.Trigger, stop bool,
	conds []schematype.RuleCondition, acts ...schematype.RuleAction) *ent.AutomationRule {
	t.Helper()
	r, err := b.db.Client.AutomationRule.Create().SetName(name).SetPosition(pos).SetTrigger(trigger).
		SetStopProcessing(stop).SetConditions(conds).SetActions(acts).Save(b.ctx)
	require.NoError(t, err)
	return r
}

// write records a customer's message with text in conv (a new unassigned
// conversation of a contact tagged tags when conv is nil) and tells in.
func (b *testBundle) write(t *testing.T, in *instance, conv *ent.Conversation, text string, tags ...string) *ent.Conversation {
	t.Helper()
	created := conv == nil
	err := store.WithTx(b.ctx, b.db.Client, func(ctx context.Context, tx *ent.Tx) error {
		if created {
			ct, err := tx.Contact.Create().SetWaID(fmt.Sprint(33700000000 + b.n.Add(1))).SetTags(tags).Save(ctx)
			if err != nil {
				return err
			}
			if conv, err = tx.Conversation.Create().SetNumberID(b.number.ID).SetContactID(ct.ID).Save(ctx); err != nil {
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
		return in.svc.Arrived(ctx, tx, conv, msg, created)
	})
	require.NoError(t, err)
	return conv
}

func (b *testBundle) ruleRuns(t *testing.T, conv *ent.Conversation) []*ent.AutomationRun {
	t.Helper()
	runs, err := b.db.Client.AutomationRun.Query().Where(automationrun.ConversationID(conv.ID)).
		Order(ent.Asc(automationrun.FieldCreatedAt), ent.Asc(automationrun.FieldID)).All(b.ctx)
	require.NoError(t, err)
	return runs
}

func names(runs []*ent.AutomationRun) []string {
	out := make([]string, len(runs))
	for i, r := range runs {
		out[i] = fmt.Sprintf("%s:%s:%d", r.RuleName, r.Outcome, r.Depth)
	}
	return out
}

// TestRulesRunInOrderAndStop: the rules of a customer's message run by
// position, only when their conditions hold (a contact's tag, the text, the
// business hours in the tenant's time zone), a disabled rule never, and a
// rule that stops processing ends the pass; every execution is logged.
func TestRulesRunInOrderAndStop(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			settings := schematype.TenantSettings{BusinessHours: []schematype.BusinessHours{
				{Weekday: 1, Open: "09:00", Close: "18:00"}, {Weekday: 2, Open: "09:00", Close: "18:00"}}}
			require.NoError(t, b.db.Client.Tenant.UpdateOneID(b.number.TenantID).SetSettings(settings).Exec(b.ctx))
			cm := automationrule.TriggerCUSTOMER_MESSAGE
			b.rule(t, "late", 30, cm, false, nil, schematype.RuleAction{Type: automation.ActTag, Tag: "late"})
			b.rule(t, "vip", 10, cm, false, []schematype.RuleCondition{{Field: automation.FieldContactTag, Op: automation.OpIn, Values: []string{"vip"}}},
				schematype.RuleAction{Type: automation.ActSetPriority, Priority: "URGENT"})
			b.rule(t, "refund", 20, cm, true, []schematype.RuleCondition{{Field: automation.FieldMessageText, Op: automation.OpMatches, Values: []string{`(?i)\brefund\b`}}},
				schematype.RuleAction{Type: automation.ActTag, Tag: "refund"})
			b.rule(t, "after hours", 5, cm, false, []schematype.RuleCondition{{Field: automation.FieldBusinessHours, Op: automation.OpIn, Values: []string{"CLOSED"}}},
				schematype.RuleAction{Type: automation.ActTag, Tag: "after-hours"})
			off := b.rule(t, "disabled", 1, cm, false, nil, schematype.RuleAction{Type: automation.ActTag, Tag: "disabled"})
			require.NoError(t, off.Update().SetEnabled(false).Exec(b.ctx))
			in := b.start(t)

			// Monday 11:00 in Paris: open.
			conv := b.write(t, in, nil, "I want a REFUND now", "vip")
			require.Equal(t, []string{"vip:APPLIED:0", "refund:APPLIED:0"}, names(b.ruleRuns(t, conv)), "by position; refund stops the pass")
			c := b.reload(t, conv)
			require.Equal(t, conversation.PriorityURGENT, c.Priority)
			ct, err := c.QueryContact().Only(b.ctx)
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"vip", "refund"}, ct.Tags)

			// Monday 20:00 in Paris: closed; no refund, so the pass goes on to "late".
			b.clock.Set(time.Date(2026, 11, 30, 19, 0, 0, 0, time.UTC))
			b.write(t, in, conv, "hello?")
			require.Equal(t, []string{"vip:APPLIED:0", "refund:APPLIED:0", "after hours:APPLIED:0", "vip:APPLIED:0", "late:APPLIED:0"},
				names(b.ruleRuns(t, conv)))
			ct, err = c.QueryContact().Only(b.ctx)
			require.NoError(t, err)
			require.ElementsMatch(t, []string{"vip", "refund", "after-hours", "late"}, ct.Tags)
			require.Equal(t, []string{"priority URGENT"}, b.ruleRuns(t, conv)[3].Actions)
		})
	}
}

// TestRulesCannotLoop: a new conversation is assigned by a rule, and a rule
// on ASSIGNED transfers it to the other agent online, which assigns it
// again…: the chain runs three levels deep, then the next is logged SKIPPED.
func TestRulesCannotLoop(t *testing.T) {
	t.Parallel()
	for _, d := range dialects {
		t.Run(d, func(t *testing.T) {
			t.Parallel()
			b := setup(t, d)
			b.rule(t, "assign", 0, automationrule.TriggerCONVERSATION_CREATED, false, nil, schematype.RuleAction{Type: automation.ActAssignPolicy})
			b.rule(t, "ping-pong", 0, automationrule.TriggerASSIGNED, false, nil, schematype.RuleAction{Type: automation.ActTransferOnline})
			in := b.start(t)
			conv := b.write(t, in, nil, "hi")
			runs := b.ruleRuns(t, conv)
			require.Equal(t, []string{"assign:APPLIED:0", "ping-pong:APPLIED:1", "ping-pong:APPLIED:2", "ping-pong:APPLIED:3", "ping-pong:SKIPPED:4"},
				names(runs))
			require.Contains(t, runs[4].Detail, "cannot loop")
			// assigned, then moved three times between the two agents
			history, err := b.reload(t, conv).QueryAssignments().All(b.ctx)
			require.NoError(t, err)
			require.Len(t, history, 4)
			per := map[string]int{}
			for _, h := range history {
				per[*h.AgentID]++
			}
			require.Equal(t, map[string]int{b.ann.ID: 2, b.bob.ID: 2}, per, "back and forth")
			holder := *b.reload(t, conv).AssigneeID
			for _, a := range []*ent.Agent{b.ann, b.bob} {
				got, err := b.db.Client.Agent.Get(b.ctx, a.ID)
				require.NoError(t, err)
				want := 0
				if a.ID == holder {
					want = 1
				}
				require.Equal(t, want, got.OpenCount, "loads follow the moves")
			}
		})
	}
}
