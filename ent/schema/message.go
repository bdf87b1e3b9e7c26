package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Message is one message of a conversation, in or out. Deleting one leaves a
// tombstone (deleted_at, deleted_by) and keeps the original.
type Message struct {
	ent.Schema
}

// Mixin of the Message.
func (Message) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "msg"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Message.
func (Message) Fields() []ent.Field {
	return []ent.Field{
		field.String("conversation_id").Immutable(),
		field.String("number_id").Immutable().Annotations(entgql.Skip()),
		field.String("sender_id").Optional().Nillable().Immutable(),
		field.String("author_id").Optional().Nillable().Immutable().
			Comment("in a group: the member (a contact) who wrote an inbound message"),
		field.String("reply_to_id").Optional().Nillable().Immutable(),
		field.String("deleted_by_id").Optional().Nillable(),
		field.String("reaction_to_id").Optional().Nillable().
			Comment("for a reaction: the message it is on"),
		field.Enum("direction").Values("INBOUND", "OUTBOUND").Immutable(),
		field.Enum("kind").
			Values("TEXT", "IMAGE", "DOCUMENT", "AUDIO", "VIDEO", "STICKER", "LOCATION", "CONTACTS",
				"INTERACTIVE", "TEMPLATE", "REACTION", "SYSTEM", "ORDER", "UNSUPPORTED").
			Default("TEXT").Immutable(),
		field.Text("body").Optional().
			Annotations(entgql.Skip(entgql.SkipType)).
			Comment("kept after deletion; the API hides it from a tombstone (graph/message.go)"),
		field.JSON("media", &schematype.MediaRef{}).Optional().Annotations(entgql.Skip(entgql.SkipType)),
		field.JSON("content", json.RawMessage{}).Optional().Annotations(entgql.Skip()).
			Comment("what to send, for outbound messages other than plain text (template, media, interactive)"),
		field.Int("attempts").Default(0).Annotations(entgql.Skip()).Comment("send attempts so far"),
		field.String("provider_message_id").Optional().Nillable().
			Comment("the provider's id (wamid); unique per number"),
		field.Enum("status").Values("QUEUED", "SENT", "DELIVERED", "READ", "FAILED", "RECEIVED").Default("QUEUED").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("error_code").Optional().Nillable(),
		field.String("error_text").Optional(),
		field.Time("sent_at").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
		field.Time("read_at").Optional().Nillable(),
		field.Time("deleted_at").Optional().Nillable(),
		// How the provider billed an outbound message, from the first status
		// webhook carrying a pricing object (graph: Message.pricing).
		field.String("pricing_category").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("marketing, utility, authentication, authentication_international, service, referral_conversion, ..."),
		field.String("pricing_model").Optional().Annotations(entgql.Skip()).Comment("PMP (per message), CBP (per conversation)"),
		field.String("pricing_type").Optional().Annotations(entgql.Skip()).
			Comment("regular, free_customer_service, free_entry_point"),
		field.Bool("billable").Optional().Nillable().Annotations(entgql.Skip()),
		field.Time("priced_at").Optional().Nillable().Annotations(entgql.Skip()).
			Comment("the time of the status that priced it: the month it is counted in"),
	}
}

// Edges of the Message.
func (Message) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("conversation", Conversation.Type).Field("conversation_id").Unique().Required().Immutable(),
		edge.To("number", Number.Type).Field("number_id").Unique().Required().Immutable().Annotations(entgql.Skip()),
		edge.To("sender", Agent.Type).Field("sender_id").Unique().Immutable(),
		edge.To("author", Contact.Type).Field("author_id").Unique().Immutable(),
		// A plain many-to-one: a message quotes at most one, and may be
		// quoted by many. (A unique edge to its own type with no inverse is
		// ent's bidirectional one-to-one, which cross-linked both messages.)
		edge.To("replies", Message.Type).From("reply_to").Field("reply_to_id").Unique().Immutable(),
		edge.To("deleted_by", Agent.Type).Field("deleted_by_id").Unique(),
		// A reaction is on one message; a message has many (one per reactor).
		// The API lists only the current ones (graph: Message.reactions).
		edge.To("reactions", Message.Type).Annotations(entgql.Skip()).
			From("reaction_to").Field("reaction_to_id").Unique().Annotations(entgql.Skip()),
	}
}

// Indexes of the Message.
func (Message) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "created_at"),
		index.Fields("number_id", "provider_message_id").Unique(),
		index.Fields("reply_to_id"),            // a message's replies
		index.Fields("reaction_to_id"),         // a message's reactions
		index.Fields("number_id", "priced_at"), // a number's costs of a month
	}
}

// Annotations of the Message.
func (Message) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Policy of the Message: its row scope (scope.go).
func (Message) Policy() ent.Policy {
	return scopedPolicy(messageRows)
}
