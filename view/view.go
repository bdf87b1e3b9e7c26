// Package view renders rows as a role may see them, outside GraphQL: outbound
// webhook payloads and conversation exports carry the same fields, under the
// same field decisions (policy.Decisions), as the API would answer. Keys are
// the GraphQL field names.
package view

import (
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/policy"
)

// Cut applies the decisions of typ to fields (keyed by GraphQL field name): a
// denied field is left out, a masked one redacted (and left out when it is
// not text).
func Cut(dec *policy.Decisions, typ string, fields map[string]any) map[string]any {
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

// Conversation is a conversation with its contact (when loaded and the role
// may read it).
func Conversation(dec *policy.Decisions, c *ent.Conversation) map[string]any {
	out := Cut(dec, "Conversation", map[string]any{
		"id": c.ID, "numberID": c.NumberID, "contactID": c.ContactID, "assigneeID": c.AssigneeID,
		"teamID": c.TeamID, "status": c.Status, "priority": c.Priority, "createdAt": c.CreatedAt,
		"lastMessageAt": c.LastMessageAt, "firstResponseAt": c.FirstResponseAt, "resolvedAt": c.ResolvedAt,
	})
	if ct := c.Edges.Contact; ct != nil && dec.Field("Conversation", "contact") == policy.Allow {
		out["contact"] = Contact(dec, ct)
	}
	return out
}

// Contact is a contact's profile.
func Contact(dec *policy.Decisions, ct *ent.Contact) map[string]any {
	return Cut(dec, "Contact", map[string]any{
		"id": ct.ID, "waID": ct.WaID, "phone": ct.Phone, "profileName": ct.ProfileName,
		"userID": ct.UserID, "username": ct.Username,
		"tags": ct.Tags, "optIn": ct.OptIn, "erasedAt": ct.ErasedAt,
	})
}

// Message is a message; a deleted one (a tombstone) keeps its original text
// only for message.view_deleted.
func Message(dec *policy.Decisions, m *ent.Message) map[string]any {
	fields := map[string]any{
		"id": m.ID, "conversationID": m.ConversationID, "senderID": m.SenderID, "replyToID": m.ReplyToID,
		"direction": m.Direction, "kind": m.Kind, "body": m.Body, "status": m.Status,
		"providerMessageID": m.ProviderMessageID, "errorCode": m.ErrorCode, "errorText": m.ErrorText,
		"createdAt": m.CreatedAt, "sentAt": m.SentAt, "deliveredAt": m.DeliveredAt, "readAt": m.ReadAt,
		"deletedAt": m.DeletedAt,
	}
	if m.DeletedAt != nil && dec.TombstoneHidden("Message", "body") {
		delete(fields, "body")
	}
	return Cut(dec, "Message", fields)
}

// Number is a business number's status.
func Number(dec *policy.Decisions, n *ent.Number) map[string]any {
	return Cut(dec, "Number", map[string]any{
		"id": n.ID, "phone": n.Phone, "displayName": n.DisplayName, "status": n.Status,
		"quality": n.Quality, "messagingTier": n.MessagingTier, "attention": n.Attention,
	})
}
