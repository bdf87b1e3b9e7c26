package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// APIKey is a partner's key ("sk_…"): shown once, stored as a SHA-256 hash,
// bound to one role, revocable.
type APIKey struct {
	ent.Schema
}

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "key"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100),
		field.String("prefix").Immutable().Comment("the first characters of the key, to recognise it in a list"),
		field.String("secret_hash").Immutable().Sensitive().Annotations(entgql.Skip()),
		field.String("role").NotEmpty(),
		field.String("created_by_id").Optional().Nillable().Immutable(),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("expires_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Edges of the APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("created_by", Agent.Type).Field("created_by_id").Unique().Immutable(),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("secret_hash").Unique()}
}

// Annotations of the APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Session is an agent's sign-in: it holds the hash of the current refresh
// token, which rotates on every refresh.
type Session struct {
	ent.Schema
}

// Mixin of the Session.
func (Session) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ses"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Session.
func (Session) Fields() []ent.Field {
	return []ent.Field{
		field.String("agent_id").Immutable(),
		field.String("refresh_hash").Sensitive().Annotations(entgql.Skip()),
		field.String("previous_hash").Optional().Sensitive().Annotations(entgql.Skip()).
			Comment("the refresh token just rotated out; presenting it again revokes the session"),
		field.String("family_hash").Optional().Sensitive().Annotations(entgql.Skip()).
			Comment("SHA-256 of the family part every refresh token of the session carries: an old token of the family revokes it"),
		field.String("user_agent").Optional().MaxLen(512),
		field.String("ip").Optional().MaxLen(64),
		field.Time("expires_at"),
		field.Time("last_used_at").Optional().Nillable(),
		field.Time("revoked_at").Optional().Nillable(),
	}
}

// Edges of the Session.
func (Session) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("agent", Agent.Type).Ref("sessions").Field("agent_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Session.
func (Session) Indexes() []ent.Index {
	return []ent.Index{index.Fields("refresh_hash").Unique(), index.Fields("previous_hash"), index.Fields("family_hash")}
}

// Annotations of the Session.
func (Session) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// AuditEvent is one append-only record of who did what. Records of a tenant
// form a hash chain: each holds the previous record's hash.
type AuditEvent struct {
	ent.Schema
}

// Mixin of the AuditEvent.
func (AuditEvent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aud"}, TenantMixin{}}
}

// Fields of the AuditEvent.
func (AuditEvent) Fields() []ent.Field {
	return []ent.Field{
		field.Int64("seq").Immutable().Comment("position in the tenant's chain, from 1"),
		field.String("actor_id").Immutable().Comment("agent, API key or system id"),
		field.String("action").Immutable().NotEmpty(),
		field.String("target_id").Optional().Immutable(),
		field.String("summary").Optional().Immutable().MaxLen(1000).Comment("what happened, for people"),
		field.String("before_digest").Optional().Immutable(),
		field.String("after_digest").Optional().Immutable(),
		field.Time("at").Immutable().Annotations(entgql.OrderField("AT")),
		field.String("prev_hash").Immutable(),
		field.String("hash").Immutable(),
	}
}

// Indexes of the AuditEvent.
func (AuditEvent) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "seq").Unique()}
}

// Annotations of the AuditEvent.
func (AuditEvent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection(), entgql.QueryField()}
}

// Policy of the AuditEvent: its row scope (scope.go).
func (AuditEvent) Policy() ent.Policy {
	return scopedPolicy(auditRows)
}
