package routing

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/assignment"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Shifts: a conversation that arrives while its number is closed, when no
// agent's own shift is open, is reserved for the agent whose shift opens
// next (the least loaded of them, counting the conversations already
// reserved for them), and handed over to that agent when the shift opens.
// An agent's shift is their working hours in the tenant's time zone; an
// agent without working hours works the number's business hours. Closed
// dates of the business close every shift.
//
// The reservation is two columns of the conversation (reserved_for_id,
// reserved_until), so it survives restarts and any instance hands it over:
// the routing tick (every minute) takes the reservations due, each under
// its conversation's row lock.

// handoverGrace is how long a scheduled redistribution leaves a handed-over
// conversation with its agent while they sign in at the start of their
// shift.
const handoverGrace = 30 * time.Minute

// reserve reserves the locked, unassigned conv for the agent among eligible
// whose shift opens first after now, when the number is closed now (h has
// hours and now is outside them) and no eligible agent's own shift is open.
// ok is false when routing should go on as in the day.
func (s *Service) reserve(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, num *ent.Number,
	pol schematype.RoutingPolicy, h Hours) (d Decision, ok bool, err error) {
	now := s.clock.Now()
	if len(h.Weekly) == 0 || h.OpenAt(now) {
		return Decision{}, false, nil
	}
	anyone := pol
	anyone.IncludeOffline, anyone.IgnoreCapacity = true, true
	agents, err := tx.Agent.Query().Where(eligibleAgents(num, anyone)...).
		Select(agent.FieldID, agent.FieldName, agent.FieldEmployeeCode, agent.FieldWorkingHours, agent.FieldOpenCount).
		All(ctx)
	if err != nil {
		return Decision{}, false, err
	}
	var (
		opening time.Time
		first   []*ent.Agent
	)
	for _, a := range agents {
		shift := shiftOf(a, h)
		if len(a.WorkingHours) > 0 && shift.OpenAt(now) {
			return Decision{}, false, nil // someone's shift is open: route as in the day
		}
		next, found := shift.NextOpening(now)
		switch {
		case !found:
		case opening.IsZero() || next.Before(opening):
			opening, first = next, []*ent.Agent{a}
		case next.Equal(opening):
			first = append(first, a)
		}
	}
	if len(first) == 0 {
		return Decision{}, false, nil // nobody ever opens: the queue, as in the day
	}
	chosen, err := s.leastReserved(ctx, tx, first)
	if err != nil {
		return Decision{}, false, err
	}
	d = Decision{Queued: true, Reason: fmt.Sprintf("closed: reserved for %s, whose shift opens first (%s), the least loaded of %d",
		nameOf(chosen), opening.In(h.Loc).Format("Mon 2 Jan 15:04 MST"), len(first))}
	u := tx.Conversation.UpdateOneID(conv.ID).SetReservedForID(chosen.ID).SetReservedUntil(opening)
	if conv.QueuedAt == nil {
		u.SetQueuedAt(now) // waiting, visible in the queue
	}
	if err := u.Exec(ctx); err != nil {
		return Decision{}, false, fmt.Errorf("reserve %s: %w", conv.ID, err)
	}
	return d, true, s.record(ctx, tx, conv, d, assignment.CauseRESERVATION, realtime.KindQueued)
}

// shiftOf is a's shift: their working hours, else the number's hours h,
// closed on h's closed dates either way.
func shiftOf(a *ent.Agent, h Hours) Hours {
	if len(a.WorkingHours) == 0 {
		return h
	}
	return Hours{Loc: h.Loc, Weekly: a.WorkingHours, Closed: h.Closed}
}

// leastReserved picks among agents the one with the fewest open and
// reserved conversations (then by id).
func (s *Service) leastReserved(ctx context.Context, tx *ent.Tx, agents []*ent.Agent) (*ent.Agent, error) {
	ids := make([]string, len(agents))
	for i, a := range agents {
		ids[i] = a.ID
	}
	var counts []struct {
		ReservedForID string `json:"reserved_for_id"`
		Count         int    `json:"count"`
	}
	err := tx.Conversation.Query().
		Where(conversation.ReservedForIDIn(ids...), conversation.AssigneeIDIsNil(), conversation.StatusNEQ(conversation.StatusRESOLVED)).
		GroupBy(conversation.FieldReservedForID).Aggregate(ent.Count()).Scan(ctx, &counts)
	if err != nil {
		return nil, err
	}
	load := map[string]int{}
	for _, c := range counts {
		load[c.ReservedForID] = c.Count
	}
	return slices.MinFunc(agents, func(a, b *ent.Agent) int {
		la, lb := a.OpenCount+load[a.ID], b.OpenCount+load[b.ID]
		if la != lb {
			return la - lb
		}
		return strings.Compare(a.ID, b.ID)
	}), nil
}

func nameOf(a *ent.Agent) string {
	if a.EmployeeCode != "" {
		return fmt.Sprintf("%s (#%s)", a.Name, a.EmployeeCode)
	}
	return a.Name
}

// HandOver gives every conversation whose reservation is due to its
// reserved agent, in every tenant, and returns how many it gave. A
// conversation someone took meanwhile keeps its agent; one reserved for an
// agent disabled since is routed by its number's policy. Any number of
// instances may run it at once.
func (s *Service) HandOver(ctx context.Context) (int, error) {
	var due []struct {
		ID       string `json:"id"`
		TenantID string `json:"tenant_id"`
	}
	err := s.client.Conversation.Query().Where(conversation.ReservedUntilLTE(s.clock.Now())).
		Select(conversation.FieldID, conversation.FieldTenantID).Scan(viewer.Platform(ctx), &due)
	if err != nil {
		return 0, err
	}
	given := 0
	for _, c := range due {
		var d Decision
		err := store.WithTx(viewer.System(ctx, c.TenantID), s.client, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			d, err = s.handOverTx(ctx, tx, c.ID)
			return err
		})
		if err != nil {
			return given, fmt.Errorf("hand over %s: %w", c.ID, err)
		}
		if d.AgentID != "" {
			given++
		}
	}
	return given, nil
}

func (s *Service) handOverTx(ctx context.Context, tx *ent.Tx, id string) (Decision, error) {
	conv, err := tx.Conversation.Query().Where(conversation.ID(id)).Modify(schema.LockRow).Only(ctx)
	if err != nil {
		return Decision{}, err
	}
	if conv.ReservedForID == nil || conv.ReservedUntil == nil || conv.ReservedUntil.After(s.clock.Now()) {
		return Decision{}, nil // handed over by another instance
	}
	if err := tx.Conversation.UpdateOneID(conv.ID).ClearReservedForID().ClearReservedUntil().Exec(ctx); err != nil {
		return Decision{}, err
	}
	if conv.AssigneeID != nil || conv.Status == conversation.StatusRESOLVED {
		return Decision{}, nil // someone took it, or it is over
	}
	a, err := tx.Agent.Get(ctx, *conv.ReservedForID)
	if err != nil {
		return Decision{}, err
	}
	if a.DisabledAt != nil {
		conv.ReservedForID, conv.ReservedUntil = nil, nil
		num, err := tx.Number.Get(ctx, conv.NumberID)
		if err != nil || num.RoutingPolicy.Manual() {
			return Decision{}, err
		}
		return s.place(ctx, tx, conv, num, num.RoutingPolicy, assignment.CauseHANDOVER,
			fmt.Sprintf("reserved for %s, disabled since: ", nameOf(a)), false)
	}
	d := Decision{AgentID: a.ID, Reason: fmt.Sprintf("handover: %s's shift opened, the conversation reserved for them is theirs", nameOf(a))}
	// their load follows through the hook; the reservation made the promise whatever their capacity
	if err := tx.Conversation.UpdateOneID(conv.ID).SetAssigneeID(a.ID).ClearQueuedAt().Exec(ctx); err != nil {
		return Decision{}, err
	}
	return d, s.record(ctx, tx, conv, d, assignment.CauseHANDOVER, realtime.KindAssigned)
}
