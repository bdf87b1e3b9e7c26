package routing

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/riverqueue/river"

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

// Scheduled redistribution: "weekdays 09:00: spread every open conversation
// that is unassigned or held by an offline agent over the agents online, by
// load and capacity". A periodic job ticks every minute on the elected
// instance; whichever instance runs a tick, a schedule's slot runs once,
// because its run log row (tenant, schedule, slot) is unique.

// TickArgs is the periodic job that runs the redistributions due.
type TickArgs struct{}

// Kind names the job.
func (TickArgs) Kind() string { return "routing.tick" }

// TickWorker runs TickArgs.
type TickWorker struct {
	river.WorkerDefaults[TickArgs]
	Routing *Service
}

// Work runs every redistribution due now.
func (w *TickWorker) Work(ctx context.Context, _ *river.Job[TickArgs]) error {
	_, err := w.Routing.RunDue(ctx)
	return err
}

// PeriodicTick is the periodic job to give River: a tick every minute.
func PeriodicTick() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Minute),
		func() (river.JobArgs, *river.InsertOpts) { return TickArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}

// slotLate is how late a tick may run a slot: a tick every minute, a little
// slack for a slow one.
const slotLate = 5 * time.Minute

// RunDue hands over the reservations due (HandOver), then runs, for every
// tenant, the redistributions whose slot began in the last few minutes and
// has not run yet. It returns the runs it made.
func (s *Service) RunDue(ctx context.Context) ([]*ent.RoutingRun, error) {
	tenants, err := s.client.Tenant.Query().All(viewer.Platform(ctx))
	if err != nil {
		return nil, err
	}
	if _, err := s.HandOver(ctx); err != nil {
		return nil, err
	}
	now := s.clock.Now()
	var runs []*ent.RoutingRun
	for _, t := range tenants {
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil {
			continue
		}
		for _, sch := range t.Settings.Redistributions {
			slot, ok := dueSlot(sch, now.In(loc))
			if !ok {
				continue
			}
			run, err := s.Redistribute(viewer.System(ctx, t.ID), sch.Name, slot)
			if err != nil {
				return runs, fmt.Errorf("redistribute %s of %s: %w", sch.Name, t.ID, err)
			}
			if run != nil {
				runs = append(runs, run)
			}
		}
	}
	return runs, nil
}

// dueSlot is the slot of sch that began at most slotLate before local.
func dueSlot(sch schematype.RedistributionSchedule, local time.Time) (string, bool) {
	min, err := minuteOfDay(sch.At)
	if err != nil || !slices.Contains(sch.Weekdays, int(local.Weekday())) {
		return "", false
	}
	y, m, d := local.Date()
	start := time.Date(y, m, d, min/60, min%60, 0, 0, local.Location())
	if local.Before(start) || local.Sub(start) > slotLate {
		return "", false
	}
	return start.Format("2006-01-02T15:04"), true
}

// Redistribute spreads the tenant's open conversations that are unassigned
// or held by an agent who is not online over the agents online, least loaded
// first and never over capacity, and logs the run as (schedule, slot). A
// slot that already ran (on this or another instance) returns nil.
func (s *Service) Redistribute(ctx context.Context, schedule, slot string) (*ent.RoutingRun, error) {
	run, err := s.client.RoutingRun.Create().SetSchedule(schedule).SetSlot(slot).SetCreatedAt(s.clock.Now()).Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, nil // another instance took the slot
	}
	if err != nil {
		return nil, err
	}
	stranded, err := s.client.Conversation.Query().
		Where(conversation.StatusIn(conversation.StatusOPEN, conversation.StatusPENDING), conversation.Or(
			conversation.AssigneeIDIsNil(),
			conversation.HasAssigneeWith(agent.Or(agent.PresenceNEQ(agent.PresenceONLINE), agent.DisabledAtNotNil())),
		),
			conversation.ReservedForIDIsNil(), // promised to the agent of a later shift
			conversation.Not(conversation.HasAssignmentsWith( // handed over at the shift's opening: its agent is signing in
				assignment.CauseEQ(assignment.CauseHANDOVER), assignment.CreatedAtGT(s.clock.Now().Add(-handoverGrace)))),
		).
		Order(ent.Asc(conversation.FieldCreatedAt), ent.Asc(conversation.FieldID)).
		IDs(ctx)
	if err != nil {
		return nil, err
	}
	var moves []schematype.RoutingMove
	for _, id := range stranded {
		var mv *schematype.RoutingMove
		err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
			var err error
			mv, err = s.moveStranded(ctx, tx, id, schedule)
			return err
		})
		if err != nil {
			return nil, err
		}
		if mv != nil {
			moves = append(moves, *mv)
		}
	}
	return run.Update().SetMoves(moves).SetMovedCount(len(moves)).SetFinishedAt(s.clock.Now()).Save(ctx)
}

// moveStranded gives one stranded conversation to the least loaded online
// agent with room among those its number's policy allows; nil when it is no
// longer stranded or nobody has room.
func (s *Service) moveStranded(ctx context.Context, tx *ent.Tx, id, schedule string) (*schematype.RoutingMove, error) {
	conv, err := tx.Conversation.Query().Where(conversation.ID(id)).Modify(schema.LockRow).Only(ctx)
	if err != nil {
		return nil, err
	}
	if conv.AssigneeID != nil {
		held, err := tx.Agent.Query().Where(agent.ID(*conv.AssigneeID), agent.PresenceEQ(agent.PresenceONLINE), agent.DisabledAtIsNil()).Exist(ctx)
		if err != nil || held {
			return nil, err // its agent came back meanwhile
		}
	}
	num, err := tx.Number.Get(ctx, conv.NumberID)
	if err != nil {
		return nil, err
	}
	pol := num.RoutingPolicy
	pol.IncludeOffline, pol.IgnoreCapacity = false, false
	eligible := eligibleAgents(num, pol)
	ids, err := s.candidates(ctx, tx, conv, pol, schematype.StrategyLeastLoaded, eligible)
	if err != nil {
		return nil, err
	}
	for _, a := range ids {
		ok, err := s.claim(ctx, tx, a, eligible)
		if err != nil || !ok {
			if err != nil {
				return nil, err
			}
			continue
		}
		err = tx.Conversation.UpdateOneID(conv.ID).SetAssigneeID(a).ClearQueuedAt().Exec(schema.WithLoadClaimed(ctx, a))
		if err != nil {
			return nil, err
		}
		d := Decision{AgentID: a, Strategy: schematype.StrategyLeastLoaded,
			Reason: fmt.Sprintf("redistribution %q: the least loaded agent online with room", schedule)}
		if err := s.record(ctx, tx, conv, d, assignment.CauseREDISTRIBUTION, kindOfMove(conv)); err != nil {
			return nil, err
		}
		return &schematype.RoutingMove{ConversationID: conv.ID, FromAgentID: conv.AssigneeID, ToAgentID: a}, nil
	}
	return nil, nil
}

// kindOfMove is the event kind of giving conv to someone: ASSIGNED when
// nobody held it, TRANSFERRED from an offline agent.
func kindOfMove(conv *ent.Conversation) string {
	if conv.AssigneeID == nil {
		return realtime.KindAssigned
	}
	return realtime.KindTransferred
}
