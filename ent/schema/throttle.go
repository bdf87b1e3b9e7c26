package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
)

// LoginThrottle counts the failed sign-ins of one account or one client
// address ("acct:<email>", "addr:<ip>"), shared by every instance through
// the database. Like WebhookDelivery it belongs to no tenant (an email may
// have accounts in several), so only platform work reads or writes it.
type LoginThrottle struct {
	ent.Schema
}

// Mixin of the LoginThrottle.
func (LoginThrottle) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "lth"}, TimeMixin{}}
}

// Fields of the LoginThrottle.
func (LoginThrottle) Fields() []ent.Field {
	return []ent.Field{
		field.String("key").Unique().Immutable().MaxLen(400),
		field.Int("failures").Default(0).Comment("consecutive failures; a success of the account resets it"),
		field.Time("locked_until").Optional().Nillable().Comment("no attempt is checked before this instant"),
		field.Time("last_failure_at").Optional().Nillable(),
		field.Int("unreported").Default(0).Comment("failures not yet in an audit record (they are aggregated)"),
		field.Time("reported_at").Optional().Nillable().Comment("when the last aggregated audit record was written"),
	}
}

// Annotations of the LoginThrottle.
func (LoginThrottle) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the LoginThrottle: platform work only.
func (LoginThrottle) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{platformOnly{}},
		Mutation: privacy.MutationPolicy{platformOnly{}},
	}
}
