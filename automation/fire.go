package automation

import (
	"context"
	"fmt"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/viewer"
)

// maxDepth is how many times rules may trigger rules from one outside
// event: an assignment made by a rule runs the ASSIGNED rules one level
// deeper, and past this level they are logged SKIPPED instead of run.
const maxDepth = 3

// event is a trigger happening to a conversation.
type event struct {
	trigger automationrule.Trigger
	convID  string
	message *ent.Message // the customer's message, when the trigger has one
	depth   int
	only    string // a timer runs its own rule only
}

// fire runs, in tx, the enabled rules of e's trigger whose conditions hold,
// in position order, logging each, until one stops processing.
func (s *Service) fire(ctx context.Context, tx *ent.Tx, e event) error {
	if v := viewer.FromContext(ctx); e.only == "" && v != nil && v.TenantID != "" {
		rs, err := s.rulesOf(ctx, tx, v.TenantID)
		if err != nil || len(rs[e.trigger]) == 0 {
			return err // no rule of this trigger: not even the conversation is read
		}
	}
	conv, err := tx.Conversation.Get(ctx, e.convID)
	if err != nil {
		return err
	}
	return s.fireOn(ctx, tx, conv, e)
}

// fireOn is fire with the conversation read.
func (s *Service) fireOn(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, e event) error {
	var rules []*ent.AutomationRule
	if e.only != "" { // a timer: its rule as it is now, whatever this instance keeps
		r, err := tx.AutomationRule.Query().Where(automationrule.ID(e.only), automationrule.Enabled(true)).Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		rules = []*ent.AutomationRule{r}
	} else {
		rs, err := s.rulesOf(ctx, tx, conv.TenantID)
		if err != nil {
			return err
		}
		rules = rs[e.trigger]
	}
	if len(rules) == 0 {
		return nil
	}
	facts, ct, err := s.facts(ctx, tx, conv, e.message)
	if err != nil {
		return err
	}
	for _, r := range rules {
		if !Matches(r.Conditions, facts) {
			continue
		}
		if e.depth > maxDepth {
			if err := s.logRun(ctx, tx, r, e, automationrun.OutcomeSKIPPED, nil,
				fmt.Sprintf("rules triggered by rules %d levels deep: stopped so that rules cannot loop", e.depth)); err != nil {
				return err
			}
			continue
		}
		done, next, failure, err := s.apply(ctx, tx, r, conv, ct, e)
		if err != nil {
			return fmt.Errorf("rule %s on %s: %w", r.ID, conv.ID, err)
		}
		outcome := automationrun.OutcomeAPPLIED
		if failure != "" {
			outcome = automationrun.OutcomeFAILED
		}
		if err := s.logRun(ctx, tx, r, e, outcome, done, failure); err != nil {
			return err
		}
		for _, n := range next {
			if err := s.fire(ctx, tx, n); err != nil {
				return err
			}
		}
		if r.StopProcessing || r == rules[len(rules)-1] {
			break // nothing after it to see what it changed
		}
		// later rules see what this one changed
		if conv, err = tx.Conversation.Get(ctx, e.convID); err != nil {
			return err
		}
		if facts, ct, err = s.facts(ctx, tx, conv, e.message); err != nil {
			return err
		}
	}
	return nil
}

func (s *Service) logRun(ctx context.Context, tx *ent.Tx, r *ent.AutomationRule, e event,
	outcome automationrun.Outcome, done []string, detail string) error {
	return tx.AutomationRun.Create().SetRuleID(r.ID).SetRuleName(r.Name).SetConversationID(e.convID).
		SetTrigger(string(e.trigger)).SetDepth(e.depth).SetOutcome(outcome).SetActions(done).
		SetDetail(truncate(detail, 1000)).SetCreatedAt(s.clock.Now()).Exec(ctx)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// Arrived runs the rules of a customer's message, in the transaction that
// records it, after routing had its turn: CONVERSATION_CREATED for a new
// conversation, ASSIGNED when routing just assigned it, CUSTOMER_MESSAGE;
// then it arms the timers the message starts.
func (s *Service) Arrived(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message, created bool) error {
	rs, err := s.rulesOf(ctx, tx, conv.TenantID)
	if err != nil || len(rs) == 0 {
		return err // a tenant without rules: not one statement (once its empty set is kept)
	}
	now, err := tx.Conversation.Get(ctx, conv.ID)
	if err != nil {
		return err
	}
	routed := conv.AssigneeID == nil && now.AssigneeID != nil // read before rules assign it themselves
	if created {
		if err := s.fire(ctx, tx, event{trigger: automationrule.TriggerCONVERSATION_CREATED, convID: conv.ID, message: msg}); err != nil {
			return err
		}
	}
	if routed {
		if err := s.fire(ctx, tx, event{trigger: automationrule.TriggerASSIGNED, convID: conv.ID}); err != nil {
			return err
		}
	}
	customer := event{trigger: automationrule.TriggerCUSTOMER_MESSAGE, convID: conv.ID, message: msg}
	if created || routed { // rules may have changed it since
		err = s.fire(ctx, tx, customer)
	} else {
		err = s.fireOn(ctx, tx, now, customer)
	}
	if err != nil {
		return err
	}
	return s.arm(ctx, tx, conv, msg)
}

// Arrivals runs several Arrived in turn (routing, then automation).
type Arrivals []interface {
	Arrived(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message, created bool) error
}

// Arrived tells each in order.
func (as Arrivals) Arrived(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message, created bool) error {
	for _, a := range as {
		if err := a.Arrived(ctx, tx, conv, msg, created); err != nil {
			return err
		}
	}
	return nil
}
