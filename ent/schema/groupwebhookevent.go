package schema

import (
	"encoding/json"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// GroupWebhookEvent is one item of a group webhook (group_lifecycle_update,
// group_participants_update, group_settings_update, group_status_update),
// routed to the number by its phone_number_id and kept as received. It is a
// record, not a state: the group service gives the events their meaning.
type GroupWebhookEvent struct {
	ent.Schema
}

// Mixin of the GroupWebhookEvent.
func (GroupWebhookEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "gwe"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the GroupWebhookEvent.
func (GroupWebhookEvent) Fields() []ent.Field {
	return []ent.Field{
		field.String("number_id").Immutable(),
		field.String("field").Immutable().Comment("the webhook field, e.g. group_participants_update"),
		field.String("type").Optional().Immutable().Comment("the item's type, e.g. group_participants_add"),
		field.String("group_id").Optional().Immutable().Comment("the provider's group id"),
		field.String("request_id").Optional().Immutable().Comment("the request of the business the event answers, when any"),
		field.Time("occurred_at").Immutable().Annotations(entgql.OrderField("OCCURRED_AT")),
		field.String("digest").Immutable().Annotations(entgql.Skip()).
			Comment("sha256 of the field and the raw item: a redelivered event is stored once"),
		field.JSON("payload", json.RawMessage{}).Optional().Immutable().Annotations(entgql.Skip()).
			Comment("the item as received (it names participants: not in the API)"),
	}
}

// Edges of the GroupWebhookEvent.
func (GroupWebhookEvent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("number", Number.Type).Field("number_id").Unique().Required().Immutable(),
	}
}

// Indexes of the GroupWebhookEvent.
func (GroupWebhookEvent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("number_id", "digest").Unique(),
		index.Fields("number_id", "occurred_at"),
	}
}

// Annotations of the GroupWebhookEvent.
func (GroupWebhookEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
