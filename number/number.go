// Package number links the tenant's WhatsApp business numbers.
package number

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
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
	clock  clock.Clock

	// Linked, when set, is told inside the transaction that links a number
	// or gives it a phone number id: the connector replays the webhooks that
	// arrived for that id before (they were UNROUTED).
	Linked func(ctx context.Context, tx *ent.Tx, phoneNumberID string) error
}

func (s *Service) linked(ctx context.Context, tx *ent.Tx, n *ent.Number) error {
	if s.Linked == nil || n.PhoneNumberID == nil || *n.PhoneNumberID == "" {
		return nil
	}
	return s.Linked(ctx, tx, *n.PhoneNumberID)
}

// NewService returns a Service over client that publishes status changes with
// pub, seals credentials with box and reads the time from clk.
func NewService(client *ent.Client, pub *realtime.Publisher, box *credential.Box, clk clock.Clock) *Service {
	return &Service{client: client, pub: pub, box: box, clock: clk}
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
		if n, err = n.Update().SetCredentials(sealed).ClearAttention().Save(ctx); err != nil {
			return nil, err
		}
		// The token itself is never digested: a digest of a short secret
		// can be tested against guesses.
		return n, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionCredentialsSet, TargetID: n.ID, Summary: "set the access token of " + n.DisplayName,
		})
	})
}

func (s *Service) statusChanged(ctx context.Context, tx *ent.Tx, id string) {
	s.pub.OnCommit(tx, realtime.NumberEvent(viewer.FromContext(ctx).TenantID, id))
}

// Link adds a number to the tenant. Linking a phone that was unlinked before
// brings that number back, with its history.
func (s *Service) Link(ctx context.Context, in ent.CreateNumberInput) (*ent.Number, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		old, err := tx.Number.Query().Where(number.Phone(in.Phone)).Only(ctx)
		var n *ent.Number
		switch {
		case ent.IsNotFound(err):
			n, err = tx.Number.Create().SetInput(in).Save(ctx)
		case err != nil:
			return nil, err
		case old.UnlinkedAt == nil:
			return nil, apperr.New(apperr.Conflict, "%s is already linked as %s", in.Phone, old.ID)
		default:
			n, err = old.Update().
				SetDisplayName(in.DisplayName).
				SetNillableProvider(in.Provider).
				SetNillableWabaID(in.WabaID).
				SetNillablePhoneNumberID(in.PhoneNumberID).
				SetNillableThroughput(in.Throughput).
				AddMemberIDs(in.MemberIDs...).
				ClearUnlinkedAt().
				SetStatus(number.StatusCONNECTING).
				Save(ctx)
		}
		if err != nil {
			return nil, err
		}
		if err := s.linked(ctx, tx, n); err != nil {
			return nil, err
		}
		s.statusChanged(ctx, tx, n.ID)
		return n, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionNumberLinked, TargetID: n.ID, Summary: fmt.Sprintf("linked %s (%s)", n.Phone, n.DisplayName),
			After: in,
		})
	})
}

// Update changes a number: its provider ids, its throughput, who may use it.
func (s *Service) Update(ctx context.Context, id string, in ent.UpdateNumberInput) (*ent.Number, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		// Who joins or leaves the number: they see other conversations now,
		// and routing may now (or no longer) give them the number's.
		moved := append(slices.Clone(in.AddMemberIDs), in.RemoveMemberIDs...)
		if in.ClearMembers {
			before, err := tx.Number.Query().Where(number.ID(id)).QueryMembers().IDs(ctx)
			if err != nil {
				return nil, err
			}
			moved = append(moved, before...)
		}
		n, err := tx.Number.UpdateOneID(id).SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		slices.Sort(moved)
		for _, agentID := range slices.Compact(moved) {
			s.pub.OnCommit(tx, realtime.AgentEvent(n.TenantID, agentID))
		}
		if in.PhoneNumberID != nil {
			if err := s.linked(ctx, tx, n); err != nil {
				return nil, err
			}
		}
		return n, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionNumberUpdated, TargetID: n.ID, Summary: fmt.Sprintf("updated %s (%s)", n.Phone, n.DisplayName),
			After: in,
		})
	})
}

// Unlink stops a number from sending and receiving. Its conversations and
// messages stay; its provider id is released so webhooks no longer route to it.
// Unlinking twice is harmless.
func (s *Service) Unlink(ctx context.Context, id string) (*ent.Number, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		n, err := tx.Number.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if n.UnlinkedAt != nil {
			audit.Unchanged(ctx)
			return n, nil
		}
		s.statusChanged(ctx, tx, id)
		n, err = n.Update().
			SetUnlinkedAt(s.clock.Now()).
			SetStatus(number.StatusDISCONNECTED).
			ClearPhoneNumberID().
			ClearCredentials().
			Save(ctx)
		if err != nil {
			return nil, err
		}
		return n, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionNumberUnlinked, TargetID: n.ID, Summary: fmt.Sprintf("unlinked %s (%s)", n.Phone, n.DisplayName),
		})
	})
}
