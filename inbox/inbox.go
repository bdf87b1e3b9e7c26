// Package inbox runs conversations: their lifecycle (status, assignment,
// transfer) and the messages in them (sending, deleting). The provider side
// (webhooks, ingest, the send workers) is package whatsapp/connector.
package inbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/group"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// MaxTextLen is the longest text message WhatsApp accepts, in characters.
const MaxTextLen = 4096

// Service changes conversations and their messages.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	jobs   *job.Client // sends queued messages; nil leaves them QUEUED (tests, tools)
	clock  clock.Clock
}

// NewService returns a Service over client that publishes its changes with
// pub, hands messages to send to jobs and reads the time from clk.
func NewService(client *ent.Client, pub *realtime.Publisher, jobs *job.Client, clk clock.Clock) *Service {
	return &Service{client: client, pub: pub, jobs: jobs, clock: clk}
}

// CustomerWindow is how long after a customer's last message the business
// may write freely; after it, only templates.
const CustomerWindow = 24 * time.Hour

// enqueue schedules a durable job in tx: it exists if and only if tx commits.
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

func conversationEvent(ctx context.Context, id, kind string) realtime.Event {
	return realtime.ConversationEvent(viewer.FromContext(ctx).TenantID, id, kind)
}

func messageEvent(ctx context.Context, m *ent.Message, kind string) realtime.Event {
	return realtime.MessageEvent(viewer.FromContext(ctx).TenantID, m.ID, m.ConversationID, kind)
}

// SetStatus moves a conversation to status. SNOOZED needs a wake-up time in
// the future; RESOLVED records when; any other status clears both.
func (s *Service) SetStatus(ctx context.Context, id string, status conversation.Status, snoozedUntil *time.Time) (*ent.Conversation, error) {
	now := s.clock.Now()
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
		summary := "unassigned"
		if agentID == nil {
			u.ClearAssignee()
		} else {
			if err := checkActiveAgent(ctx, tx, *agentID); err != nil {
				return nil, err
			}
			u.SetAssigneeID(*agentID)
			summary = "assigned to " + *agentID
		}
		c, err := u.Save(ctx)
		if err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindAssigned))
		return c, audit.Record(ctx, tx, audit.Event{Action: audit.ActionConversationAssigned, TargetID: id, Summary: summary})
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
		c, err := u.Save(ctx)
		if err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, conversationEvent(ctx, id, realtime.KindTransferred))
		return c, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionConversationTransfer, TargetID: id, Summary: "transferred to " + transferTarget(agentID, teamID),
		})
	})
}

func transferTarget(agentID, teamID *string) string {
	switch {
	case agentID != nil && teamID != nil:
		return *agentID + " in " + *teamID
	case agentID != nil:
		return *agentID
	}
	return *teamID
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

// SendText queues a text message into a conversation (see Send).
func (s *Service) SendText(ctx context.Context, conversationID, body string, replyToID *string) (*ent.Message, error) {
	return s.Send(ctx, Outgoing{ConversationID: conversationID, Text: body, ReplyToID: replyToID})
}

// Outgoing is a message to send: Text, or one of Outbound's kinds.
type Outgoing struct {
	ConversationID string
	Text           string
	Outbound       connector.Outbound
	ReplyToID      *string
}

// Send queues a message into a conversation: it is stored QUEUED, with the
// viewer as sender, and a durable job sends it. Outside the customer's
// 24-hour window only a template is accepted.
func (s *Service) Send(ctx context.Context, out Outgoing) (*ent.Message, error) {
	kind, body, content, err := outgoingContent(out)
	if err != nil {
		return nil, err
	}
	conversationID, replyToID := out.ConversationID, out.ReplyToID
	// Retried as a deadlock victim: a reply races ingest on the tenant's
	// report rows (store.InTxRetry).
	return store.InTxRetry(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Message, error) {
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
		if err := group.CheckPost(ctx, tx, c, kind, replyToID); err != nil {
			return nil, err // a group's conversation: what the transport and the group's rules allow
		}
		if c.GroupID == nil && out.Outbound.Template == nil && (c.LastCustomerMessageAt == nil || s.clock.Now().Sub(*c.LastCustomerMessageAt) > CustomerWindow) {
			return nil, apperr.New(apperr.OutsideWindow, "the customer last wrote more than 24 hours ago: only a template may be sent")
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
			SetKind(kind).
			SetBody(body).
			SetStatus(message.StatusQUEUED).
			SetNillableReplyToID(replyToID).
			SetCreatedAt(s.clock.Now()) // the service's clock, like the customer's messages: windows and cooldowns compare them
		if content != nil {
			create.SetContent(content)
		}
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
		if err := u.Exec(ctx); err != nil {
			return nil, err
		}
		return m, s.enqueue(ctx, tx, connector.SendArgs{TenantID: m.TenantID, MessageID: m.ID})
	})
}

// DeleteMessage turns a message into a tombstone: it records who deleted it
// and when, and keeps the original. Deleting twice changes nothing.
func (s *Service) DeleteMessage(ctx context.Context, id string) (*ent.Message, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Message, error) {
		m, err := tx.Message.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if m.DeletedAt != nil {
			audit.Unchanged(ctx)
			return m, nil
		}
		u := m.Update().SetDeletedAt(s.clock.Now())
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

// outgoingContent checks what a message will send and returns its kind, its
// text (the body, a caption or the template's name) and its stored content.
func outgoingContent(out Outgoing) (message.Kind, string, json.RawMessage, error) {
	o := out.Outbound
	n := 0
	for _, set := range []bool{strings.TrimSpace(out.Text) != "", o.Template != nil, o.Media != nil, o.Interactive != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return "", "", nil, apperr.Invalid("input", "send exactly one of text, template, media or interactive")
	}
	var (
		kind = message.KindTEXT
		body = strings.TrimSpace(out.Text)
	)
	switch {
	case o.Template != nil:
		if strings.TrimSpace(o.Template.Name) == "" || strings.TrimSpace(o.Template.Language) == "" {
			return "", "", nil, apperr.Invalid("template", "a template needs a name and a language")
		}
		kind, body = message.KindTEMPLATE, o.Template.Name
	case o.Media != nil:
		if (o.Media.ID == "") == (o.Media.Link == "") {
			return "", "", nil, apperr.Invalid("media", "give the media's id or its link, not both")
		}
		if o.Media.Link != "" {
			if err := checkMediaLink(o.Media.Link); err != nil {
				return "", "", nil, err
			}
		}
		kind = map[string]message.Kind{"image": message.KindIMAGE, "document": message.KindDOCUMENT,
			"audio": message.KindAUDIO, "video": message.KindVIDEO, "sticker": message.KindSTICKER}[o.Media.Kind]
		body = o.Media.Caption
	case o.Interactive != nil:
		buttons, list := len(o.Interactive.Buttons), o.Interactive.List
		if strings.TrimSpace(o.Interactive.Body) == "" || (buttons == 0) == (list == nil) || buttons > 3 {
			return "", "", nil, apperr.Invalid("interactive", "an interactive message has a body and either 1 to 3 buttons or a list")
		}
		kind, body = message.KindINTERACTIVE, o.Interactive.Body
	}
	if utf8.RuneCountInString(body) > MaxTextLen {
		return "", "", nil, apperr.Invalid("text", "a text message has at most %d characters", MaxTextLen)
	}
	if kind == message.KindTEXT {
		return kind, body, nil, nil
	}
	content, err := json.Marshal(o)
	return kind, body, content, err
}

// MarkRead marks a conversation read: its unread count drops to zero and the
// customer's last message gets a read receipt.
func (s *Service) MarkRead(ctx context.Context, id string) (*ent.Conversation, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Conversation, error) {
		c, err := tx.Conversation.UpdateOneID(id).SetUnreadCount(0).Save(ctx)
		if err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, conversationEvent(ctx, c.ID, realtime.KindRead))
		if c.GroupID != nil {
			return c, nil // the Cloud API cannot mark group messages read
		}
		last, err := tx.Message.Query().
			Where(message.ConversationID(c.ID), message.DirectionEQ(message.DirectionINBOUND), message.ProviderMessageIDNotNil()).
			Order(ent.Desc(message.FieldCreatedAt)).First(ctx)
		if ent.IsNotFound(err) {
			return c, nil
		}
		if err != nil {
			return nil, err
		}
		return c, s.enqueue(ctx, tx, connector.MarkReadArgs{TenantID: c.TenantID, MessageID: last.ID})
	})
}

// checkMediaLink accepts only a public https link: the provider fetches it,
// and a javascript:, file: or plain http link would be run, read from the
// server or sent in the clear wherever it is shown or followed.
func checkMediaLink(link string) error {
	u, err := url.Parse(link)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.User != nil {
		return apperr.Invalid("media.link", "a media link must be an https URL")
	}
	return nil
}
