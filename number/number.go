// Package number links the tenant's WhatsApp business numbers.
package number

import (
	"bytes"
	"context"
	"errors"
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

// Service links, changes and unlinks numbers, and verifies them: a number
// receives webhooks only once the provider has shown that its access token
// reads its phone number id and knows it under its phone (verified_at), so
// that no tenant receives another's traffic by linking its id first.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	box    *credential.Box
	clock  clock.Clock

	// Prove, when set, asks n's provider whether token reads n's phone
	// number id under n's phone (connector.Providers.Proves). An error: the
	// provider could not be asked, which proves nothing either way.
	Prove func(ctx context.Context, n *ent.Number, token string) (bool, error)

	// Linked, when set, is told inside the transaction that verifies a
	// number: the connector replays the webhooks that arrived for its phone
	// number id before (they were UNROUTED).
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

// errUnproven answers every access token that does not verify its number: a
// token the provider refuses, one that reads another phone, and a phone
// number id another tenant verified first. One answer for all, so that it
// tells nothing of another tenant.
var errUnproven = apperr.Invalid("accessToken",
	"the provider did not confirm that this access token reads the number's phone number id under its phone")

// SetCredentials verifies accessToken with the provider and stores it,
// sealed: the token must read the number's phone number id, under the
// number's phone, and no other number may have verified that id first. A
// number flagged for its token is no longer; a number verified for the first
// time gets the webhooks kept for its id.
func (s *Service) SetCredentials(ctx context.Context, id, accessToken string) (*ent.Number, error) {
	accessToken = strings.TrimSpace(accessToken)
	if accessToken == "" {
		return nil, apperr.Invalid("accessToken", "the access token is empty")
	}
	if s.box == nil {
		return nil, apperr.New(apperr.Internal, "credentials cannot be stored: no key")
	}
	asked, err := s.client.Number.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	if asked.PhoneNumberID == nil || *asked.PhoneNumberID == "" {
		return nil, apperr.Invalid("id", "the number has no phone number id for the provider to confirm: set phoneNumberID first")
	}
	if s.Prove == nil {
		return nil, errors.New("numbers cannot be verified: no provider")
	}
	proven, err := s.Prove(ctx, asked, accessToken)
	if err != nil {
		return nil, fmt.Errorf("verify %s with its provider: %w", asked.ID, err)
	}
	if !proven {
		return nil, errUnproven
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Number, error) {
		n, err := tx.Number.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if !sameClaim(n, asked) {
			return nil, errUnproven // changed while the provider was asked
		}
		sealed, err := s.box.Seal(credential.Credentials{AccessToken: accessToken}, n.ID)
		if err != nil {
			return nil, err
		}
		s.statusChanged(ctx, tx, n.ID)
		if n, err = s.claim(ctx, tx, n, n.Update().SetCredentials(sealed).ClearAttention()); err != nil {
			return nil, err
		}
		// The token itself is never digested: a digest of a short secret
		// can be tested against guesses.
		return n, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionCredentialsSet, TargetID: n.ID,
			Summary: "set the access token of " + n.DisplayName + ", confirmed by the provider",
		})
	})
}

// Proven marks n verified once its stored access token has read its phone
// number id under its phone (the periodic health read): numbers linked
// before verification existed, or given another id after their token was
// stored. n is the row as it was read before the provider was asked; if it
// changed since, or another number verified the id first, n stays
// unverified (errUnproven).
func (s *Service) Proven(ctx context.Context, n *ent.Number) error {
	ctx = viewer.System(ctx, n.TenantID)
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		cur, err := tx.Number.Get(ctx, n.ID)
		if err != nil {
			return err
		}
		if cur.VerifiedAt != nil {
			return nil
		}
		if !sameClaim(cur, n) || !bytes.Equal(cur.Credentials, n.Credentials) || cur.UnlinkedAt != nil {
			return errUnproven
		}
		if cur, err = s.claim(ctx, tx, cur, cur.Update()); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionNumberVerified, TargetID: cur.ID,
			Summary: fmt.Sprintf("the provider confirmed the phone number id of %s (%s)", cur.Phone, cur.DisplayName),
		})
	})
}

// claim saves u, an update of n, marking n verified unless another number
// verified n's phone number id first: that is errUnproven, the very answer
// of a token the provider refused. A number verified for the first time gets
// the webhooks kept for its id.
func (s *Service) claim(ctx context.Context, tx *ent.Tx, n *ent.Number, u *ent.NumberUpdateOne) (*ent.Number, error) {
	taken, err := tx.Number.Query().
		Where(number.PhoneNumberID(*n.PhoneNumberID), number.VerifiedAtNotNil(), number.IDNEQ(n.ID)).
		Exist(viewer.Platform(ctx))
	if err != nil {
		return nil, err
	}
	if taken {
		return nil, errUnproven
	}
	first := n.VerifiedAt == nil
	if first {
		u.SetVerifiedAt(s.clock.Now())
	}
	n, err = u.Save(ctx)
	if ent.IsConstraintError(err) {
		return nil, errUnproven // another tenant verified it meanwhile
	}
	if err != nil {
		return nil, err
	}
	if first {
		if err := s.linked(ctx, tx, n); err != nil {
			return nil, err
		}
	}
	return n, nil
}

// claimed is n as in would leave it, as far as sameClaim looks.
func claimed(n *ent.Number, in ent.UpdateNumberInput) *ent.Number {
	after := *n
	if in.Phone != nil {
		after.Phone = *in.Phone
	}
	if in.Provider != nil {
		after.Provider = *in.Provider
	}
	if in.ClearPhoneNumberID {
		after.PhoneNumberID = nil
	}
	if in.PhoneNumberID != nil {
		after.PhoneNumberID = in.PhoneNumberID
	}
	if in.ClearWabaID {
		after.WabaID = ""
	}
	if in.WabaID != nil {
		after.WabaID = *in.WabaID
	}
	return &after
}

// sameClaim tells whether a and b claim the same number: what a proof
// covers (phone, provider, business account, phone number id). Changing any
// of it makes a verified number unverified.
func sameClaim(a, b *ent.Number) bool {
	return a.Phone == b.Phone && a.Provider == b.Provider && a.WabaID == b.WabaID &&
		(a.PhoneNumberID == nil) == (b.PhoneNumberID == nil) &&
		(a.PhoneNumberID == nil || *a.PhoneNumberID == *b.PhoneNumberID)
}

func (s *Service) statusChanged(ctx context.Context, tx *ent.Tx, id string) {
	s.pub.OnCommit(tx, realtime.NumberEvent(viewer.FromContext(ctx).TenantID, id))
}

// Link adds a number to the tenant, unverified: it receives nothing until
// SetCredentials proves it. A phone number id another tenant uses is linked
// like any other (no CONFLICT tells that it exists elsewhere). Linking a
// phone that was unlinked before brings that number back, with its history.
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
				SetNillableGroupMode(in.GroupMode).
				AddMemberIDs(in.MemberIDs...).
				ClearUnlinkedAt().
				SetStatus(number.StatusCONNECTING).
				Save(ctx)
		}
		if err != nil {
			return nil, err
		}
		if err := checkGroupMode(n); err != nil {
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
		before, err := tx.Number.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		u := before.Update().SetInput(in)
		if before.VerifiedAt != nil && !sameClaim(before, claimed(before, in)) {
			// Another number now: its token must prove it again. Unverified
			// in the same statement, so that an id verified elsewhere meets
			// no unique index (whose CONFLICT would tell it exists).
			u.ClearVerifiedAt()
		}
		n, err := u.Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := checkGroupMode(n); err != nil {
			return nil, err
		}
		slices.Sort(moved)
		for _, agentID := range slices.Compact(moved) {
			s.pub.OnCommit(tx, realtime.AgentEvent(n.TenantID, agentID))
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
			ClearVerifiedAt().
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

// checkGroupMode refuses groups "like the phone app" on a real number: no
// official API gives them, only the simulator plays them.
func checkGroupMode(n *ent.Number) error {
	if n.GroupMode == number.GroupModeAPP && n.Provider != number.ProviderSim {
		return apperr.Invalid("groupMode", "APP groups are a simulator mode: a cloud number's groups are the Cloud API's")
	}
	return nil
}
