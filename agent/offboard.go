package agent

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/apikey"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/offboarding"
	"github.com/switchboard-dev/switchboard/ent/team"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Audit actions of offboarding.
const (
	ActionOffboarded = "agent.offboard"
	ActionReinstated = "agent.reinstate"
)

// Offboarded is what offboarding an agent did.
type Offboarded struct {
	Agent          *ent.Agent
	APIKeysRevoked []string // ids of the keys they had created
	TeamsLeft      []string
	Moves          []Move
}

// Unwrap puts the agent back onto the client's driver (store.InTx).
func (o *Offboarded) Unwrap() *Offboarded {
	o.Agent = o.Agent.Unwrap()
	return o
}

// Move is where one of the agent's open conversations went.
type Move struct {
	ConversationID string
	routing.Decision
}

// Offboard takes an agent out of the business in one transaction: they can
// no longer sign in, every session and live connection of theirs ends on
// every instance once it commits, the API keys they created are revoked,
// their open conversations go to the target, and they leave their teams.
// Every message they wrote stays. The audit chain records it as one
// agent.offboard event (with one apikey.revoke per key), each conversation's
// history says where it went. Offboarding yourself is refused.
func (s *Service) Offboard(ctx context.Context, id string, to routing.Target) (*Offboarded, error) {
	if v := viewer.FromContext(ctx); v != nil && v.AgentID == id {
		return nil, apperr.New(apperr.Conflict, "you cannot offboard yourself")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*Offboarded, error) {
		a, err := tx.Agent.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		if err := to.Check(ctx, tx, id); err != nil {
			return nil, err
		}
		out := &Offboarded{}
		if out.TeamsLeft, err = a.QueryTeams().IDs(ctx); err != nil {
			return nil, err
		}
		// Disabled first: no step of a policy may then pick them.
		now := policy.RevocationInstant()
		s.revoke(ctx, tx, id)
		u := a.Update().SetTokensValidAfter(now).SetPresence("OFFLINE").ClearTeams()
		if a.DisabledAt == nil {
			u.SetDisabledAt(now)
		}
		if out.Agent, err = u.Save(ctx); err != nil {
			return nil, err
		}
		if err := report.TrackPresence(ctx, tx.Client(), a.TenantID, id, "OFFLINE", s.clock.Now()); err != nil {
			return nil, err
		}
		if err := auth.RevokeAgentSessions(ctx, tx.Client(), id, now); err != nil {
			return nil, err
		}
		if out.APIKeysRevoked, err = s.revokeKeysOf(ctx, tx, id); err != nil {
			return nil, err
		}
		if out.Moves, err = s.reassignAll(ctx, tx, a, to); err != nil {
			return nil, err
		}
		if err := policy.CheckTenantManaged(ctx, tx.Client()); err != nil {
			return nil, err
		}
		err = tx.Offboarding.Create().SetAgentID(id).SetTeamIds(out.TeamsLeft).SetCreatedAt(s.clock.Now()).Exec(ctx)
		if err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, realtime.AgentOffboardedEvent(a.TenantID, a.ID))
		return out, audit.Record(ctx, tx, audit.Event{
			Action: ActionOffboarded, TargetID: a.ID, Summary: summarize(a.Name, to, out),
			After: out.Moves,
		})
	})
}

// revokeKeysOf revokes the API keys agentID created, each audited, and
// closes their live connections on every instance once tx commits.
func (s *Service) revokeKeysOf(ctx context.Context, tx *ent.Tx, agentID string) ([]string, error) {
	keys, err := tx.APIKey.Query().Where(apikey.CreatedByID(agentID), apikey.RevokedAtIsNil()).
		Order(ent.Asc(apikey.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	ids := make([]string, 0, len(keys))
	for _, k := range keys {
		if err := k.Update().SetRevokedAt(s.clock.Now()).Exec(ctx); err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, realtime.APIKeyRevokedEvent(k.TenantID, k.ID))
		if err := audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionAPIKeyRevoked, TargetID: k.ID,
			Summary: fmt.Sprintf("revoked API key %q: its creator was offboarded", k.Name),
		}); err != nil {
			return nil, err
		}
		ids = append(ids, k.ID)
	}
	return ids, nil
}

// reassignAll sends every unresolved conversation of a to the target,
// oldest first: all of them, not only those the caller's row scope shows
// (a lead offboarding an agent of numbers they are not on), so that none
// stays with an agent who can no longer answer. Only their ids are told.
func (s *Service) reassignAll(ctx context.Context, tx *ent.Tx, a *ent.Agent, to routing.Target) ([]Move, error) {
	ctx = viewer.System(ctx, a.TenantID)
	ids, err := tx.Conversation.Query().
		Where(conversation.AssigneeID(a.ID), conversation.StatusNEQ(conversation.StatusRESOLVED)).
		Order(ent.Asc(conversation.FieldCreatedAt), ent.Asc(conversation.FieldID)).IDs(ctx)
	if err != nil {
		return nil, err
	}
	moves := make([]Move, 0, len(ids))
	for _, cid := range ids {
		d, err := s.router.Reassign(ctx, tx, cid, to, assignment.CauseOFFBOARDING, "offboarding of "+a.Name)
		if err != nil {
			return nil, err
		}
		moves = append(moves, Move{ConversationID: cid, Decision: d})
	}
	return moves, nil
}

// summarize says what offboarding did, for the audit chain.
func summarize(name string, to routing.Target, out *Offboarded) string {
	assigned, queued, left := 0, 0, 0
	for _, m := range out.Moves {
		switch {
		case m.AgentID != "":
			assigned++
		case m.Queued:
			queued++
		default:
			left++
		}
	}
	target := "by their numbers' policies"
	switch {
	case to.AgentID != "":
		target = "to " + to.AgentID
	case to.TeamID != "":
		target = "to team " + to.TeamID
	}
	var b strings.Builder
	fmt.Fprintf(&b, "offboarded %s: disabled, sessions and live connections ended, %d API key(s) revoked, "+
		"%d open conversation(s) reassigned %s (%d to an agent, %d queued, %d left unassigned), left %d team(s)",
		name, len(out.APIKeysRevoked), len(out.Moves), target, assigned, queued, left, len(out.TeamsLeft))
	return b.String()
}

// Reinstate gives an offboarded (or disabled) agent their access back: they
// may sign in again and rejoin the teams their last offboarding took them
// out of (those that still exist). Their API keys stay revoked and their
// conversations where offboarding put them.
func (s *Service) Reinstate(ctx context.Context, id string) (*ent.Agent, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		last, err := tx.Offboarding.Query().Where(offboarding.AgentID(id), offboarding.ReinstatedAtIsNil()).
			Order(ent.Desc(offboarding.FieldCreatedAt)).First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
		if a.DisabledAt == nil && last == nil {
			audit.Unchanged(ctx)
			return a, nil
		}
		u := a.Update().ClearDisabledAt()
		var teams []string
		if last != nil {
			if teams, err = tx.Team.Query().Where(team.IDIn(last.TeamIds...)).IDs(ctx); err != nil {
				return nil, err
			}
			u.AddTeamIDs(teams...)
			if err := last.Update().SetReinstatedAt(s.clock.Now()).Exec(ctx); err != nil {
				return nil, err
			}
		}
		if a, err = u.Save(ctx); err != nil {
			return nil, err
		}
		s.authz.InvalidateOnCommit(ctx, tx)
		s.pub.OnCommit(tx, realtime.PolicyChangedEvent(a.TenantID), realtime.AgentEvent(a.TenantID, a.ID))
		return a, audit.Record(ctx, tx, audit.Event{
			Action: ActionReinstated, TargetID: a.ID,
			Summary: fmt.Sprintf("reinstated %s: may sign in again, back in %d team(s)", a.Name, len(teams)),
		})
	})
}
