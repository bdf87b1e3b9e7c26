package connector

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Deliveries lets a tenant's operators list and replay the stored webhook
// deliveries that name their numbers. Deliveries belong to no tenant (one
// body may name numbers of several, or of none): a tenant sees a delivery
// only when it names the phone number id of one of its numbers, and sees only
// those ids.
type Deliveries struct {
	Client   *ent.Client
	Replayer *Replayer
}

// Delivery is a stored delivery as a tenant sees it.
type Delivery struct {
	*ent.WebhookDelivery
	// PhoneNumberIDs are the tenant's ids among those the delivery names.
	PhoneNumberIDs []string
	// Foreign tells that the delivery also names numbers the tenant does not
	// have: its error, which may describe their items, is not shown.
	Foreign bool
}

// DeliveryFilter selects deliveries: by state, by number (one of the
// tenant's), or by id.
type DeliveryFilter struct {
	IDs      []string
	State    *webhookdelivery.State
	NumberID *string
	First    int
}

// phoneNumberIDs are the phone number ids of the viewer's verified numbers,
// or of the one filter names (NOT_FOUND when it is not theirs): an id the
// tenant has not proven is not theirs to read or replay.
func (s *Deliveries) phoneNumberIDs(ctx context.Context, numberID *string) ([]string, error) {
	q := s.Client.Number.Query().Where(number.PhoneNumberIDNotNil(), number.PhoneNumberIDNEQ(""), number.VerifiedAtNotNil())
	if numberID != nil {
		n, err := s.Client.Number.Get(ctx, *numberID)
		if err != nil {
			return nil, err
		}
		if n.PhoneNumberID == nil || n.VerifiedAt == nil {
			return nil, nil
		}
		return []string{*n.PhoneNumberID}, nil
	}
	var ids []string
	return ids, q.Select(number.FieldPhoneNumberID).Scan(ctx, &ids)
}

// List returns the deliveries of f that name the viewer's numbers, newest
// first.
func (s *Deliveries) List(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	own, err := s.phoneNumberIDs(ctx, f.NumberID)
	if err != nil {
		return nil, err
	}
	return s.list(ctx, s.Client, own, f)
}

func (s *Deliveries) list(ctx context.Context, client *ent.Client, own []string, f DeliveryFilter) ([]Delivery, error) {
	q := client.WebhookDelivery.Query().Where(NamingAny(own))
	if f.State != nil {
		q.Where(webhookdelivery.StateEQ(*f.State))
	}
	if len(f.IDs) > 0 {
		q.Where(webhookdelivery.IDIn(f.IDs...))
	}
	limit := f.First
	if limit <= 0 || limit > MaxReplay {
		limit = MaxReplay
	}
	rows, err := q.Order(ent.Desc(webhookdelivery.FieldCreatedAt), ent.Desc(webhookdelivery.FieldID)).Limit(limit).
		All(viewer.Platform(ctx))
	if err != nil {
		return nil, err
	}
	out := make([]Delivery, len(rows))
	for i, d := range rows {
		out[i] = Delivery{WebhookDelivery: d}
		for _, id := range d.PhoneNumberIds {
			if slices.Contains(own, id) {
				if !slices.Contains(out[i].PhoneNumberIDs, id) {
					out[i].PhoneNumberIDs = append(out[i].PhoneNumberIDs, id)
				}
			} else {
				out[i].Foreign = true
			}
		}
	}
	return out, nil
}

// Replay processes again the deliveries of f that name the viewer's numbers
// (at most MaxReplay), recorded in the audit log, and returns them as
// scheduled. Ids that are not the viewer's are NOT_FOUND.
func (s *Deliveries) Replay(ctx context.Context, f DeliveryFilter) ([]Delivery, error) {
	if len(f.IDs) == 0 && f.State == nil && f.NumberID == nil {
		return nil, apperr.New(apperr.InvalidInput, "replay: give ids, a state or a number")
	}
	if len(f.IDs) > MaxReplay {
		return nil, apperr.New(apperr.InvalidInput, "replay: at most %d deliveries at once", MaxReplay)
	}
	own, err := s.phoneNumberIDs(ctx, f.NumberID)
	if err != nil {
		return nil, err
	}
	var found []Delivery
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Tx) error {
		f.First = MaxReplay
		found, err = s.list(ctx, tx.Client(), own, f)
		if err != nil {
			return err
		}
		for _, id := range f.IDs {
			if !slices.ContainsFunc(found, func(d Delivery) bool { return d.ID == id }) {
				return apperr.New(apperr.NotFound, "a delivery was not found among those naming your numbers")
			}
		}
		if len(found) == 0 {
			audit.Unchanged(ctx)
			return nil
		}
		ids := make([]string, len(found))
		for i, d := range found {
			ids[i] = d.ID
		}
		if err := s.Replayer.Replay(ctx, tx, ids); err != nil {
			return err
		}
		for i := range found {
			found[i].State, found[i].Attempts, found[i].Error, found[i].ProcessedAt = webhookdelivery.StateRECEIVED, 0, "", nil
		}
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionDeliveriesReplayed, Summary: fmt.Sprintf("replayed %d webhook deliveries", len(ids)),
			After: ids,
		})
	})
	return found, err
}
