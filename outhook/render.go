package outhook

import (
	"context"
	"encoding/json"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	ID         string         `json:"id"`   // the event id, as in Switchboard-Event-Id
	Type       string         `json:"type"` // one of EventTypes
	OccurredAt time.Time      `json:"occurredAt"`
	Data       map[string]any `json:"data"` // "conversation", "message", "number": what the role may read
}

// render builds a delivery's body as the endpoint's role sees the subject
// now: its row scope decides whether it sees it at all (skip when not), its
// field rules which fields appear and which are masked.
func (s *Service) render(ctx context.Context, ep *ent.WebhookEndpoint, d *ent.OutboundDelivery) (body []byte, skip bool, err error) {
	v := &viewer.Viewer{Kind: viewer.KindAPIKey, TenantID: ep.TenantID, APIKeyID: ep.ID, Roles: []string{ep.Role}}
	rctx, err := s.authz.Admit(viewer.NewContext(context.WithoutCancel(ctx), v), v)
	if err != nil {
		return nil, false, err
	}
	dec := policy.FromContext(rctx)
	data := map[string]any{}
	switch d.EventType {
	case MessageReceived, MessageSent, MessageStatus, MessageDeleted:
		m, err := s.client.Message.Query().Where(message.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["message"] = messageData(dec, m)
	case NumberStatus:
		n, err := s.client.Number.Query().Where(number.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["number"] = cut(dec, "Number", map[string]any{
			"id": n.ID, "phone": n.Phone, "displayName": n.DisplayName, "status": n.Status,
			"quality": n.Quality, "messagingTier": n.MessagingTier, "attention": n.Attention,
		})
	default:
		c, err := s.client.Conversation.Query().Where(conversation.ID(d.SubjectID)).WithContact().Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["conversation"] = conversationData(dec, c)
	}
	body, err = json.Marshal(Payload{ID: d.EventID, Type: d.EventType, OccurredAt: d.OccurredAt.UTC(), Data: data})
	return body, false, err
}

func conversationData(dec *policy.Decisions, c *ent.Conversation) map[string]any {
	out := cut(dec, "Conversation", map[string]any{
		"id": c.ID, "numberID": c.NumberID, "contactID": c.ContactID, "assigneeID": c.AssigneeID,
		"teamID": c.TeamID, "status": c.Status, "priority": c.Priority, "createdAt": c.CreatedAt,
		"lastMessageAt": c.LastMessageAt, "firstResponseAt": c.FirstResponseAt, "resolvedAt": c.ResolvedAt,
	})
	if ct := c.Edges.Contact; ct != nil && dec.Field("Conversation", "contact") == policy.Allow {
		out["contact"] = cut(dec, "Contact", map[string]any{
			"id": ct.ID, "waID": ct.WaID, "phone": ct.Phone, "profileName": ct.ProfileName,
			"tags": ct.Tags, "optIn": ct.OptIn,
		})
	}
	return out
}

func messageData(dec *policy.Decisions, m *ent.Message) map[string]any {
	fields := map[string]any{
		"id": m.ID, "conversationID": m.ConversationID, "senderID": m.SenderID, "replyToID": m.ReplyToID,
		"direction": m.Direction, "kind": m.Kind, "body": m.Body, "status": m.Status,
		"providerMessageID": m.ProviderMessageID, "errorCode": m.ErrorCode, "errorText": m.ErrorText,
		"createdAt": m.CreatedAt, "sentAt": m.SentAt, "deliveredAt": m.DeliveredAt, "readAt": m.ReadAt,
		"deletedAt": m.DeletedAt,
	}
	if m.DeletedAt != nil && dec.TombstoneHidden("Message", "body") {
		delete(fields, "body") // a tombstone: the original is for message.view_deleted
	}
	return cut(dec, "Message", fields)
}

// cut applies the role's field decisions of typ to fields (keyed by their
// GraphQL names): a denied field is left out, a masked one is redacted (and
// left out when it is not text).
func cut(dec *policy.Decisions, typ string, fields map[string]any) map[string]any {
	out := make(map[string]any, len(fields))
	for name, v := range fields {
		switch dec.Field(typ, name) {
		case policy.Allow:
			out[name] = v
		case policy.Mask:
			if s, ok := v.(string); ok {
				out[name] = policy.Redact(policy.Coordinate{Type: typ, Field: name}, s)
			}
		}
	}
	return out
}
