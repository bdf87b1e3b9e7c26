// Package retention purges message content older than a tenant's retention
// period (settings.retentionDays; 0 keeps everything): the text, media and
// raw provider content of messages, the stored provider webhooks of the
// tenant's numbers and the payloads of outbound webhook deliveries. Rows stay
// as tombstones (direction, kind, status, times), so reports still count
// them and the audit chain is untouched. A legal hold on a conversation or its
// contact exempts it. Each run that purges something is audited.
//
// A periodic job (Periodic) runs Sweep every hour on one instance.
package retention

import (
	"context"
	"fmt"
	"time"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/outbounddelivery"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// batch bounds the messages one transaction purges.
const batch = 1000

// PurgedWebhookBody replaces a provider webhook body past retention.
var PurgedWebhookBody = []byte(`{"purged":true}`)

// Service purges.
type Service struct {
	client *ent.Client
	clock  clock.Clock
}

// New returns a Service over client.
func New(client *ent.Client, c clock.Clock) *Service { return &Service{client: client, clock: c} }

// Result is what a tenant's sweep purged.
type Result struct {
	TenantID string
	Messages int
	Webhooks int
	Payloads int
	// GroupEvents are the group webhook events removed: they name
	// participants and have no content to keep apart.
	GroupEvents int
}

// Sweep purges, for every tenant with a retention period, what is older
// than it.
func (s *Service) Sweep(ctx context.Context) ([]Result, error) {
	tenants, err := s.client.Tenant.Query().All(viewer.Platform(ctx))
	if err != nil {
		return nil, err
	}
	var out []Result
	for _, t := range tenants {
		if t.Settings.RetentionDays <= 0 {
			continue
		}
		r, err := s.Tenant(viewer.System(ctx, t.ID), time.Duration(t.Settings.RetentionDays)*24*time.Hour)
		if err != nil {
			return out, fmt.Errorf("retention of %s: %w", t.ID, err)
		}
		out = append(out, r)
	}
	return out, nil
}

// Tenant purges the content of the tenant of ctx (a system viewer) older
// than keep.
func (s *Service) Tenant(ctx context.Context, keep time.Duration) (Result, error) {
	v := viewer.FromContext(ctx)
	res := Result{TenantID: v.TenantID}
	before := s.clock.Now().Add(-keep)
	for {
		n, err := s.purgeMessages(ctx, before)
		if err != nil {
			return res, err
		}
		res.Messages += n
		if n < batch {
			break
		}
	}
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		if res.Payloads, err = tx.OutboundDelivery.Update().
			Where(outbounddelivery.OccurredAtLT(before), outbounddelivery.PayloadNotNil()).
			ClearPayload().Save(ctx); err != nil {
			return err
		}
		// only ids the tenant proved: a claimed id is not theirs to purge
		ids, err := tx.Number.Query().Where(number.PhoneNumberIDNotNil(), number.VerifiedAtNotNil()).Select(number.FieldPhoneNumberID).Strings(ctx)
		if err != nil {
			return err
		}
		if len(ids) > 0 {
			// Provider webhooks belong to no tenant: those about this tenant's
			// numbers, processed, and past the period.
			if res.Webhooks, err = tx.WebhookDelivery.Update().Where(
				webhookdelivery.CreatedAtLT(before), webhookdelivery.BodyNEQ(PurgedWebhookBody),
				webhookdelivery.StateIn(webhookdelivery.StatePROCESSED, webhookdelivery.StateFAILED),
				webhookdelivery.Or(phoneNumberIDs(ids)...),
			).SetBody(PurgedWebhookBody).Save(viewer.Platform(ctx)); err != nil {
				return err
			}
		}
		if res.GroupEvents, err = tx.GroupWebhookEvent.Delete().Where(groupwebhookevent.OccurredAtLT(before)).Exec(ctx); err != nil {
			return err
		}
		if res.Messages+res.Payloads+res.Webhooks+res.GroupEvents == 0 {
			return nil
		}
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionRetentionPurged,
			Summary: fmt.Sprintf("retention: purged the content of %d messages, %d provider webhooks, %d outbound payloads and %d group webhook events older than %s",
				res.Messages, res.Webhooks, res.Payloads, res.GroupEvents, before.UTC().Format(time.RFC3339)),
		})
	})
	return res, err
}

// purgeMessages clears the content of up to batch messages older than
// before, outside legal holds.
func (s *Service) purgeMessages(ctx context.Context, before time.Time) (int, error) {
	var n int
	err := store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		ids, err := tx.Message.Query().Where(
			message.CreatedAtLT(before),
			message.Or(message.BodyNotNil(), message.MediaNotNil(), message.ContentNotNil()),
			message.HasConversationWith(
				conversation.LegalHoldAtIsNil(),
				conversation.HasContactWith(contact.LegalHoldAtIsNil()),
			),
		).Limit(batch).IDs(ctx)
		if err != nil || len(ids) == 0 {
			return err
		}
		n, err = tx.Message.Update().Where(message.IDIn(ids...)).ClearBody().ClearMedia().ClearContent().Save(ctx)
		return err
	})
	return n, err
}

// phoneNumberIDs matches provider webhooks whose recorded numbers include
// one of ids.
func phoneNumberIDs(ids []string) []predicate.WebhookDelivery {
	out := make([]predicate.WebhookDelivery, len(ids))
	for i, id := range ids {
		out[i] = func(s *sql.Selector) { s.Where(sqljson.ValueContains(webhookdelivery.FieldPhoneNumberIds, id)) }
	}
	return out
}

// SweepArgs is the periodic retention job.
type SweepArgs struct{}

// Kind names the job.
func (SweepArgs) Kind() string { return "retention.sweep" }

// Worker runs SweepArgs.
type Worker struct {
	river.WorkerDefaults[SweepArgs]
	Retention *Service
}

// Work sweeps every tenant.
func (w *Worker) Work(ctx context.Context, _ *river.Job[SweepArgs]) error {
	_, err := w.Retention.Sweep(ctx)
	return err
}

// Periodic is the job to give River: a sweep every hour, and one at start.
func Periodic() *river.PeriodicJob {
	return river.NewPeriodicJob(river.PeriodicInterval(time.Hour),
		func() (river.JobArgs, *river.InsertOpts) { return SweepArgs{}, nil },
		&river.PeriodicJobOpts{RunOnStart: true})
}
