// Package group runs the tenant's WhatsApp groups: their settings and members.
package group

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Service changes groups and their members.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
}

// NewService returns a Service over client that publishes changes with pub.
func NewService(client *ent.Client, pub *realtime.Publisher) *Service {
	return &Service{client: client, pub: pub}
}

func (s *Service) changed(ctx context.Context, tx *ent.Tx, id, kind string) {
	s.pub.OnCommit(tx, realtime.GroupEvent(viewer.FromContext(ctx).TenantID, id, kind))
}

// Member is a participant to add.
type Member struct {
	WaID string
	Name string
	Role groupmember.Role
}

// Create makes a group on one of the tenant's numbers.
func (s *Service) Create(ctx context.Context, in ent.CreateGroupInput) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Create().SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupCreated, TargetID: g.ID, Summary: "created group " + g.Subject, After: in})
	})
}

// Update changes a group's subject, description, icon or settings. The member
// limit cannot drop below the current number of members.
func (s *Service) Update(ctx context.Context, id string, in ent.UpdateGroupInput) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		if in.MemberLimit != nil {
			n, err := tx.GroupMember.Query().Where(groupmember.GroupID(id)).Count(ctx)
			if err != nil {
				return nil, err
			}
			if *in.MemberLimit < n {
				return nil, apperr.Invalid("memberLimit", "the group already has %d members", n)
			}
		}
		s.changed(ctx, tx, id, realtime.KindUpdated)
		g, err := tx.Group.UpdateOneID(id).SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupUpdated, TargetID: g.ID, Summary: "updated group " + g.Subject, After: in})
	})
}

// AddMembers adds participants; ones already in the group are left as they
// are. Adding past the member limit is refused as a whole.
func (s *Service) AddMembers(ctx context.Context, groupID string, members []Member) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		// Touching the group first locks its row on Postgres (SQLite's
		// immediate transactions already serialise writers), so two concurrent
		// additions cannot both pass the member limit.
		g, err := tx.Group.UpdateOneID(groupID).SetUpdatedAt(time.Now()).Save(ctx)
		if err != nil {
			return nil, err
		}
		existing, err := tx.GroupMember.Query().Where(groupmember.GroupID(groupID)).Select(groupmember.FieldWaID).Strings(ctx)
		if err != nil {
			return nil, err
		}
		have := make(map[string]bool, len(existing))
		for _, w := range existing {
			have[w] = true
		}
		creates := make([]*ent.GroupMemberCreate, 0, len(members))
		for _, m := range members {
			wa := strings.TrimPrefix(strings.TrimSpace(m.WaID), "+")
			if !validWaID(wa) {
				return nil, apperr.Invalid("members", "%q is not a WhatsApp id (digits only)", m.WaID)
			}
			if m.Role == groupmember.RoleCREATOR {
				return nil, apperr.Invalid("members", "a group has one creator, set when it is created")
			}
			if have[wa] {
				continue
			}
			have[wa] = true
			role := m.Role
			if role == "" {
				role = groupmember.RoleMEMBER
			}
			creates = append(creates, tx.GroupMember.Create().SetGroupID(groupID).SetWaID(wa).SetName(m.Name).SetRole(role))
		}
		if len(existing)+len(creates) > g.MemberLimit {
			return nil, apperr.Invalid("members", "the group is limited to %d members", g.MemberLimit)
		}
		if len(creates) == 0 {
			audit.Unchanged(ctx)
			return g, nil
		}
		s.changed(ctx, tx, groupID, realtime.KindAdded)
		if err := tx.GroupMember.CreateBulk(creates...).Exec(ctx); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMembersAdded, TargetID: g.ID, Summary: fmt.Sprintf("added %d members to %s", len(creates), g.Subject),
			After: members,
		})
	})
}

// RemoveMembers removes participants. The creator cannot be removed.
func (s *Service) RemoveMembers(ctx context.Context, groupID string, waIDs []string) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Get(ctx, groupID)
		if err != nil {
			return nil, err
		}
		creator, err := tx.GroupMember.Query().
			Where(groupmember.GroupID(groupID), groupmember.WaIDIn(waIDs...), groupmember.RoleEQ(groupmember.RoleCREATOR)).
			Exist(ctx)
		if err != nil {
			return nil, err
		}
		if creator {
			return nil, apperr.Invalid("waIDs", "the creator cannot be removed from the group")
		}
		n, err := tx.GroupMember.Delete().Where(groupmember.GroupID(groupID), groupmember.WaIDIn(waIDs...)).Exec(ctx)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			audit.Unchanged(ctx)
			return g, nil
		}
		s.changed(ctx, tx, groupID, realtime.KindDeleted)
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMembersRemoved, TargetID: g.ID, Summary: fmt.Sprintf("removed %d members from %s", n, g.Subject),
			Before: waIDs,
		})
	})
}

// SetMemberRole promotes a member to admin or demotes an admin. The creator's
// role does not change.
func (s *Service) SetMemberRole(ctx context.Context, groupID, waID string, role groupmember.Role) (*ent.GroupMember, error) {
	if role == groupmember.RoleCREATOR {
		return nil, apperr.Invalid("role", "a group has one creator, set when it is created")
	}
	m, err := s.client.GroupMember.Query().
		Where(groupmember.GroupID(groupID), groupmember.WaID(waID)).
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "no member %s in this group", waID)
	}
	if err != nil {
		return nil, err
	}
	if m.Role == groupmember.RoleCREATOR {
		return nil, apperr.Invalid("waID", "the creator's role cannot change")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.GroupMember, error) {
		s.changed(ctx, tx, groupID, realtime.KindUpdated)
		m, err := tx.GroupMember.UpdateOne(m).SetRole(role).Save(ctx)
		if err != nil {
			return nil, err
		}
		return m, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMemberRoleSet, TargetID: groupID, Summary: fmt.Sprintf("made a member %s", role),
			After: map[string]string{"waID": m.WaID, "role": string(role)},
		})
	})
}

func validWaID(s string) bool {
	if len(s) < 6 || len(s) > 20 {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}
