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

// WebhookEndpoint is a tenant's outbound webhook subscription: where to POST
// which events, signed with its secret, with payloads cut to what its role
// may read (package outhook).
type WebhookEndpoint struct {
	ent.Schema
}

// Mixin of the WebhookEndpoint.
func (WebhookEndpoint) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "whk"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the WebhookEndpoint.
func (WebhookEndpoint) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100),
		field.String("url").NotEmpty().MaxLen(2048),
		field.Bytes("secret_sealed").Sensitive().Annotations(entgql.Skip()).
			Comment("the signing secret, sealed by credential.Box for this endpoint's id"),
		field.String("secret_prefix").Comment("the first characters of the secret, to recognise it"),
		field.Strings("events").Comment("the event types delivered, e.g. message.received"),
		field.String("role").NotEmpty().Comment("the role whose field rules and row scope cut the payloads"),
		field.Bool("enabled").Default(true),
		field.Int("max_in_flight").Default(4).Min(1).Max(32).
			Comment("deliveries in flight at once, across instances"),
		field.Int("consecutive_failures").Default(0),
		field.Time("failing_since").Optional().Nillable(),
		field.String("disabled_reason").Optional(),
		field.String("created_by_id").Optional().Nillable().Immutable(),
	}
}

// Edges of the WebhookEndpoint.
func (WebhookEndpoint) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", OutboundDelivery.Type).Annotations(entgql.RelayConnection()),
	}
}

// Annotations of the WebhookEndpoint.
func (WebhookEndpoint) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Policy of the WebhookEndpoint: webhook.manage only (scope.go).
func (WebhookEndpoint) Policy() ent.Policy { return scopedPolicy(webhookRows) }

// OutboundDelivery is one event owed to one endpoint: written in the
// transaction of the change it reports, so a committed change always has its
// deliveries, and kept with its attempts' outcome (the delivery log).
type OutboundDelivery struct {
	ent.Schema
}

// Mixin of the OutboundDelivery.
func (OutboundDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "odl"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the OutboundDelivery.
func (OutboundDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("endpoint_id").Immutable(),
		field.String("event_id").Immutable().Comment("the event's id, the same in every attempt and to every endpoint"),
		field.String("event_type").Immutable(),
		field.String("subject_id").Immutable().Comment("what the event is about: a conversation, message or number"),
		field.String("order_key").Immutable().Annotations(entgql.Skip()).
			Comment("deliveries with the same key reach the endpoint in seq order (the conversation)"),
		field.Int64("seq").Immutable().Annotations(entgql.Skip()),
		field.Time("occurred_at").Immutable(),
		field.Bytes("payload").Optional().Nillable().Sensitive().Annotations(entgql.Skip()).
			Comment("the body, rendered at the first attempt and sent unchanged by every later one"),
		field.Enum("state").Values("PENDING", "DELIVERED", "FAILED", "SKIPPED").Default("PENDING"),
		field.Int("attempts").Default(0),
		field.Time("next_attempt_at"),
		field.Time("lease_until").Optional().Nillable().Annotations(entgql.Skip()),
		field.Int("last_status").Optional().Nillable().Comment("the HTTP status of the last attempt"),
		field.String("last_error").Optional().MaxLen(500),
		field.Int("last_duration_ms").Optional().Nillable(),
		field.Time("delivered_at").Optional().Nillable(),
	}
}

// Edges of the OutboundDelivery.
func (OutboundDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("endpoint", WebhookEndpoint.Type).Ref("deliveries").Field("endpoint_id").
			Unique().Required().Immutable(),
	}
}

// Indexes of the OutboundDelivery.
func (OutboundDelivery) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("endpoint_id", "event_id").Unique(),
		index.Fields("endpoint_id", "state", "seq"),
		index.Fields("state", "next_attempt_at"),
	}
}

// Annotations of the OutboundDelivery.
func (OutboundDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}

// Policy of the OutboundDelivery: webhook.manage only (scope.go).
func (OutboundDelivery) Policy() ent.Policy { return scopedPolicy(webhookRows) }

// webhookRows: outbound webhooks and their log are for webhook.manage only.
func webhookRows(v *viewer.Viewer) func(*sql.Selector) {
	if v.Scope.Webhooks {
		return nil
	}
	return func(sel *sql.Selector) { sel.Where(sql.False()) }
}
