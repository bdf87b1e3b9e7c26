package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Conversation is the thread between one Number and one Contact.
type Conversation struct {
	ent.Schema
}

// Mixin of the Conversation.
func (Conversation) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cnv"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Conversation.
func (Conversation) Fields() []ent.Field {
	return []ent.Field{
		field.String("number_id").Immutable(),
		field.String("contact_id").Comment("changes only when two contacts are merged into one"),
		field.String("group_id").Optional().Nillable().Immutable().
			Comment("a group's conversation: its contact stands for the group, its members write as authors"),
		field.String("assignee_id").Optional().Nillable(),
		field.String("team_id").Optional().Nillable(),
		field.String("last_message_id").Optional().Nillable(),
		field.Enum("status").Values("OPEN", "PENDING", "SNOOZED", "RESOLVED").Default("OPEN").
			Annotations(entgql.OrderField("STATUS")),
		field.Enum("priority").Values("LOW", "NORMAL", "HIGH", "URGENT").Default("NORMAL").
			Annotations(entgql.OrderField("PRIORITY")),
		field.Int("unread_count").Default(0).Min(0),
		field.Time("last_message_at").Optional().Nillable().Annotations(entgql.OrderField("LAST_MESSAGE_AT")),
		field.Time("last_customer_message_at").Optional().Nillable().
			Comment("opens the 24-hour customer service window"),
		field.Time("first_response_at").Optional().Nillable(),
		field.Time("snoozed_until").Optional().Nillable(),
		field.Time("resolved_at").Optional().Nillable(),
		field.Time("legal_hold_at").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("set while a legal hold applies: no erasure, no retention purge"),
		field.String("legal_hold_reason").Optional().MaxLen(500).
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		field.Time("queued_at").Optional().Nillable().
			Annotations(entgql.OrderField("QUEUED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("set while the conversation waits in the routing queue for an agent with capacity"),
		field.String("reserved_for_id").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("after hours: the agent whose shift opens next, who takes the conversation at reserved_until"),
		field.Time("reserved_until").Optional().Nillable().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)).
			Comment("when the reservation is handed over: the opening of the reserved agent's shift"),
	}
}

// Edges of the Conversation.
func (Conversation) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("number", Number.Type).Field("number_id").Unique().Required().Immutable(),
		edge.To("contact", Contact.Type).Field("contact_id").Unique().Required(),
		edge.To("group", Group.Type).Field("group_id").Unique().Immutable(),
		edge.To("assignee", Agent.Type).Field("assignee_id").Unique(),
		edge.To("team", Team.Type).Field("team_id").Unique(),
		edge.To("reserved_for", Agent.Type).Field("reserved_for_id").Unique().
			Annotations(entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
		edge.To("last_message", Message.Type).Field("last_message_id").Unique().
			Comment("denormalised so a page of conversations loads its last messages in one query"),
		edge.From("messages", Message.Type).Ref("conversation").
			Annotations(entgql.RelayConnection()),
		edge.From("assignments", Assignment.Type).Ref("conversation").
			Comment("the assignment history, oldest first"),
	}
}

// Indexes of the Conversation.
func (Conversation) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "last_message_at"), // the inbox order
		index.Fields("tenant_id", "status", "last_message_at"),
		index.Fields("tenant_id", "assignee_id"),
		index.Fields("number_id", "contact_id"),
		index.Fields("group_id").Unique(),
		index.Fields("tenant_id", "queued_at"),                // the routing queue
		index.Fields("tenant_id", "last_customer_message_at"), // segments: wrote within N days
		index.Fields("reserved_until"),                        // handovers due at opening, every tenant
	}
}

// Annotations of the Conversation.
func (Conversation) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Policy of the Conversation: its row scope (scope.go).
func (Conversation) Policy() ent.Policy {
	return scopedPolicy(conversationRows)
}

// Hooks of the Conversation: agents' loads follow assignments (load.go),
// report facts its opening and status changes (report.go).
func (Conversation) Hooks() []ent.Hook {
	return []ent.Hook{keepAgentLoad, reportConversation}
}
