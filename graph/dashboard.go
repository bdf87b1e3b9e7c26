package graph

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/dashboard"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// dashboardPeriod: the dashboard recomputes at most this often, however
// many events arrive.
const dashboardPeriod = 250 * time.Millisecond

var dashboardEvents = []string{
	realtime.ConversationChanged, realtime.MessageChanged, realtime.NumberStatusChanged, realtime.AgentPresenceChanged,
}

// dashboard computes the live counters as the viewer sees them: row scopes
// apply, so an agent's dashboard counts their own conversations. Each table
// is read once: numbers grouped by status, the conversations' counters in
// one aggregate, open conversations grouped by agent, and the agents (their
// presence counted from the list).
func (r *Resolver) dashboard(ctx context.Context) (*model.Dashboard, error) {
	c := r.client
	d := &model.Dashboard{At: time.Now().UTC()}
	var numbers []struct {
		Status number.Status `json:"status"`
		Count  int           `json:"count"`
	}
	if err := c.Number.Query().GroupBy(number.FieldStatus).Aggregate(ent.Count()).Scan(ctx, &numbers); err != nil {
		return nil, err
	}
	for _, n := range numbers {
		switch n.Status {
		case number.StatusCONNECTED:
			d.NumbersConnected += n.Count
		case number.StatusDISCONNECTED:
			d.NumbersDisconnected += n.Count
		case number.StatusRESTRICTED, number.StatusBANNED:
			d.NumbersRestricted += n.Count
		}
	}
	counts, err := dashboard.Read(ctx, r.client) // within the viewer's row scope
	if err != nil {
		return nil, err
	}
	d.OpenConversations, d.UnassignedConversations, d.WaitingConversations = counts.Open, counts.Unassigned, counts.Waiting
	queue, err := r.routing.Stats(ctx) // the conversations of the queue the viewer may see
	if err != nil {
		return nil, err
	}
	d.QueuedConversations, d.LongestQueueWaitSeconds = queue.Length, int(queue.LongestWait.Seconds())
	agents, err := c.Agent.Query().Where(agent.DisabledAtIsNil()).Order(ent.Asc(agent.FieldName)).All(ctx)
	if err != nil {
		return nil, err
	}
	openByAgent := counts.OpenByAgent
	for _, a := range agents {
		switch a.Presence {
		case agent.PresenceONLINE:
			d.AgentsOnline++
		case agent.PresenceAWAY:
			d.AgentsAway++
		case agent.PresenceOFFLINE:
			d.AgentsOffline++
		}
		d.AgentLoad = append(d.AgentLoad, &model.AgentLoad{Agent: a, Capacity: a.MaxConcurrent, OpenConversations: openByAgent[a.ID]})
	}
	t, err := c.Tenant.Get(ctx, viewer.FromContext(ctx).TenantID)
	if err != nil {
		return nil, err
	}
	loc := location(t.Timezone)
	d.FirstResponseTargetSeconds = t.Settings.FirstResponseTargetSeconds()
	if err := r.figuresOfToday(ctx, time.Now().In(loc).Format(time.DateOnly), d); err != nil {
		return nil, err
	}
	return d, nil
}

// figuresOfToday fills in today's first responses and messages per number
// from the reports (package report): everyone's with report.view_all, the
// viewer's own with report.view_own, none for a viewer with neither.
func (r *Resolver) figuresOfToday(ctx context.Context, today string, d *model.Dashboard) error {
	numbers, err := r.client.Number.Query().Where(number.UnlinkedAtIsNil()).Order(ent.Asc(number.FieldDisplayName), ent.Asc(number.FieldID)).All(ctx)
	if err != nil {
		return err
	}
	d.VolumesToday = make([]*model.NumberVolume, 0, len(numbers))
	byID := make(map[string]*model.NumberVolume, len(numbers))
	for _, n := range numbers {
		v := &model.NumberVolume{Number: n}
		d.VolumesToday = append(d.VolumesToday, v)
		byID[n.ID] = v
	}
	q, err := report.Scope(ctx, report.Query{From: today, To: today, Bucket: report.Day, Dimension: report.Tenant})
	if err != nil {
		return nil //nolint:nilerr // no report switch: no figures, the rest of the dashboard stands
	}
	whole, err := r.reports.Run(ctx, q)
	if err != nil {
		return err
	}
	for _, row := range whole.Totals {
		fr := row.FirstResponse
		d.FirstResponsesToday, d.FirstResponsesWithinTarget = fr.Count, fr.Count-row.FirstResponseBreaches
		d.AverageFirstResponseSeconds = fr.Mean
	}
	q.Dimension = report.Number
	perNumber, err := r.reports.Run(ctx, q)
	if err != nil {
		return err
	}
	for _, row := range perNumber.Totals {
		if v := byID[row.Key]; v != nil { // else unlinked, or a number the viewer may not see
			v.Inbound, v.Outbound = row.MessagesIn, row.MessagesOut
		}
	}
	return nil
}

// locations caches time.LoadLocation, which reads the zone database on every
// call: timezone name → *time.Location (an unknown name → UTC).
var locations sync.Map

func location(name string) *time.Location {
	if loc, ok := locations.Load(name); ok {
		return loc.(*time.Location)
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		loc = time.UTC
	}
	locations.Store(name, loc)
	return loc
}

// conversationMatches applies a subscription's filter to a conversation.
func conversationMatches(c *ent.Conversation, f *model.ConversationEventFilter) bool {
	if f == nil {
		return true
	}
	if len(f.NumberIDs) > 0 && !slices.Contains(f.NumberIDs, c.NumberID) {
		return false
	}
	if len(f.AssigneeIDs) > 0 && (c.AssigneeID == nil || !slices.Contains(f.AssigneeIDs, *c.AssigneeID)) {
		return false
	}
	return len(f.Statuses) == 0 || slices.Contains(f.Statuses, c.Status)
}

// setFirstResponseTarget stores the tenant's first-response target, with
// its audit record, in one transaction.
func (r *Resolver) setFirstResponseTarget(ctx context.Context, seconds int) (*schematype.TenantSettings, error) {
	if seconds < 1 || seconds > 86400 {
		return nil, apperr.Invalid("seconds", "the first-response target must be 1 to 86400 seconds, not %d", seconds)
	}
	return r.changeSettings(ctx, func(s *schematype.TenantSettings) audit.Event {
		before := s.FirstResponseTargetSeconds()
		s.FirstResponseTarget = seconds
		return audit.Event{Summary: fmt.Sprintf("first-response target %d s → %d s", before, seconds), Before: before, After: seconds}
	})
}

// setRetention sets how long message content is kept (0: forever); the
// retention job purges what is older (package retention).
func (r *Resolver) setRetention(ctx context.Context, days int) (*schematype.TenantSettings, error) {
	if days < 0 || days > 36500 {
		return nil, apperr.Invalid("days", "the retention period must be 0 (keep forever) to 36500 days, not %d", days)
	}
	return r.changeSettings(ctx, func(s *schematype.TenantSettings) audit.Event {
		before := s.RetentionDays
		s.RetentionDays = days
		return audit.Event{Summary: fmt.Sprintf("retention %d days → %d days (0: forever)", before, days), Before: before, After: days}
	})
}

// changeSettings changes the viewer's tenant's settings with change, which
// says what to audit (as tenant.settings), in one transaction.
func (r *Resolver) changeSettings(ctx context.Context, change func(*schematype.TenantSettings) audit.Event) (*schematype.TenantSettings, error) {
	var settings schematype.TenantSettings
	err := store.WithTx(ctx, r.client, func(ctx context.Context, tx *ent.Tx) error {
		t, err := tx.Tenant.Get(ctx, viewer.FromContext(ctx).TenantID)
		if err != nil {
			return err
		}
		settings = t.Settings
		ev := change(&settings)
		if err := tx.Tenant.UpdateOne(t).SetSettings(settings).Exec(ctx); err != nil {
			return err
		}
		ev.Action, ev.TargetID = audit.ActionTenantSettings, t.ID
		return audit.Record(ctx, tx, ev)
	})
	if err != nil {
		return nil, err
	}
	return &settings, nil
}
