package routing

import (
	"context"
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Audit actions of opening hours and shifts.
const (
	ActionBusinessHoursSet = "routing.business_hours"
	ActionWorkingHoursSet  = "agent.working_hours"
)

// Bounds of what an administrator may set.
const (
	maxWindows     = 50
	maxClosedDates = 400
)

// HoursState are the opening hours in force for the tenant or a number, and
// what they say now.
type HoursState struct {
	NumberID    *string
	Own         bool // the number has its own hours (else the tenant's)
	Timezone    string
	Weekly      []schematype.BusinessHours
	Closed      []string
	OpenNow     bool
	NextOpening *time.Time
}

// BusinessHours answers for the number numberID, or the tenant when it is
// empty: the hours in force, open now and the next opening.
func (s *Service) BusinessHours(ctx context.Context, numberID string) (*HoursState, error) {
	var st *HoursState
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		st, err = s.hoursState(ctx, tx, numberID)
		return err
	})
	return st, err
}

func (s *Service) hoursState(ctx context.Context, tx *ent.Tx, numberID string) (*HoursState, error) {
	t, err := tx.Tenant.Get(ctx, viewer.FromContext(ctx).TenantID)
	if err != nil {
		return nil, err
	}
	st := &HoursState{Timezone: t.Timezone, Weekly: t.Settings.BusinessHours, Closed: t.Settings.Holidays}
	if numberID != "" {
		num, err := tx.Number.Get(ctx, numberID)
		if ent.IsNotFound(err) {
			return nil, apperr.New(apperr.NotFound, "numberID: no such number")
		}
		if err != nil {
			return nil, err
		}
		st.NumberID = &num.ID
		if num.BusinessHours != nil && len(num.BusinessHours.Weekly) > 0 {
			st.Own, st.Weekly, st.Closed = true, num.BusinessHours.Weekly, num.BusinessHours.Closed
		}
	}
	h, err := hours.New(t.Timezone, st.Weekly, st.Closed)
	if err != nil {
		return nil, err
	}
	now := s.clock.Now()
	if len(h.Weekly) == 0 {
		st.OpenNow = true // no hours: open around the clock
		return st, nil
	}
	st.OpenNow = h.OpenAt(now)
	if next, ok := h.NextOpening(now); ok {
		st.NextOpening = &next
	}
	return st, nil
}

// SetBusinessHours sets the tenant's opening hours, or the number numberID's
// own; a number given no weekly window follows the tenant's again.
// Audited; conversations reserved already keep their reservation.
func (s *Service) SetBusinessHours(ctx context.Context, numberID string, h schematype.Hours) (*HoursState, error) {
	if err := validHours(h.Weekly, h.Closed); err != nil {
		return nil, err
	}
	var after *HoursState
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		before, err := s.hoursState(ctx, tx, numberID)
		if err != nil {
			return err
		}
		whose := "the tenant"
		if numberID == "" {
			t, err := tx.Tenant.Get(ctx, viewer.FromContext(ctx).TenantID)
			if err != nil {
				return err
			}
			settings := t.Settings
			settings.BusinessHours, settings.Holidays = h.Weekly, h.Closed
			if err := t.Update().SetSettings(settings).Exec(ctx); err != nil {
				return err
			}
		} else {
			u := tx.Number.UpdateOneID(numberID)
			if len(h.Weekly) == 0 {
				u.ClearBusinessHours()
			} else {
				u.SetBusinessHours(&h)
			}
			num, err := u.Save(ctx)
			if err != nil {
				return err
			}
			whose = "number " + num.DisplayName
		}
		after, err = s.hoursState(ctx, tx, numberID)
		if err != nil {
			return err
		}
		target := numberID
		if target == "" {
			target = viewer.FromContext(ctx).TenantID
		}
		return audit.Record(ctx, tx, audit.Event{Action: ActionBusinessHoursSet, TargetID: target,
			Summary: fmt.Sprintf("opening hours of %s: %d weekly window(s), %d closed date(s)", whose, len(h.Weekly), len(h.Closed)),
			Before:  schematype.Hours{Weekly: before.Weekly, Closed: before.Closed}, After: h})
	})
	return after, err
}

// SetWorkingHours sets agentID's shift (weekly windows in the tenant's time
// zone); none: the business hours. Audited.
func (s *Service) SetWorkingHours(ctx context.Context, agentID string, weekly []schematype.BusinessHours) (*ent.Agent, error) {
	if err := validHours(weekly, nil); err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		a, err := tx.Agent.Get(ctx, agentID)
		if ent.IsNotFound(err) {
			return nil, apperr.New(apperr.NotFound, "agentID: no such agent")
		}
		if err != nil {
			return nil, err
		}
		before := a.WorkingHours
		if a, err = a.Update().SetWorkingHours(weekly).Save(ctx); err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{Action: ActionWorkingHoursSet, TargetID: a.ID,
			Summary: fmt.Sprintf("shift of %s: %d weekly window(s)", a.Name, len(weekly)), Before: before, After: weekly})
	})
}

func validHours(weekly []schematype.BusinessHours, closed []string) error {
	if len(weekly) > maxWindows {
		return apperr.Invalid("weekly", "at most %d windows", maxWindows)
	}
	for i, w := range weekly {
		if err := hours.ValidWindow(w); err != nil {
			return apperr.Invalid(fmt.Sprintf("weekly[%d]", i), "%s", err)
		}
	}
	if len(closed) > maxClosedDates {
		return apperr.Invalid("closed", "at most %d dates", maxClosedDates)
	}
	for i, d := range closed {
		if _, err := time.Parse(time.DateOnly, d); err != nil {
			return apperr.Invalid(fmt.Sprintf("closed[%d]", i), "%q is not a date (YYYY-MM-DD)", d)
		}
	}
	return nil
}
