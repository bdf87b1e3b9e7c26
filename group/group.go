// Package group runs the tenant's WhatsApp groups: their settings, members,
// admins and join requests, and the rules the platform enforces for its
// agents on top of what the provider allows. Changes at the provider go
// through durable jobs (whatsapp/connector.GroupOps) and are confirmed by
// its webhooks; what the number's transport cannot do is refused first
// (capabilities.go), before anything is stored.
package group

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupjoinrequest"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// Service changes groups and their members.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	jobs   *job.Client // runs changes at the provider; nil keeps them here (tools)
	clock  clock.Clock
}

// NewService returns a Service over client that publishes changes with pub
// and hands the provider's part to jobs.
func NewService(client *ent.Client, pub *realtime.Publisher, jobs *job.Client, clk clock.Clock) *Service {
	return &Service{client: client, pub: pub, jobs: jobs, clock: clk}
}

func (s *Service) changed(ctx context.Context, tx *ent.Tx, id, kind string) {
	s.pub.OnCommit(tx, realtime.GroupEvent(viewer.FromContext(ctx).TenantID, id, kind))
}

// enqueue schedules a change at the provider in tx: it exists if and only
// if tx commits.
func (s *Service) enqueue(ctx context.Context, tx *ent.Tx, args river.JobArgs) error {
	if s.jobs == nil {
		return nil
	}
	stx, err := tx.SQLTx()
	if err != nil {
		return err
	}
	_, err = s.jobs.InsertTx(ctx, stx, args, nil)
	return err
}

func (s *Service) op(ctx context.Context, tx *ent.Tx, g *ent.Group, a connector.GroupOpArgs) error {
	a.TenantID, a.GroupID = g.TenantID, g.ID
	return s.enqueue(ctx, tx, a)
}

// Member is a participant to add.
type Member struct {
	WaID string
	Name string
	Role groupmember.Role
}

// capabilities loads what the transport of number numberID can do.
func (s *Service) capabilities(ctx context.Context, numberID string) (Capabilities, error) {
	n, err := s.client.Number.Get(ctx, numberID)
	if err != nil {
		return Capabilities{}, err
	}
	return CapabilitiesOf(n), nil
}

func fullReason(c Capabilities) string {
	if c.Transport == cloudAPI.Transport {
		return reasonCloudFull
	}
	return fmt.Sprintf("the transport caps a group at %d participants", c.MaxParticipants)
}

// Create makes a group on one of the tenant's numbers and asks the
// provider for it; the group is CREATING until the provider's webhook
// gives its id and invite link. The agent who creates it is its first admin.
func (s *Service) Create(ctx context.Context, in ent.CreateGroupInput) (*ent.Group, error) {
	caps, err := s.capabilities(ctx, in.NumberID)
	if err != nil {
		return nil, err
	}
	if in.MemberLimit != nil && *in.MemberLimit > caps.MaxParticipants {
		return nil, Unsupported(fullReason(caps))
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		create := tx.Group.Create().SetInput(in).SetState(entgroup.StateCREATING)
		if in.MemberLimit == nil {
			create.SetMemberLimit(caps.MaxParticipants)
		}
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			create.AddAdminIDs(v.AgentID)
		}
		g, err := create.Save(ctx)
		if err != nil {
			return nil, err
		}
		s.changed(ctx, tx, g.ID, realtime.KindCreated)
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpCreate}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupCreated, TargetID: g.ID, Summary: "created group " + g.Subject, After: in})
	})
}

// Update changes a group's subject, description, icon or settings. Subject
// and description go to the provider. Who may edit info is the group's
// editInfo; its settings only its admins change. The member limit cannot
// drop below the current members nor pass the transport's cap.
func (s *Service) Update(ctx context.Context, id string, in ent.UpdateGroupInput) (*ent.Group, error) {
	g, err := s.client.Group.Get(ctx, id)
	if err != nil {
		return nil, err
	}
	caps, err := s.capabilities(ctx, g.NumberID)
	if err != nil {
		return nil, err
	}
	if in.MemberLimit != nil && *in.MemberLimit > caps.MaxParticipants {
		return nil, Unsupported(fullReason(caps))
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		info := in.Subject != nil || in.Description != nil || in.ClearDescription || in.IconURL != nil || in.ClearIconURL
		settings := in.SendMessages != nil || in.EditInfo != nil || in.AddMembers != nil || in.JoinApproval != nil ||
			in.MembersReplyToAdminsOnly != nil || in.MemberLimit != nil
		if info {
			if err := mayAct(ctx, tx, g, g.EditInfo, "edit the group's info"); err != nil {
				return nil, err
			}
		}
		if settings {
			if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "change the group's settings"); err != nil {
				return nil, err
			}
		}
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
		updated, err := tx.Group.UpdateOneID(id).SetInput(in).Save(ctx)
		if err != nil {
			return nil, err
		}
		a := connector.GroupOpArgs{Op: connector.GroupOpUpdate}
		if updated.Subject != g.Subject {
			a.Subject = &updated.Subject
		}
		if updated.Description != g.Description {
			a.Description = &updated.Description
		}
		if a.Subject != nil || a.Description != nil {
			if err := s.op(ctx, tx, updated, a); err != nil {
				return nil, err
			}
		}
		return updated, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupUpdated, TargetID: g.ID, Summary: "updated group " + updated.Subject, After: in})
	})
}

// Delete deletes the group at the provider; it is DELETED when the
// provider confirms. Only the group's admins delete it.
func (s *Service) Delete(ctx context.Context, id string) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "delete the group"); err != nil {
			return nil, err
		}
		if g.State == entgroup.StateDELETED || g.State == entgroup.StateDELETING {
			audit.Unchanged(ctx)
			return g, nil
		}
		if g, err = g.Update().SetState(entgroup.StateDELETING).Save(ctx); err != nil {
			return nil, err
		}
		s.changed(ctx, tx, id, realtime.KindStatusChanged)
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpDelete}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupDeleted, TargetID: g.ID, Summary: "deleted group " + g.Subject})
	})
}

// ResetInviteLink asks the provider for a new invite link; the old one
// stops working. Whoever may approve joins may do it.
func (s *Service) ResetInviteLink(ctx context.Context, id string) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, g.AddMembers, "reset the invite link"); err != nil {
			return nil, err
		}
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpResetLink}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{Action: audit.ActionGroupInviteReset, TargetID: g.ID, Summary: "reset the invite link of " + g.Subject})
	})
}

// AddMembers adds participants by number, where the transport can (the
// Cloud API cannot: members join by invite link). They appear when the
// provider confirms. Adding past the member limit is refused as a whole.
func (s *Service) AddMembers(ctx context.Context, groupID string, members []Member) (*ent.Group, error) {
	g, err := s.client.Group.Get(ctx, groupID)
	if err != nil {
		return nil, err
	}
	caps, err := s.capabilities(ctx, g.NumberID)
	if err != nil {
		return nil, err
	}
	if !caps.CanAddMembers {
		return nil, Unsupported(reasonCloudAdd)
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		// Touching the group first locks its row on Postgres (SQLite's
		// immediate transactions already serialise writers), so two concurrent
		// additions cannot both pass the member limit.
		g, err := tx.Group.UpdateOneID(groupID).SetUpdatedAt(time.Now()).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, g.AddMembers, "add members"); err != nil {
			return nil, err
		}
		existing, err := tx.GroupMember.Query().Where(groupmember.GroupID(groupID)).Select(groupmember.FieldWaID).Strings(ctx)
		if err != nil {
			return nil, err
		}
		var add []string
		for _, m := range members {
			wa := strings.TrimPrefix(strings.TrimSpace(m.WaID), "+")
			if !validWaID(wa) {
				return nil, apperr.Invalid("members", "%q is not a WhatsApp id (digits only)", m.WaID)
			}
			if m.Role == groupmember.RoleCREATOR {
				return nil, apperr.Invalid("members", "a group has one creator, set when it is created")
			}
			if !slices.Contains(existing, wa) && !slices.Contains(add, wa) {
				add = append(add, wa)
			}
		}
		if err := checkRoom(caps, g, len(existing)+len(add)); err != nil {
			return nil, err
		}
		if len(add) == 0 {
			audit.Unchanged(ctx)
			return g, nil
		}
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpAddMembers, WaIDs: add}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMembersAdded, TargetID: g.ID, Summary: fmt.Sprintf("added %d members to %s", len(add), g.Subject),
			After: members,
		})
	})
}

// checkRoom refuses n participants past the transport's cap
// (UNSUPPORTED_BY_PROVIDER) or the group's own limit (INVALID_INPUT).
func checkRoom(caps Capabilities, g *ent.Group, n int) error {
	if n > caps.MaxParticipants {
		return Unsupported(fullReason(caps))
	}
	if n > g.MemberLimit {
		return apperr.Invalid("members", "the group is limited to %d members", g.MemberLimit)
	}
	return nil
}

// RemoveMembers removes participants at the provider; they leave the
// group here when it confirms. The creator cannot be removed.
func (s *Service) RemoveMembers(ctx context.Context, groupID string, waIDs []string) (*ent.Group, error) {
	g, err := s.client.Group.Get(ctx, groupID)
	if err != nil {
		return nil, err
	}
	caps, err := s.capabilities(ctx, g.NumberID)
	if err != nil {
		return nil, err
	}
	if !caps.CanRemoveMembers {
		return nil, Unsupported("the transport cannot remove participants")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.Get(ctx, groupID)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, g.AddMembers, "remove members"); err != nil {
			return nil, err
		}
		members, err := tx.GroupMember.Query().Where(groupmember.GroupID(groupID), groupmember.WaIDIn(waIDs...)).All(ctx)
		if err != nil {
			return nil, err
		}
		var remove []string
		for _, m := range members {
			if m.Role == groupmember.RoleCREATOR {
				return nil, apperr.Invalid("waIDs", "the creator cannot be removed from the group")
			}
			remove = append(remove, m.WaID)
		}
		if len(remove) == 0 {
			audit.Unchanged(ctx)
			return g, nil
		}
		if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: connector.GroupOpRemove, WaIDs: remove}); err != nil {
			return nil, err
		}
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMembersRemoved, TargetID: g.ID, Summary: fmt.Sprintf("removed %d members from %s", len(remove), g.Subject),
			Before: remove,
		})
	})
}

// SetMemberRole promotes a member to admin or demotes an admin, where the
// transport can. The creator's role does not change; the tenant's admin cap
// holds.
func (s *Service) SetMemberRole(ctx context.Context, groupID, waID string, role groupmember.Role) (*ent.GroupMember, error) {
	if role == groupmember.RoleCREATOR {
		return nil, apperr.Invalid("role", "a group has one creator, set when it is created")
	}
	g, err := s.client.Group.Get(ctx, groupID)
	if err != nil {
		return nil, err
	}
	caps, err := s.capabilities(ctx, g.NumberID)
	if err != nil {
		return nil, err
	}
	if !caps.CanPromoteAdmins {
		return nil, Unsupported(reasonCloudPromote)
	}
	m, err := s.client.GroupMember.Query().Where(groupmember.GroupID(groupID), groupmember.WaID(waID)).Only(ctx)
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
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "promote or demote members"); err != nil {
			return nil, err
		}
		if role == groupmember.RoleADMIN && m.Role != groupmember.RoleADMIN {
			if err := s.checkAdminCap(ctx, tx, g, 1); err != nil {
				return nil, err
			}
		}
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

// SetAdmins makes agentIDs the group's admins in the platform: they post
// in admins-only groups, edit info and decide join requests as the group's
// settings say. The tenant's admin cap counts them with participants who
// are admins.
func (s *Service) SetAdmins(ctx context.Context, groupID string, agentIDs []string) (*ent.Group, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Group, error) {
		g, err := tx.Group.UpdateOneID(groupID).SetUpdatedAt(time.Now()).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "choose the group's admins"); err != nil {
			return nil, err
		}
		slices.Sort(agentIDs)
		agentIDs = slices.Compact(agentIDs)
		found, err := tx.Agent.Query().Where(agent.IDIn(agentIDs...)).IDs(ctx)
		if err != nil {
			return nil, err
		}
		if len(found) != len(agentIDs) {
			return nil, apperr.New(apperr.NotFound, "agentIDs: not every agent exists")
		}
		current, err := g.QueryAdmins().IDs(ctx)
		if err != nil {
			return nil, err
		}
		slices.Sort(current)
		if slices.Equal(current, agentIDs) {
			audit.Unchanged(ctx)
			return g, nil
		}
		if err := s.checkAdminCap(ctx, tx, g, len(agentIDs)-len(current)); err != nil {
			return nil, err
		}
		if err := tx.Group.UpdateOne(g).ClearAdmins().AddAdminIDs(agentIDs...).Exec(ctx); err != nil {
			return nil, err
		}
		s.changed(ctx, tx, groupID, realtime.KindUpdated)
		return g, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupAdminsSet, TargetID: g.ID, Summary: fmt.Sprintf("%s has %d admin agents", g.Subject, len(agentIDs)),
			Before: current, After: agentIDs,
		})
	})
}

// checkAdminCap refuses more admins than the tenant allows per group.
func (s *Service) checkAdminCap(ctx context.Context, tx *ent.Tx, g *ent.Group, more int) error {
	t, err := tx.Tenant.Get(ctx, g.TenantID)
	if err != nil {
		return err
	}
	agents, err := g.QueryAdmins().Count(ctx)
	if err != nil {
		return err
	}
	members, err := tx.GroupMember.Query().Where(groupmember.GroupID(g.ID), groupmember.RoleEQ(groupmember.RoleADMIN)).Count(ctx)
	if err != nil {
		return err
	}
	if limit := t.Settings.GroupAdminCap(); agents+members+more > limit {
		return apperr.New(apperr.Conflict, "a group has at most %d admins in this tenant (setGroupAdminCap)", limit)
	}
	return nil
}

// Decide approves (or rejects) pending join requests, in bulk and across
// groups: each group's rule says who may (addMembers: everyone with the
// permission, or its admins); approvals past the transport's cap or the
// group's limit are refused as a whole, before anything is stored. The
// decision, who and when, is audited; the provider is asked by a job.
func (s *Service) Decide(ctx context.Context, ids []string, approve bool) ([]*ent.GroupJoinRequest, error) {
	if len(ids) == 0 {
		return nil, apperr.Invalid("ids", "no join request given")
	}
	reqs, err := s.client.GroupJoinRequest.Query().Where(groupjoinrequest.IDIn(ids...)).
		WithGroup(func(q *ent.GroupQuery) { q.WithNumber() }).All(ctx)
	if err != nil {
		return nil, err
	}
	if len(reqs) != len(slices.Compact(slices.Sorted(slices.Values(ids)))) {
		return nil, apperr.New(apperr.NotFound, "ids: not every join request exists")
	}
	byGroup := map[string][]*ent.GroupJoinRequest{}
	for _, r := range reqs {
		if r.Status != groupjoinrequest.StatusPENDING {
			return nil, apperr.New(apperr.Conflict, "join request %s is %s, not pending", r.ID, r.Status)
		}
		byGroup[r.GroupID] = append(byGroup[r.GroupID], r)
	}
	if approve {
		for _, rs := range byGroup {
			g := rs[0].Edges.Group
			n, err := s.client.GroupMember.Query().Where(groupmember.GroupID(g.ID)).Count(ctx)
			if err != nil {
				return nil, err
			}
			if err := checkRoom(CapabilitiesOf(g.Edges.Number), g, n+len(rs)); err != nil {
				return nil, err
			}
		}
	}
	status, op, action := groupjoinrequest.StatusREJECTED, connector.GroupOpReject, audit.ActionGroupJoinRejected
	if approve {
		status, op, action = groupjoinrequest.StatusAPPROVED, connector.GroupOpApprove, audit.ActionGroupJoinApproved
	}
	var out []*ent.GroupJoinRequest
	err = store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		v := viewer.FromContext(ctx)
		now := s.clock.Now()
		out = make([]*ent.GroupJoinRequest, 0, len(reqs))
		for gid, rs := range byGroup {
			g := rs[0].Edges.Group
			if err := mayAct(ctx, tx, g, g.AddMembers, "decide join requests"); err != nil {
				return err
			}
			var decided []string
			for _, r := range rs {
				u := tx.GroupJoinRequest.UpdateOneID(r.ID).Where(groupjoinrequest.StatusEQ(groupjoinrequest.StatusPENDING)).
					SetStatus(status).SetDecidedAt(now).SetError("")
				if v != nil && v.AgentID != "" {
					u.SetDecidedByID(v.AgentID)
				}
				id := r.ID
				r, err := u.Save(ctx)
				if ent.IsNotFound(err) {
					return apperr.New(apperr.Conflict, "join request %s was decided meanwhile", id)
				}
				if err != nil {
					return err
				}
				out = append(out, r)
				decided = append(decided, r.ID)
				s.pub.OnCommit(tx, realtime.GroupJoinEvent(g.TenantID, gid, r.ID, realtime.KindJoinDecided))
			}
			if err := s.op(ctx, tx, g, connector.GroupOpArgs{Op: op, JoinRequestIDs: decided}); err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.Event{
				Action: action, TargetID: gid, After: decided,
				Summary: fmt.Sprintf("%s %d join requests of %s", strings.ToLower(string(status)), len(decided), g.Subject),
			}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	for i, r := range out {
		out[i] = r.Unwrap()
	}
	return out, nil
}

// mayAct refuses the viewer when aud is ADMINS and they are not one of the
// group's admin agents. The system (jobs, seeds) acts for everyone.
func mayAct(ctx context.Context, tx *ent.Tx, g *ent.Group, aud schematype.Audience, what string) error {
	if aud != schematype.AudienceAdmins {
		return nil
	}
	ok, err := IsAdmin(ctx, tx, g.ID)
	if err != nil || ok {
		return err
	}
	return apperr.New(apperr.Forbidden, "only the group's admins may %s", what)
}

// IsAdmin tells whether the viewer is one of group groupID's admin agents;
// the system is.
func IsAdmin(ctx context.Context, tx *ent.Tx, groupID string) (bool, error) {
	v := viewer.FromContext(ctx)
	if v != nil && v.Kind == viewer.KindSystem {
		return true, nil
	}
	if v == nil || v.AgentID == "" {
		return false, nil
	}
	return isAdminAgent(ctx, tx, groupID, v.AgentID)
}

func isAdminAgent(ctx context.Context, tx *ent.Tx, groupID, agentID string) (bool, error) {
	return tx.Group.Query().Where(entgroup.ID(groupID), entgroup.HasAdminsWith(agent.ID(agentID))).Exist(ctx)
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
