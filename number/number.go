// Package number links the tenant's WhatsApp business numbers.
package number

import (
	"context"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Service links, changes and unlinks numbers.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	box    *credential.Box
}

// NewService returns a Service over client that publishes status changes with
// pub and seals credentials with box.
func NewService(client *ent.Client, pub *realtime.Publisher, box *credential.Box) *Service {
	return &Service{client: client, pub: pub, box: box}
}

// SetCredentials stores a number's access token, sealed; a number flagged
// for its token is no longer.
func (s *Service) SetCredentials(ctx context.Context, id, accessToken string) (*ent.Number, error) {
	accessToken = strings.TrimSpace(accessToken)
	if accessToken == "" {
		return nil, apperr.Invalid("accessToken", "the access token is empty")
	}
	if s.box == nil {
		return nil, apperr.New(apperr.Internal, "credentials cannot be stored: no key")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		n, err := tx.Number.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		sealed, err := s.box.Seal(credential.Credentials{AccessToken: accessToken}, n.ID)
		if err != nil {
			return nil, err
		}
		s.statusChanged(ctx, tx, n.ID)
		return n.Update().SetCredentials(sealed).ClearAttention().Save(ctx)
	})
}

func (s *Service) statusChanged(ctx context.Context, tx *ent.Tx, id string) {
	s.pub.OnCommit(tx, realtime.Event{
		TenantID: viewer.FromContext(ctx).TenantID, Type: realtime.NumberStatusChanged, Subject: id,
		Data: realtime.Kinded(realtime.KindUpdated),
	})
}

// Link adds a number to the tenant. Linking a phone that was unlinked before
// brings that number back, with its history.
func (s *Service) Link(ctx context.Context, in ent.CreateNumberInput) (*ent.Number, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		old, err := tx.Number.Query().Where(number.Phone(in.Phone)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			n, err := tx.Number.Create().SetInput(in).Save(ctx)
			if err == nil {
				s.statusChanged(ctx, tx, n.ID)
			}
			return n, err
		case err != nil:
			return nil, err
		case old.UnlinkedAt == nil:
			return nil, apperr.New(apperr.Conflict, "%s is already linked as %s", in.Phone, old.ID)
		}
		s.statusChanged(ctx, tx, old.ID)
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
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		n, err := tx.Number.Get(ctx, id)
		if err != nil || n.UnlinkedAt != nil {
			return n, err
		}
		s.statusChanged(ctx, tx, id)
		return n.Update().
			SetUnlinkedAt(time.Now()).
			SetStatus(number.StatusDISCONNECTED).
			ClearPhoneNumberID().
			ClearCredentials().
			Save(ctx)
	})
}
