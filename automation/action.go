package automation

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-dev/switchboard/contact"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	entcontact "github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/routing"
)

// apply runs r's actions on conv, whose contact is ct, in order. It returns
// what was done (for people), the triggers the actions caused, and, when an
// action could not run (an agent disabled since the rule was written), why;
// the actions after it do not run. err is for the database.
func (s *Service) apply(ctx context.Context, tx *ent.Tx, r *ent.AutomationRule, conv *ent.Conversation, ct *ent.Contact, e event) (
	done []string, next []event, failure string, err error) {
	why := fmt.Sprintf("rule %q", r.Name)
	for _, a := range r.Actions {
		if conv.Status == conversation.StatusRESOLVED && a.Type != ActTag && a.Type != ActUntag && a.Type != ActSetStatus {
			return done, next, fmt.Sprintf("%s: the conversation is resolved", a.Type), nil
		}
		var (
			what     string
			assigned bool
		)
		switch a.Type {
		case ActAssignPolicy, ActAssignAgent, ActAssignTeam, ActTransferOnline:
			what, assigned, failure, err = s.assign(ctx, tx, conv, a, why)
		case ActTag, ActUntag:
			what, err = s.tag(ctx, tx, ct, a)
		case ActSetPriority:
			what = "priority " + a.Priority
			err = tx.Conversation.UpdateOneID(conv.ID).SetPriority(conversation.Priority(a.Priority)).Exec(ctx)
			s.pub.OnCommit(tx, realtime.ConversationEvent(conv.TenantID, conv.ID, realtime.KindUpdated))
		case ActSetStatus:
			what, err = s.setStatus(ctx, tx, conv, conversation.Status(a.Status))
		case ActSendText:
			what, err = s.autoReply(ctx, tx, conv, a)
		default:
			failure = a.Type + " is not supported"
		}
		if err != nil || failure != "" {
			return done, next, failure, err
		}
		done = append(done, what)
		if assigned {
			next = append(next, event{trigger: automationrule.TriggerASSIGNED, convID: conv.ID, depth: e.depth + 1})
		}
		if a.Type == ActTag || a.Type == ActUntag {
			continue // the conversation is as it was; ct follows its tags
		}
		if conv, err = tx.Conversation.Get(ctx, conv.ID); err != nil {
			return done, next, "", err
		}
	}
	return done, next, "", nil
}

// assign runs an assignment action through routing, which records it in
// the conversation's history (cause RULE) and publishes it with the reason.
func (s *Service) assign(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, a schematype.RuleAction, why string) (
	what string, assigned bool, failure string, err error) {
	var to routing.Target
	switch a.Type {
	case ActAssignPolicy:
		if conv.AssigneeID != nil {
			return "already assigned: left as is", false, "", nil
		}
		d, err := s.router.RouteTx(ctx, tx, conv.ID)
		return outcome(d), d.AgentID != "", "", err
	case ActAssignAgent:
		to.AgentID = a.AgentID
	case ActAssignTeam:
		to.TeamID = a.TeamID
	case ActTransferOnline:
		if conv.AssigneeID == nil {
			d, err := s.router.RouteTx(ctx, tx, conv.ID)
			return outcome(d), d.AgentID != "", "", err
		}
		to.OrStay = true
	}
	if err := to.Check(ctx, tx, ""); err != nil {
		return "", false, err.Error(), nil
	}
	before := conv.AssigneeID
	d, err := s.router.Reassign(ctx, tx, conv.ID, to, assignment.CauseRULE, why)
	if err != nil {
		return "", false, "", err
	}
	moved := d.AgentID != "" && (before == nil || *before != d.AgentID)
	return outcome(d), moved, "", nil
}

func outcome(d routing.Decision) string {
	switch {
	case d.AgentID != "":
		return "assigned to " + d.AgentID + " (" + d.Reason + ")"
	case d.Queued:
		return "queued (" + d.Reason + ")"
	case d.Reason != "":
		return d.Reason
	}
	return "left as is (manual routing)"
}

// tag tags or untags the contact c, as read in this transaction, and keeps
// c's tags as they now are.
func (s *Service) tag(ctx context.Context, tx *ent.Tx, c *ent.Contact, a schematype.RuleAction) (string, error) {
	tags := slices.Clone(c.Tags)
	what := "untagged " + a.Tag
	if a.Type == ActTag {
		tags, what = append(tags, a.Tag), "tagged "+a.Tag
	} else {
		tags = slices.DeleteFunc(tags, func(t string) bool { return t == a.Tag })
	}
	tags, err := contact.NormalizeTags(tags)
	if err != nil {
		return "", err
	}
	if slices.Equal(tags, c.Tags) {
		return what + " (no change)", nil
	}
	s.pub.OnCommit(tx, realtime.ContactEvent(c.TenantID, c.ID, realtime.KindUpdated))
	// an Update, not UpdateOne: nothing to read back
	if err := tx.Contact.Update().Where(entcontact.ID(c.ID)).SetTags(tags).Exec(ctx); err != nil {
		return "", err
	}
	c.Tags = tags
	return what, nil
}

func (s *Service) setStatus(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, st conversation.Status) (string, error) {
	if conv.Status == st {
		return "status " + string(st) + " (no change)", nil
	}
	u := tx.Conversation.UpdateOneID(conv.ID).SetStatus(st).ClearSnoozedUntil()
	if st == conversation.StatusRESOLVED {
		u.SetResolvedAt(s.clock.Now()).ClearQueuedAt()
	} else {
		u.ClearResolvedAt()
	}
	s.pub.OnCommit(tx, realtime.ConversationEvent(conv.TenantID, conv.ID, realtime.KindStatusChanged))
	return "status " + string(st), u.Exec(ctx)
}
