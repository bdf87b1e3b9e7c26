package connector

import (
	"context"
	"fmt"

	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/predicate"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/viewer"
)

// MaxReplay bounds the deliveries one replay puts back.
const MaxReplay = 500

// Replayer puts stored deliveries back to be ingested (by the Sweeper): the
// UNROUTED ones of a number when it is verified, and those an operator
// replays.
type Replayer struct{}

// NamingAny is the predicate of the deliveries whose phone_number_ids hold
// one of ids (none when ids is empty).
func NamingAny(ids []string) predicate.WebhookDelivery {
	if len(ids) == 0 {
		return predicate.WebhookDelivery(func(s *sql.Selector) { s.Where(sql.False()) })
	}
	ors := make([]predicate.WebhookDelivery, len(ids))
	for i, id := range ids {
		ors[i] = predicate.WebhookDelivery(func(s *sql.Selector) {
			s.Where(sqljson.ValueContains(s.C(webhookdelivery.FieldPhoneNumberIds), id))
		})
	}
	return webhookdelivery.Or(ors...)
}

// unroutedFor is the predicate of the deliveries that left the items of
// phoneNumberID unrouted when they were processed.
func unroutedFor(phoneNumberID string) predicate.WebhookDelivery {
	return predicate.WebhookDelivery(func(s *sql.Selector) {
		s.Where(sqljson.ValueContains(s.C(webhookdelivery.FieldUnroutedPhoneNumberIds), phoneNumberID))
	})
}

// NumberLinked replays, in tx, the deliveries with items for phoneNumberID
// that no number took: a webhook that arrived before its number was linked
// and verified is ingested once it is, whether it was UNROUTED whole or partly routed
// (its other items, already ingested, change nothing the second time).
func (r *Replayer) NumberLinked(ctx context.Context, tx *ent.Tx, phoneNumberID string) error {
	if phoneNumberID == "" {
		return nil
	}
	ids, err := tx.WebhookDelivery.Query().
		Where(webhookdelivery.Or(
			webhookdelivery.And(webhookdelivery.StateEQ(webhookdelivery.StateUNROUTED), NamingAny([]string{phoneNumberID})),
			unroutedFor(phoneNumberID),
		)).
		Order(ent.Asc(webhookdelivery.FieldCreatedAt)).Limit(MaxReplay).IDs(viewer.Platform(ctx))
	if err != nil {
		return err
	}
	return r.Replay(ctx, tx, ids)
}

// Replay puts the deliveries ids back to RECEIVED, due at once and their
// waits counted afresh, in tx: the next sweep ingests them.
func (r *Replayer) Replay(ctx context.Context, tx *ent.Tx, ids []string) error {
	if len(ids) == 0 {
		return nil
	}
	if len(ids) > MaxReplay {
		return fmt.Errorf("connector: replay %d deliveries: at most %d at once", len(ids), MaxReplay)
	}
	pctx := viewer.Platform(ctx)
	if err := tx.WebhookDelivery.Update().Where(webhookdelivery.IDIn(ids...)).
		SetState(webhookdelivery.StateRECEIVED).SetAttempts(0).ClearError().ClearProcessedAt().
		ClearDueAt().ClearClaim().Exec(pctx); err != nil {
		return fmt.Errorf("replay deliveries: %w", err)
	}
	return nil
}
