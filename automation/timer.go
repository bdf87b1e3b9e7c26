package automation

import (
	"context"
	"fmt"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// TimerArgs is one armed timer: rule RuleID watches ConversationID from the
// customer's message AnchorID on, and fires at Due unless what it waits
// for happened.
type TimerArgs struct {
	TenantID       string    `json:"tenantId"`
	RuleID         string    `json:"ruleId"`
	ConversationID string    `json:"conversationId"`
	AnchorID       string    `json:"anchorId"`
	Due            time.Time `json:"due"`
}

// Kind names the job.
func (TimerArgs) Kind() string { return "automation.timer" }

// TimerWorker fires timers.
type TimerWorker struct {
	river.WorkerDefaults[TimerArgs]
	Automation *Service
}

// Work fires the timer if it is still due (Service.FireTimer).
func (w *TimerWorker) Work(ctx context.Context, j *river.Job[TimerArgs]) error {
	if wait := j.Args.Due.Sub(w.Automation.clock.Now()); wait > 0 {
		return river.JobSnooze(wait) // picked up early (clocks apart): wait for the due time
	}
	return w.Automation.FireTimer(ctx, j.Args)
}

// arm schedules, in tx, a timer for every enabled NO_AGENT_REPLY rule,
// from the customer's message msg on.
func (s *Service) arm(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message) error {
	if s.jobs == nil {
		return nil
	}
	rs, err := s.rulesOf(ctx, tx, conv.TenantID)
	if err != nil {
		return err
	}
	rules := rs[automationrule.TriggerNO_AGENT_REPLY]
	if len(rules) == 0 {
		return nil
	}
	stx, err := tx.SQLTx()
	if err != nil {
		return err
	}
	for _, r := range rules {
		due := msg.CreatedAt.Add(time.Duration(r.DelayMinutes) * time.Minute)
		args := TimerArgs{TenantID: conv.TenantID, RuleID: r.ID, ConversationID: conv.ID, AnchorID: msg.ID, Due: due}
		if _, err := s.jobs.InsertTx(ctx, stx, args, &river.InsertOpts{ScheduledAt: due}); err != nil {
			return fmt.Errorf("arm %s on %s: %w", r.ID, conv.ID, err)
		}
	}
	return nil
}

// FireTimer checks an armed timer again and, if what it waited for still
// has not happened, runs its rule. A rule since disabled or deleted does
// nothing; a conversation resolved, a customer who wrote again (a later
// timer watches from their new message) or an agent who replied makes the
// timer a logged SKIPPED.
func (s *Service) FireTimer(ctx context.Context, args TimerArgs) error {
	ctx = viewer.System(ctx, args.TenantID)
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		r, err := tx.AutomationRule.Get(ctx, args.RuleID)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if !r.Enabled || r.Trigger != automationrule.TriggerNO_AGENT_REPLY {
			return nil
		}
		e := event{trigger: r.Trigger, convID: args.ConversationID, only: r.ID}
		why, err := s.stillDue(ctx, tx, args)
		if err != nil {
			return err
		}
		if why != "" {
			return s.logRun(ctx, tx, r, e, automationrun.OutcomeSKIPPED, nil, why)
		}
		return s.fire(ctx, tx, e)
	})
}

// stillDue says why a NO_AGENT_REPLY timer no longer applies ("" when it
// does).
func (s *Service) stillDue(ctx context.Context, tx *ent.Tx, args TimerArgs) (string, error) {
	conv, err := tx.Conversation.Get(ctx, args.ConversationID)
	if err != nil {
		return "", err
	}
	if conv.Status == conversation.StatusRESOLVED {
		return "the conversation was resolved", nil
	}
	anchor, err := tx.Message.Get(ctx, args.AnchorID)
	if err != nil {
		return "", err
	}
	later, err := tx.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionINBOUND),
		message.CreatedAtGT(anchor.CreatedAt)).Exist(ctx)
	if err != nil {
		return "", err
	}
	if later {
		return "the customer wrote again: the timer of their new message watches", nil
	}
	reply, err := tx.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionOUTBOUND),
		message.SenderIDNotNil(), message.CreatedAtGTE(anchor.CreatedAt)).
		Order(ent.Asc(message.FieldCreatedAt)).First(ctx)
	if ent.IsNotFound(err) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("an agent replied %s after the customer's message", reply.CreatedAt.Sub(anchor.CreatedAt).Round(time.Second)), nil
}
