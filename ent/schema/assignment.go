package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/viewer"
)

// Assignment is one entry of a conversation's assignment history: who got it
// (or that it went to the queue), from whom, and why.
type Assignment struct {
	ent.Schema
}

// Mixin of the Assignment.
func (Assignment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "asg"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Assignment.
func (Assignment) Fields() []ent.Field {
	return []ent.Field{
		field.String("conversation_id").Immutable(),
		field.String("agent_id").Optional().Nillable().Immutable().
			Comment("who got the conversation; nil when it went to the queue or was unassigned"),
		field.String("from_agent_id").Optional().Nillable().Immutable(),
		field.String("contact_id").Immutable().Annotations(entgql.Skip()).
			Comment("the conversation's contact, denormalised for sticky routing"),
		field.Enum("cause").Values("POLICY", "QUEUE", "REDISTRIBUTION", "RULE", "OFFBOARDING", "MANUAL", "RESERVATION", "HANDOVER").Immutable(),
		field.String("strategy").Optional().Immutable().
			Comment("the policy step that chose the agent, e.g. LEAST_LOADED"),
		field.String("reason").MaxLen(500).Immutable().Comment("says why, for people"),
		field.String("actor_id").Optional().Nillable().Immutable().
			Comment("the agent who asked for it; nil for automatic assignments"),
	}
}

// Edges of the Assignment.
func (Assignment) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("conversation", Conversation.Type).Field("conversation_id").Unique().Required().Immutable(),
		edge.To("agent", Agent.Type).Field("agent_id").Unique().Immutable(),
	}
}

// Indexes of the Assignment.
func (Assignment) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("conversation_id", "created_at"),
		index.Fields("tenant_id", "contact_id", "created_at"), // sticky: the contact's last agent
	}
}

// Annotations of the Assignment.
func (Assignment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Policy of the Assignment: it follows its conversation (scope.go).
func (Assignment) Policy() ent.Policy {
	return scopedPolicy(func(v *viewer.Viewer) func(*sql.Selector) { return conversationScope(v, "conversation_id") })
}
