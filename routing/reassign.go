package routing

import (
	"context"
	"fmt"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Target says where Reassign sends a conversation: to an agent, to a team
// (its least loaded member online with room), or, with neither, wherever
// the conversation's number's policy finds.
type Target struct {
	AgentID string
	TeamID  string
	// OrStay keeps the conversation with its agent when nobody else
	// qualifies, instead of putting it in the queue (a rule's "transfer to
	// another online agent").
	OrStay bool
}

// Check refuses a target that names both an agent and a team, or one that
// does not exist, is disabled, or is the agent being left (except).
func (t Target) Check(ctx context.Context, tx *ent.Tx, except string) error {
	switch {
	case t.AgentID != "" && t.TeamID != "":
		return apperr.Invalid("reassignTo", "an agent, a team or the policy: one of them")
	case t.AgentID != "":
		a, err := tx.Agent.Query().Where(agent.ID(t.AgentID)).Only(ctx)
		if ent.IsNotFound(err) {
			return apperr.New(apperr.NotFound, "reassignTo.agentID: no such agent")
		}
		if err != nil {
			return err
		}
		if a.DisabledAt != nil || a.ID == except {
			return apperr.Invalid("reassignTo.agentID", "%s cannot take conversations", a.Name)
		}
	case t.TeamID != "":
		if _, err := tx.Team.Get(ctx, t.TeamID); ent.IsNotFound(err) {
			return apperr.New(apperr.NotFound, "reassignTo.teamID: no such team")
		} else if err != nil {
			return err
		}
	}
	return nil
}

// Reassign takes an unresolved conversation from whoever holds it and gives
// it by to (never back to them), inside tx, saying why in its history and event (why is prefixed
// to the reason). An agent named by to takes it whatever their load or
// presence: someone chose them. A team or the policy may find nobody with
// room: the conversation then waits in the queue; on a manually routed
// number it is left unassigned. to must have passed Check.
func (s *Service) Reassign(ctx context.Context, tx *ent.Tx, conversationID string, to Target,
	cause assignment.Cause, why string) (Decision, error) {
	conv, err := tx.Conversation.Query().Where(conversation.ID(conversationID)).
		Modify(schema.LockRow).Only(ctx)
	if err != nil {
		return Decision{}, fmt.Errorf("reassign %s: %w", conversationID, err)
	}
	if conv.Status == conversation.StatusRESOLVED {
		return Decision{}, nil
	}
	why += ": "
	if to.AgentID != "" {
		if conv.AssigneeID != nil && *conv.AssigneeID == to.AgentID {
			return Decision{AgentID: to.AgentID, Reason: why + "already with the agent chosen"}, nil
		}
		d := Decision{AgentID: to.AgentID, Reason: why + "to the agent chosen"}
		if err := tx.Conversation.UpdateOneID(conv.ID).SetAssigneeID(to.AgentID).ClearQueuedAt().Exec(ctx); err != nil {
			return Decision{}, fmt.Errorf("reassign %s: %w", conv.ID, err)
		}
		return d, s.record(ctx, tx, conv, d, cause, kindOfMove(conv))
	}
	num, err := tx.Number.Get(ctx, conv.NumberID)
	if err != nil {
		return Decision{}, fmt.Errorf("reassign %s: %w", conv.ID, err)
	}
	pol := num.RoutingPolicy
	if to.TeamID != "" {
		if err := tx.Conversation.UpdateOneID(conv.ID).SetTeamID(to.TeamID).Exec(ctx); err != nil {
			return Decision{}, fmt.Errorf("reassign %s: %w", conv.ID, err)
		}
		pol = schematype.RoutingPolicy{Strategies: []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}, TeamID: &to.TeamID}
	}
	if pol.Manual() && to.OrStay {
		pol.Strategies = []schematype.RoutingStrategy{schematype.StrategyLeastLoaded}
	}
	if pol.Manual() {
		d := Decision{Reason: why + "manual routing: left unassigned for someone to take"}
		if err := tx.Conversation.UpdateOneID(conv.ID).ClearAssignee().Exec(ctx); err != nil {
			return Decision{}, fmt.Errorf("reassign %s: %w", conv.ID, err)
		}
		return d, s.record(ctx, tx, conv, d, cause, kindOfMove(conv))
	}
	if to.OrStay {
		d, err := s.pick(ctx, tx, conv, num, pol, cause, why, false)
		if err != nil || d.AgentID != "" {
			return d, err
		}
		return Decision{AgentID: *conv.AssigneeID, Reason: why + "nobody else qualifies: left with the agent"}, nil
	}
	return s.place(ctx, tx, conv, num, pol, cause, why, false)
}
