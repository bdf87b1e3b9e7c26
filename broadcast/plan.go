package broadcast

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Queue is the queue of planning and dispatch jobs.
const Queue = "broadcast"

// PlanArgs is the durable job that resolves a broadcast's audience into its
// recipient rows, at the broadcast's start.
type PlanArgs struct {
	TenantID    string `json:"tenant_id"`
	BroadcastID string `json:"broadcast_id"`
}

// Kind names the job.
func (PlanArgs) Kind() string { return "broadcast.plan" }

// InsertOpts: on the broadcast queue.
func (PlanArgs) InsertOpts() river.InsertOpts { return river.InsertOpts{Queue: Queue, MaxAttempts: 10} }

// PlanWorker runs PlanArgs.
type PlanWorker struct {
	river.WorkerDefaults[PlanArgs]
	Broadcasts *Service
}

// Work plans the broadcast.
func (w *PlanWorker) Work(ctx context.Context, j *river.Job[PlanArgs]) error {
	return w.Broadcasts.Plan(viewer.System(ctx, j.Args.TenantID), j.Args.BroadcastID)
}

func (s *Service) enqueue(ctx context.Context, tx *ent.Tx, args river.JobArgs, at time.Time) error {
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

// audienceContact is what planning reads of a contact.
type audienceContact struct {
	ID          string                        `json:"id"`
	WaID        string                        `json:"wa_id"`
	Phone       string                        `json:"phone"`
	Tags        []string                      `json:"tags"`
	OptIn       contact.OptIn                 `json:"opt_in"`
	Attributes  []schematype.ContactAttribute `json:"attributes"`
	ProfileName string                        `json:"profile_name"`
}

// talk is what planning reads of a conversation: who, on which number, when.
type talk struct {
	ContactID    string     `json:"contact_id"`
	NumberID     string     `json:"number_id"`
	LastMessage  *time.Time `json:"last_message_at"`
	LastCustomer *time.Time `json:"last_customer_message_at"`
}

// planBatch is how many recipient rows one INSERT writes: SQLite binds at
// most 32,766 values, a row takes 13.
const planBatch = 1000

// Plan resolves a SCHEDULED broadcast's audience and writes one recipient
// row per contact, each PENDING or SKIPPED with its reason, then starts the
// dispatch: all in one transaction, so a retried plan finds it done.
func (s *Service) Plan(ctx context.Context, id string) error {
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		// the update first: it takes the broadcast's row (Postgres) before reading it
		n, err := tx.Broadcast.Update().Where(broadcast.ID(id), broadcast.StateEQ(broadcast.StateSCHEDULED)).
			SetState(broadcast.StatePLANNING).SetStartedAt(s.clock.Now()).Save(ctx)
		if err != nil || n == 0 {
			return err // paused, cancelled or planned already
		}
		b, err := tx.Broadcast.Get(ctx, id)
		if err != nil {
			return err
		}
		rows, err := s.resolve(ctx, tx, b)
		if err != nil {
			return err
		}
		skipped, numbers := 0, map[string]bool{}
		for i := 0; i < len(rows); i += planBatch {
			chunk := rows[i:min(i+planBatch, len(rows))]
			builders := make([]*ent.BroadcastRecipientCreate, len(chunk))
			for k, r := range chunk {
				builders[k] = tx.BroadcastRecipient.Create().SetBroadcastID(b.ID).SetContactID(r.contactID).
					SetNillableNumberID(r.numberID).SetPosition(i + k).SetState(r.state).SetSkipReason(r.skip).
					SetMarketing(r.marketing)
			}
			if err := tx.BroadcastRecipient.CreateBulk(builders...).Exec(ctx); err != nil {
				return fmt.Errorf("broadcast %s: write recipients: %w", b.ID, err)
			}
		}
		for _, r := range rows {
			if r.state == broadcastrecipient.StateSKIPPED {
				skipped++
			} else {
				numbers[*r.numberID] = true
			}
		}
		u := tx.Broadcast.UpdateOneID(b.ID).SetPlanned(len(rows)).SetSkipped(skipped).SetState(broadcast.StateSENDING)
		changed := realtime.BroadcastEvent(b.TenantID, b.ID)
		if len(numbers) == 0 {
			u.SetState(broadcast.StateDONE).SetFinishedAt(s.clock.Now())
			changed = realtime.BroadcastFinishedEvent(b.TenantID, b.ID)
		}
		if err := u.Exec(ctx); err != nil {
			return err
		}
		for _, n := range sortedKeys(numbers) {
			if err := s.enqueue(ctx, tx, DispatchArgs{TenantID: b.TenantID, BroadcastID: b.ID, NumberID: n}, s.clock.Now()); err != nil {
				return err
			}
		}
		s.pub.OnCommit(tx, changed)
		return nil
	})
}

// dispatchAll starts a dispatch job for every number with recipients left.
func (s *Service) dispatchAll(ctx context.Context, tx *ent.Tx, b *ent.Broadcast) error {
	var numbers []string
	if err := tx.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(b.ID),
		broadcastrecipient.StateIn(broadcastrecipient.StatePENDING, broadcastrecipient.StateSENDING), broadcastrecipient.NumberIDNotNil()).
		GroupBy(broadcastrecipient.FieldNumberID).Scan(ctx, &numbers); err != nil {
		return err
	}
	for _, n := range numbers {
		if err := s.enqueue(ctx, tx, DispatchArgs{TenantID: b.TenantID, BroadcastID: b.ID, NumberID: n}, s.clock.Now()); err != nil {
			return err
		}
	}
	return nil
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// planned is one recipient row before it is written.
type planned struct {
	contactID string
	numberID  *string
	state     broadcastrecipient.State
	skip      string
	marketing bool
}

// resolve reads the audience and decides every recipient: three reads
// (contacts, conversations, recent marketing sends), then memory.
func (s *Service) resolve(ctx context.Context, tx *ent.Tx, b *ent.Broadcast) ([]planned, error) {
	now := s.clock.Now()
	contacts, err := s.audience(ctx, tx, b.Audience)
	if err != nil {
		return nil, err
	}
	var talks []talk
	q := tx.Conversation.Query().Where(conversation.GroupIDIsNil())
	if len(b.Audience.NumberIDs) > 0 {
		q.Where(conversation.NumberIDIn(b.Audience.NumberIDs...))
	}
	if err := q.Select(conversation.FieldContactID, conversation.FieldNumberID, conversation.FieldLastMessageAt,
		conversation.FieldLastCustomerMessageAt).Scan(ctx, &talks); err != nil {
		return nil, err
	}
	last := map[string]talk{}           // contact → its latest conversation
	window := map[[2]string]time.Time{} // (contact, number) → last customer message
	for _, t := range talks {
		if cur, ok := last[t.ContactID]; !ok || later(t.LastMessage, cur.LastMessage) {
			last[t.ContactID] = t
		}
		if t.LastCustomer != nil {
			k := [2]string{t.ContactID, t.NumberID}
			if cur, ok := window[k]; !ok || t.LastCustomer.After(cur) {
				window[k] = *t.LastCustomer
			}
		}
	}
	var active []string
	if err := tx.Number.Query().Where(number.UnlinkedAtIsNil(), number.PhoneNumberIDNotNil()).Order(ent.Asc(number.FieldID)).
		Select(number.FieldID).Scan(ctx, &active); err != nil {
		return nil, err
	}
	if len(b.Audience.NumberIDs) > 0 {
		active = slices.DeleteFunc(active, func(id string) bool { return !slices.Contains(b.Audience.NumberIDs, id) })
	}
	marketing := b.Category == "MARKETING"
	counts, capN, err := s.capCounts(ctx, tx, marketing, now)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	out := make([]planned, 0, len(contacts))
	for i, c := range contacts {
		p := planned{contactID: c.ID, state: broadcastrecipient.StatePENDING, marketing: marketing}
		key := c.Phone
		if key == "" {
			key = c.WaID
		}
		var num string
		switch b.Sender {
		case broadcast.SenderFIXED:
			num = *b.NumberID
		case broadcast.SenderSPREAD:
			if len(active) > 0 {
				num = active[i%len(active)]
			}
		default:
			if t, ok := last[c.ID]; ok && slices.Contains(active, t.NumberID) {
				num = t.NumberID
			}
		}
		if num != "" {
			p.numberID = &num
		}
		inWindow := num != "" && now.Sub(window[[2]string{c.ID, num}]) < 24*time.Hour
		switch {
		case seen[key]:
			p.skip = SkipDuplicate
		case c.OptIn == contact.OptInOPTED_OUT:
			p.skip = SkipOptedOut
		case num == "":
			p.skip = SkipNoNumber
		case b.TemplateID == nil && !inWindow:
			p.skip = SkipOutsideWindow
		case marketing && capN > 0 && counts[c.ID] >= capN:
			p.skip = SkipCapped
		}
		seen[key] = true
		if p.skip != "" {
			p.state, p.marketing = broadcastrecipient.StateSKIPPED, false
		}
		out = append(out, p)
	}
	return out, nil
}

// capCounts counts, per contact, the marketing messages sent within the
// tenant's cap period (across every broadcast and number), and returns the
// cap; none when the broadcast is not marketing or the tenant has no cap.
func (s *Service) capCounts(ctx context.Context, tx *ent.Tx, marketing bool, now time.Time) (map[string]int, int, error) {
	if !marketing {
		return nil, 0, nil
	}
	t, err := tx.Tenant.Get(viewer.Platform(ctx), viewer.FromContext(ctx).TenantID)
	if err != nil || t.Settings.MarketingCap == 0 {
		return nil, 0, err
	}
	since := now.Add(-time.Duration(t.Settings.MarketingCapDays) * 24 * time.Hour)
	var rows []struct {
		ContactID string `json:"contact_id"`
		Count     int    `json:"count"`
	}
	if err := tx.BroadcastRecipient.Query().Where(broadcastrecipient.Marketing(true),
		broadcastrecipient.StateIn(broadcastrecipient.StateSENDING, broadcastrecipient.StateSENT),
		broadcastrecipient.AttemptedAtGTE(since)).
		GroupBy(broadcastrecipient.FieldContactID).Aggregate(ent.Count()).Scan(ctx, &rows); err != nil {
		return nil, 0, err
	}
	counts := make(map[string]int, len(rows))
	for _, r := range rows {
		counts[r.ContactID] = r.Count
	}
	return counts, t.Settings.MarketingCap, nil
}

// audience reads the contacts a broadcast goes to, in id order.
func (s *Service) audience(ctx context.Context, tx *ent.Tx, a schematype.BroadcastAudience) ([]audienceContact, error) {
	q := tx.Contact.Query()
	if a.SegmentID != "" {
		// the segment as it is saved at the start: its filter decides, then the tags
		seg, err := tx.Segment.Get(ctx, a.SegmentID)
		if err != nil {
			return nil, fmt.Errorf("broadcast: segment %s: %w", a.SegmentID, err)
		}
		if q, err = s.segments.Query(ctx, seg.Filter); err != nil {
			return nil, fmt.Errorf("broadcast: segment %s: %w", a.SegmentID, err)
		}
	}
	q.Where(contact.ErasedAtIsNil()).Order(ent.Asc(contact.FieldID))
	var all []audienceContact
	if err := q.Select(contact.FieldID, contact.FieldWaID, contact.FieldPhone, contact.FieldTags, contact.FieldOptIn,
		contact.FieldAttributes, contact.FieldProfileName).Scan(ctx, &all); err != nil {
		return nil, err
	}
	out := all[:0]
	for _, c := range all {
		if matches(c.Tags, a) {
			out = append(out, c)
		}
	}
	return out, nil
}

// matches tells whether tags satisfy an audience's tag filters: all of
// TagsAll, at least one of TagsAny when given, none of TagsNone.
// Tags are compared without case: contacts are tagged in lower case
// (contact.Service), an audience may be written "VIP".
func matches(tags []string, a schematype.BroadcastAudience) bool {
	has := func(t string) bool {
		return slices.ContainsFunc(tags, func(c string) bool { return strings.EqualFold(c, t) })
	}
	for _, t := range a.TagsAll {
		if !has(t) {
			return false
		}
	}
	if len(a.TagsAny) > 0 && !slices.ContainsFunc(a.TagsAny, has) {
		return false
	}
	return !slices.ContainsFunc(a.TagsNone, has)
}

func later(a, b *time.Time) bool {
	switch {
	case a == nil:
		return false
	case b == nil:
		return true
	}
	return a.After(*b)
}

var _ = sql.ErrNoRows
