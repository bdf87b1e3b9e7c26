// Package number links the tenant's WhatsApp business numbers.
package number

import (
	"context"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/store"
)

// Service links, changes and unlinks numbers.
type Service struct {
	client *ent.Client
}

// NewService returns a Service over client.
func NewService(client *ent.Client) *Service {
	return &Service{client: client}
}

// Link adds a number to the tenant. Linking a phone that was unlinked before
// brings that number back, with its history.
func (s *Service) Link(ctx context.Context, in ent.CreateNumberInput) (*ent.Number, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		old, err := tx.Number.Query().Where(number.Phone(in.Phone)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			return tx.Number.Create().SetInput(in).Save(ctx)
		case err != nil:
			return nil, err
		case old.UnlinkedAt == nil:
			return nil, apperr.New(apperr.Conflict, "%s is already linked as %s", in.Phone, old.ID)
		}
		return old.Update().
			SetDisplayName(in.DisplayName).
			SetNillableProvider(in.Provider).
			SetNillableWabaID(in.WabaID).
			SetNillablePhoneNumberID(in.PhoneNumberID).
			SetNillableThroughput(in.Throughput).
			AddMemberIDs(in.MemberIDs...).
			ClearUnlinkedAt().
			SetStatus(number.StatusCONNECTING).
			Save(ctx)
	})
}

// Unlink stops a number from sending and receiving. Its conversations and
// messages stay; its provider id is released so webhooks no longer route to it.
// Unlinking twice is harmless.
func (s *Service) Unlink(ctx context.Context, id string) (*ent.Number, error) {
	n, err := s.client.Number.Get(ctx, id)
	if err != nil || n.UnlinkedAt != nil {
		return n, err
	}
	return n.Update().
		SetUnlinkedAt(time.Now()).
		SetStatus(number.StatusDISCONNECTED).
		ClearPhoneNumberID().
		ClearCredentials().
		Save(ctx)
}
