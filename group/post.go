package group

import (
	"context"
	"fmt"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// CheckPost is the platform's rule for an agent posting in a group's
// conversation, checked in the sending transaction before the message is
// stored: the transport must send the kind to groups (no interactive
// messages on the Cloud API) and the group must be ACTIVE. Who posts is the
// group's sendMessages: ALL is every agent holding group.manage_members
// (and the group's admins), ADMINS ("admins-only posting") only its admin
// agents, except that with membersReplyToAdminsOnly the others who hold
// group.manage_members may reply to an admin's announcement. The system
// (automation) posts as the group's settings allow an admin.
func CheckPost(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, kind message.Kind, replyToID *string) error {
	if conv.GroupID == nil {
		return nil
	}
	g, err := tx.Group.Query().Where(entgroup.ID(*conv.GroupID)).WithNumber().Only(ctx)
	if err != nil {
		return err
	}
	caps := CapabilitiesOf(g.Edges.Number)
	if kind == message.KindINTERACTIVE && !caps.CanSendInteractive {
		return Unsupported(reasonCloudInteract)
	}
	if g.State != entgroup.StateACTIVE {
		return apperr.New(apperr.Conflict, "the group is %s: nothing can be posted in it", g.State)
	}
	admin, err := IsAdmin(ctx, tx, g.ID)
	if err != nil || admin {
		return err
	}
	if !policy.Can(ctx, policy.GroupManageMembers) {
		return apperr.New(apperr.Forbidden, "posting in a group takes %s or being one of its admins", policy.GroupManageMembers)
	}
	if g.SendMessages != schematype.AudienceAdmins {
		return nil
	}
	if !g.MembersReplyToAdminsOnly {
		return apperr.New(apperr.Forbidden, "only the group's admins may post in %s", g.Subject)
	}
	if replyToID != nil {
		orig, err := tx.Message.Get(ctx, *replyToID)
		if err != nil {
			return err
		}
		if orig.Direction == message.DirectionOUTBOUND && orig.SenderID != nil {
			isAnnouncement, err := isAdminAgent(ctx, tx, g.ID, *orig.SenderID)
			if err != nil || isAnnouncement {
				return err
			}
		}
	}
	return apperr.New(apperr.Forbidden, "in %s only admins post; others may only reply to an admin's announcement", g.Subject)
}

// Hidden is a message hidden by a group admin, and whether the provider
// deleted it for the members too.
type Hidden struct {
	Message           *ent.Message
	DeletedAtProvider bool
	ProviderNote      *string
}

// HideMessage hides a message of a group in the platform's record: a
// tombstone with who and when, the original retained, audited. Only the
// group's admins moderate. atProvider asks the provider to delete it for
// the members as well: refused with UNSUPPORTED_BY_PROVIDER, before
// anything is stored, when the transport cannot.
func (s *Service) HideMessage(ctx context.Context, id string, atProvider bool) (*Hidden, error) {
	m, err := s.client.Message.Query().Where(message.ID(id)).
		WithConversation(func(q *ent.ConversationQuery) { q.WithGroup(func(q *ent.GroupQuery) { q.WithNumber() }) }).Only(ctx)
	if err != nil {
		return nil, err
	}
	g := m.Edges.Conversation.Edges.Group
	if g == nil {
		return nil, apperr.Invalid("id", "the message is not in a group")
	}
	caps := CapabilitiesOf(g.Edges.Number)
	if atProvider && !caps.CanDeleteMessages {
		return nil, Unsupported(reasonCloudDelete)
	}
	out := &Hidden{}
	if !caps.CanDeleteMessages {
		note := reasonCloudDelete
		out.ProviderNote = &note
	}
	out.Message, err = store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Message, error) {
		if err := mayAct(ctx, tx, g, schematype.AudienceAdmins, "hide messages"); err != nil {
			return nil, err
		}
		if m.DeletedAt != nil {
			audit.Unchanged(ctx)
			return tx.Message.Get(ctx, m.ID)
		}
		u := tx.Message.UpdateOneID(m.ID).SetDeletedAt(s.clock.Now())
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			u.SetDeletedByID(v.AgentID)
		}
		hidden, err := u.Save(ctx)
		if err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, realtime.MessageEvent(g.TenantID, hidden.ID, hidden.ConversationID, realtime.KindDeleted))
		return hidden, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionGroupMessageHidden, TargetID: m.ID, Before: m.Body,
			Summary: fmt.Sprintf("hid a message in %s (kept at the provider: %t)", g.Subject, !out.DeletedAtProvider),
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
