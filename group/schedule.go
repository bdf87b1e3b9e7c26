package group

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupschedule"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// LocalLayout is how a schedule's window is given: a wall-clock time in the
// tenant's time zone.
const LocalLayout = "2006-01-02T15:04"

// ScheduleInput is a scheduled change of a group's posting settings: during
// the window from StartLocal to EndLocal (the tenant's wall-clock time) the
// settings given replace the group's; at the end they are restored.
type ScheduleInput struct {
	GroupID                  string
	Label                    string
	StartLocal, EndLocal     string
	SendMessages             *schematype.Audience
	MembersReplyToAdminsOnly *bool
	EditInfo                 *schematype.Audience
}

// ScheduleArgs is the durable job of one end of a schedule's window: Phase
// "start" applies it at its start, "end" restores at its end. Each checks
// the schedule again when it runs (cancelled, already applied, past).
type ScheduleArgs struct {
	TenantID   string    `json:"tenant_id"`
	ScheduleID string    `json:"schedule_id"`
	Phase      string    `json:"phase"`
	Due        time.Time `json:"due"`
}

// Phases of a ScheduleArgs.
const (
	PhaseStart = "start"
	PhaseEnd   = "end"
)

// Kind names the job.
func (ScheduleArgs) Kind() string { return "group.schedule" }

// ScheduleWorker runs ScheduleArgs.
type ScheduleWorker struct {
	river.WorkerDefaults[ScheduleArgs]
	Groups *Service
}

// Work applies or ends the schedule once its time has come by the service's
// clock (a job picked up early waits).
func (w *ScheduleWorker) Work(ctx context.Context, j *river.Job[ScheduleArgs]) error {
	if wait := j.Args.Due.Sub(w.Groups.clock.Now()); wait > 0 {
		return river.JobSnooze(wait)
	}
	ctx = viewer.System(ctx, j.Args.TenantID)
	if j.Args.Phase == PhaseStart {
		return w.Groups.startSchedule(ctx, j.Args.ScheduleID)
	}
	return w.Groups.endSchedule(ctx, j.Args.ScheduleID)
}

// Schedule records a scheduled change of a group's posting settings and
// the two jobs that apply and end it. Only the group's admins schedule (the
// settings are theirs); windows of one group may not overlap.
func (s *Service) Schedule(ctx context.Context, in ScheduleInput) (*ent.GroupSchedule, error) {
	if in.SendMessages == nil && in.MembersReplyToAdminsOnly == nil && in.EditInfo == nil {
		return nil, apperr.Invalid("input", "give at least one setting to change during the window")
	}
	if len([]rune(in.Label)) > 200 {
		return nil, apperr.Invalid("label", "at most 200 characters")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.GroupSchedule, error) {
		g, err := tx.Group.UpdateOneID(in.GroupID).SetUpdatedAt(time.Now()).Save(ctx) // locks the group (see AddMembers)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "schedule the group's settings"); err != nil {
			return nil, err
		}
		if g.State == entgroup.StateDELETED || g.State == entgroup.StateDELETING || g.State == entgroup.StateFAILED {
			return nil, apperr.New(apperr.Conflict, "the group is %s: nothing can be scheduled", g.State)
		}
		t, err := tx.Tenant.Get(ctx, g.TenantID)
		if err != nil {
			return nil, err
		}
		loc, err := time.LoadLocation(t.Timezone)
		if err != nil {
			return nil, fmt.Errorf("tenant time zone %q: %w", t.Timezone, err)
		}
		start, err := time.ParseInLocation(LocalLayout, strings.TrimSpace(in.StartLocal), loc)
		if err != nil {
			return nil, apperr.Invalid("start", "%q is not a local time like 2026-12-07T08:00 (%s)", in.StartLocal, t.Timezone)
		}
		end, err := time.ParseInLocation(LocalLayout, strings.TrimSpace(in.EndLocal), loc)
		if err != nil {
			return nil, apperr.Invalid("end", "%q is not a local time like 2026-12-11T18:00 (%s)", in.EndLocal, t.Timezone)
		}
		if !end.After(start) {
			return nil, apperr.Invalid("end", "the window must end after it starts")
		}
		if !end.After(s.clock.Now()) {
			return nil, apperr.Invalid("end", "the window is already over (%s is %s)", t.Timezone, s.clock.Now().In(loc).Format(LocalLayout))
		}
		overlap, err := tx.GroupSchedule.Query().Where(groupschedule.GroupID(g.ID),
			groupschedule.StateIn(groupschedule.StateSCHEDULED, groupschedule.StateACTIVE),
			groupschedule.StartsAtLT(end), groupschedule.EndsAtGT(start)).First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
		if overlap != nil {
			return nil, apperr.New(apperr.Conflict, "the window overlaps schedule %s (%s to %s)", overlap.ID,
				overlap.StartsAt.In(loc).Format(LocalLayout), overlap.EndsAt.In(loc).Format(LocalLayout))
		}
		create := tx.GroupSchedule.Create().SetGroupID(g.ID).SetLabel(in.Label).SetStartsAt(start).SetEndsAt(end).
			SetTimezone(t.Timezone).SetNillableSendMessages(in.SendMessages).
			SetNillableMembersReplyToAdminsOnly(in.MembersReplyToAdminsOnly).SetNillableEditInfo(in.EditInfo)
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			create.SetCreatedByID(v.AgentID)
		}
		sc, err := create.Save(ctx)
		if err != nil {
			return nil, err
		}
		for phase, at := range map[string]time.Time{PhaseStart: start, PhaseEnd: end} {
			args := ScheduleArgs{TenantID: g.TenantID, ScheduleID: sc.ID, Phase: phase, Due: at}
			if err := s.enqueueAt(ctx, tx, args, at); err != nil {
				return nil, err
			}
		}
		s.changed(ctx, tx, g.ID, realtime.KindUpdated)
		return sc, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupScheduled, TargetID: g.ID, After: in,
			Summary: fmt.Sprintf("scheduled %s for %s from %s to %s (%s)", describe(sc), g.Subject,
				start.In(loc).Format(LocalLayout), end.In(loc).Format(LocalLayout), t.Timezone),
		})
	})
}

// CancelSchedule cancels a schedule: one not started yet never applies; an
// active one is ended now, restoring what it changed.
func (s *Service) CancelSchedule(ctx context.Context, id string) (*ent.GroupSchedule, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.GroupSchedule, error) {
		sc, err := tx.GroupSchedule.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		g, err := tx.Group.UpdateOneID(sc.GroupID).SetUpdatedAt(time.Now()).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "cancel the group's schedules"); err != nil {
			return nil, err
		}
		var outcome string
		switch sc.State {
		case groupschedule.StateSCHEDULED:
			outcome = "cancelled before it started: nothing changed"
		case groupschedule.StateACTIVE:
			if outcome, err = s.restore(ctx, tx, g, sc); err != nil {
				return nil, err
			}
			outcome = "cancelled during the window: " + outcome
		default:
			return nil, apperr.New(apperr.Conflict, "the schedule is %s already", sc.State)
		}
		u := tx.GroupSchedule.UpdateOne(sc).SetState(groupschedule.StateCANCELLED).SetEndedAt(s.clock.Now()).SetOutcome(outcome)
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			u.SetCancelledByID(v.AgentID)
		}
		if sc, err = u.Save(ctx); err != nil {
			return nil, err
		}
		s.changed(ctx, tx, g.ID, realtime.KindUpdated)
		return sc, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupScheduleCancelled, TargetID: g.ID, Before: sc.ID,
			Summary: fmt.Sprintf("cancelled the schedule %q of %s: %s", sc.Label, g.Subject, outcome),
		})
	})
}

// startSchedule applies a schedule whose start has come, unless it was
// cancelled, already applied, or its whole window passed meanwhile (an
// outage): then it ends without changing anything.
func (s *Service) startSchedule(ctx context.Context, id string) error {
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		sc, err := tx.GroupSchedule.Get(ctx, id)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil || sc.State != groupschedule.StateSCHEDULED {
			return err
		}
		g, err := tx.Group.UpdateOneID(sc.GroupID).SetUpdatedAt(time.Now()).Save(ctx)
		if err != nil {
			return err
		}
		now := s.clock.Now()
		if !now.Before(sc.EndsAt) {
			return tx.GroupSchedule.UpdateOne(sc).SetState(groupschedule.StateDONE).SetEndedAt(now).
				SetOutcome("its window had passed when it was due to start: nothing changed").Exec(ctx)
		}
		previous := postingSettings(g)
		u := tx.Group.UpdateOne(g)
		if sc.SendMessages != nil {
			u.SetSendMessages(*sc.SendMessages)
		}
		if sc.MembersReplyToAdminsOnly != nil {
			u.SetMembersReplyToAdminsOnly(*sc.MembersReplyToAdminsOnly)
		}
		if sc.EditInfo != nil {
			u.SetEditInfo(*sc.EditInfo)
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		if err := tx.GroupSchedule.UpdateOne(sc).SetState(groupschedule.StateACTIVE).SetAppliedAt(now).
			SetPrevious(previous).Exec(ctx); err != nil {
			return err
		}
		s.changed(ctx, tx, g.ID, realtime.KindUpdated)
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupScheduleApplied, TargetID: g.ID, Before: previous, After: sc.ID,
			Summary: fmt.Sprintf("schedule %q of %s started: %s", sc.Label, g.Subject, describe(sc)),
		})
	})
}

// endSchedule restores what an active schedule changed once its end has
// come; a schedule that never started ends without changing anything.
func (s *Service) endSchedule(ctx context.Context, id string) error {
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		sc, err := tx.GroupSchedule.Get(ctx, id)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		var outcome string
		switch sc.State {
		case groupschedule.StateSCHEDULED:
			outcome = "it never started: nothing changed"
		case groupschedule.StateACTIVE:
			g, err := tx.Group.UpdateOneID(sc.GroupID).SetUpdatedAt(time.Now()).Save(ctx)
			if err != nil {
				return err
			}
			if outcome, err = s.restore(ctx, tx, g, sc); err != nil {
				return err
			}
			s.changed(ctx, tx, g.ID, realtime.KindUpdated)
			if err := audit.Record(ctx, tx, audit.Event{
				Action: audit.ActionGroupScheduleEnded, TargetID: g.ID, After: postingSettings(g), Before: sc.ID,
				Summary: fmt.Sprintf("schedule %q of %s ended: %s", sc.Label, g.Subject, outcome),
			}); err != nil {
				return err
			}
		default:
			return nil
		}
		return tx.GroupSchedule.UpdateOne(sc).SetState(groupschedule.StateDONE).SetEndedAt(s.clock.Now()).
			SetOutcome(outcome).Exec(ctx)
	})
}

// restore puts back, on g, each setting sc changed, unless someone changed
// it again during the window: their choice stays, and the outcome says so.
func (s *Service) restore(ctx context.Context, tx *ent.Tx, g *ent.Group, sc *ent.GroupSchedule) (string, error) {
	var restored, kept []string
	u := tx.Group.UpdateOne(g)
	if sc.SendMessages != nil {
		if g.SendMessages == *sc.SendMessages {
			u.SetSendMessages(sc.Previous.SendMessages)
			restored = append(restored, "sendMessages "+string(sc.Previous.SendMessages))
		} else {
			kept = append(kept, "sendMessages "+string(g.SendMessages))
		}
	}
	if sc.MembersReplyToAdminsOnly != nil {
		if g.MembersReplyToAdminsOnly == *sc.MembersReplyToAdminsOnly {
			u.SetMembersReplyToAdminsOnly(sc.Previous.MembersReplyToAdminsOnly)
			restored = append(restored, fmt.Sprintf("membersReplyToAdminsOnly %t", sc.Previous.MembersReplyToAdminsOnly))
		} else {
			kept = append(kept, fmt.Sprintf("membersReplyToAdminsOnly %t", g.MembersReplyToAdminsOnly))
		}
	}
	if sc.EditInfo != nil {
		if g.EditInfo == *sc.EditInfo {
			u.SetEditInfo(sc.Previous.EditInfo)
			restored = append(restored, "editInfo "+string(sc.Previous.EditInfo))
		} else {
			kept = append(kept, "editInfo "+string(g.EditInfo))
		}
	}
	if err := u.Exec(ctx); err != nil {
		return "", err
	}
	out := "restored " + strings.Join(restored, ", ")
	if len(restored) == 0 {
		out = "nothing to restore"
	}
	if len(kept) > 0 {
		out += "; kept " + strings.Join(kept, ", ") + " (changed during the window)"
	}
	return out, nil
}

func postingSettings(g *ent.Group) schematype.GroupPostingSettings {
	return schematype.GroupPostingSettings{SendMessages: g.SendMessages, MembersReplyToAdminsOnly: g.MembersReplyToAdminsOnly, EditInfo: g.EditInfo}
}

// describe says what a schedule sets, for people.
func describe(sc *ent.GroupSchedule) string {
	var parts []string
	if sc.SendMessages != nil {
		parts = append(parts, "sendMessages "+string(*sc.SendMessages))
	}
	if sc.MembersReplyToAdminsOnly != nil {
		parts = append(parts, fmt.Sprintf("membersReplyToAdminsOnly %t", *sc.MembersReplyToAdminsOnly))
	}
	if sc.EditInfo != nil {
		parts = append(parts, "editInfo "+string(*sc.EditInfo))
	}
	return strings.Join(parts, ", ")
}

// enqueueAt schedules a job in tx to run at at.
func (s *Service) enqueueAt(ctx context.Context, tx *ent.Tx, args river.JobArgs, at time.Time) error {
	if s.jobs == nil {
		return nil
	}
	stx, err := tx.SQLTx()
	if err != nil {
		return err
	}
	_, err = s.jobs.InsertTx(ctx, stx, args, &river.InsertOpts{ScheduledAt: at})
	return err
}
