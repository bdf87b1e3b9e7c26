// Package inbox runs conversations: their lifecycle (status, assignment,
// transfer) and the messages in them (sending, deleting).
package inbox

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// MaxTextLen is the longest text message WhatsApp accepts, in characters.
const MaxTextLen = 4096

// Service changes conversations and their messages.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	now    func() time.Time
}

// NewService returns a Service over client that publishes its changes with pub.
func NewService(client *ent.Client, pub *realtime.Publisher) *Service {
	return &Service{client: client, pub: pub, now: time.Now}
}

func conversationEvent(ctx context.Context, id, kind string) realtime.Event {
	return realtime.Event{TenantID: viewer.FromContext(ctx).TenantID, Type: realtime.ConversationChanged, Subject: id, Data: realtime.Kinded(kind)}
}

func messageEvent(ctx context.Context, m *ent.Message, kind string) realtime.Event {
	return realtime.Event{
		TenantID: viewer.FromContext(ctx).TenantID, Type: realtime.MessageChanged, Subject: m.ID,
		Data: realtime.Kinded(kind, "conversationID", m.ConversationID),
	}
}

// SetStatus moves a conversation to status. SNOOZED needs a wake-up time in
// the future; RESOLVED records when; any other status clears both.
func (s *Service) SetStatus(ctx context.Context, id string, status conversation.Status, snoozedUntil *time.Time) (*ent.Conversation, error) {
	now := s.now()
	switch {
	case status == conversation.StatusSNOOZED && (snoozedUntil == nil || !snoozedUntil.After(now)):
		return nil, apperr.Invalid("snoozedUntil", "snoozing needs a time in the future")
	case status != conversation.StatusSNOOZED && snoozedUntil != nil:
		return nil, apperr.Invalid("snoozedUntil", "only a SNOOZED conversation has a wake-up time")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Conversation, error) {
		u := tx.Conversation.UpdateOneID(id).SetStatus(status)
		switch status {
		case conversation.StatusSNOOZED:
			u.SetSnoozedUntil(*snoozedUntil).ClearResolvedAt()
		case conversation.StatusRESOLVED:
			u.SetResolvedAt(now).ClearSnoozedUntil()
		default:
			u.ClearSnoozedUntil().ClearResolvedAt()
		}
		s.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindStatusChanged))
		return u.Save(ctx)
	})
}

// Resolve marks a conversation RESOLVED.
func (s *Service) Resolve(ctx context.Context, id string) (*ent.Conversation, error) {
	return s.SetStatus(ctx, id, conversation.StatusRESOLVED, nil)
}

// Assign gives a conversation to agentID, or unassigns it when agentID is nil.
// A disabled agent cannot take conversations.
func (s *Service) Assign(ctx context.Context, id string, agentID *string) (*ent.Conversation, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Conversation, error) {
		u := tx.Conversation.UpdateOneID(id)
		s.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindAssigned))
		if agentID == nil {
			return u.ClearAssignee().Save(ctx)
		}
		if err := checkActiveAgent(ctx, tx, *agentID); err != nil {
			return nil, err
		}
		return u.SetAssigneeID(*agentID).Save(ctx)
	})
}

// Transfer hands a conversation to another agent, another team, or both.
func (s *Service) Transfer(ctx context.Context, id string, agentID, teamID *string) (*ent.Conversation, error) {
	if agentID == nil && teamID == nil {
		return nil, apperr.Invalid("agentID", "transfer to an agent, a team or both")
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Conversation, error) {
		u := tx.Conversation.UpdateOneID(id)
		if agentID != nil {
			if err := checkActiveAgent(ctx, tx, *agentID); err != nil {
				return nil, err
			}
			u.SetAssigneeID(*agentID)
		}
		if teamID != nil {
			u.SetTeamID(*teamID)
			if agentID == nil {
				u.ClearAssignee() // the team picks it up
			}
		}
		s.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindTransferred))
		return u.Save(ctx)
	})
}

func checkActiveAgent(ctx context.Context, tx *ent.Tx, id string) error {
	a, err := tx.Agent.Get(ctx, id)
	if ent.IsNotFound(err) {
		return apperr.New(apperr.NotFound, "agentID: no such agent")
	}
	if err != nil {
		return err
	}
	if a.DisabledAt != nil {
		return apperr.Invalid("agentID", "%s is disabled", a.Name)
	}
	return nil
}

// SendText queues a text message into a conversation. The message is stored
// QUEUED, with the viewer as sender; the outbox delivers it.
func (s *Service) SendText(ctx context.Context, conversationID, body string, replyToID *string) (*ent.Message, error) {
	body = strings.TrimSpace(body)
	switch {
	case body == "":
		return nil, apperr.Invalid("body", "the message is empty")
	case utf8.RuneCountInString(body) > MaxTextLen:
		return nil, apperr.Invalid("body", "a text message has at most %d characters", MaxTextLen)
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Message, error) {
		c, err := tx.Conversation.Query().
			Where(conversation.ID(conversationID)).
			WithNumber().
			Only(ctx)
		if err != nil {
			return nil, err
		}
		if c.Edges.Number.UnlinkedAt != nil {
			return nil, apperr.New(apperr.Conflict, "the number of this conversation is unlinked")
		}
		if replyToID != nil {
			ok, err := tx.Message.Query().
				Where(message.ID(*replyToID), message.ConversationID(c.ID)).
				Exist(ctx)
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, apperr.New(apperr.NotFound, "replyToID: no such message in this conversation")
			}
		}
		create := tx.Message.Create().
			SetConversationID(c.ID).
			SetNumberID(c.NumberID).
			SetDirection(message.DirectionOUTBOUND).
			SetKind(message.KindTEXT).
			SetBody(body).
			SetStatus(message.StatusQUEUED).
			SetNillableReplyToID(replyToID)
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			create.SetSenderID(v.AgentID)
		}
		m, err := create.Save(ctx)
		if err != nil {
			return nil, err
		}
		u := c.Update().SetLastMessageID(m.ID).SetLastMessageAt(m.CreatedAt)
		if c.FirstResponseAt == nil {
			u.SetFirstResponseAt(m.CreatedAt)
		}
		s.pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindAdded), conversationEvent(ctx, c.ID, realtime.KindMessageAdded))
		return m, u.Exec(ctx)
	})
}

// DeleteMessage turns a message into a tombstone: it records who deleted it
// and when, and keeps the original. Deleting twice changes nothing.
func (s *Service) DeleteMessage(ctx context.Context, id string) (*ent.Message, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Message, error) {
		m, err := tx.Message.Get(ctx, id)
		if err != nil || m.DeletedAt != nil {
			return m, err
		}
		u := m.Update().SetDeletedAt(s.now())
		if v := viewer.FromContext(ctx); v != nil && v.AgentID != "" {
			u.SetDeletedByID(v.AgentID)
		}
		if m, err = u.Save(ctx); err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindDeleted))
		return m, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionMessageDeleted, TargetID: m.ID, Before: m.Body,
			Summary: fmt.Sprintf("deleted a %s message of %s", strings.ToLower(string(m.Direction)), m.ConversationID),
		})
	})
}
