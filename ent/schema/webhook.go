package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// WebhookDelivery is one webhook POST from the provider, stored as received
// before it is processed, so a crash after answering 200 loses nothing. It
// belongs to no tenant until processed (it may name numbers of several, or of
// none), so only platform work (privacy.Allow) reads or writes it.
type WebhookDelivery struct {
	ent.Schema
}

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "whd"}, TimeMixin{}}
}

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.String("provider").Default("cloud").Immutable(),
		field.Bytes("body").Comment("the raw POST body, as signed (redacted by an erasure that finds its person in it)"),
		field.Enum("state").Values("RECEIVED", "PROCESSED", "UNROUTED", "FAILED").Default("RECEIVED"),
		field.Strings("phone_number_ids").Optional().Comment("the numbers the body is about"),
		field.Strings("unrouted_phone_number_ids").Optional().
			Comment("those of phone_number_ids no number had when it was processed: linking one replays the delivery"),
		field.String("error").Optional(),
		field.Int("attempts").Default(0),
		field.Time("processed_at").Optional().Nillable(),
		field.Time("due_at").Optional().Nillable().
			Comment("while RECEIVED: when a sweep may claim it (now, after a wait, or when a claim's lease ends)"),
		field.String("claim").Optional().
			Comment("the token of the ingest that holds it until due_at: only that ingest records its outcome"),
	}
}

// Indexes of the WebhookDelivery.
func (WebhookDelivery) Indexes() []ent.Index {
	return []ent.Index{index.Fields("state", "created_at"), index.Fields("state", "due_at")}
}

// Annotations of the WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}

// Policy of the WebhookDelivery: platform work only.
func (WebhookDelivery) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{platformOnly{}},
		Mutation: privacy.MutationPolicy{platformOnly{}},
	}
}

// platformOnly denies everything not already allowed by the context's
// privacy.Allow decision (which ent checks before any rule).
type platformOnly struct{}

func (platformOnly) EvalQuery(context.Context, ent.Query) error {
	return privacy.Denyf("platform records: not for viewers")
}

func (platformOnly) EvalMutation(context.Context, ent.Mutation) error {
	return privacy.Denyf("platform records: not for viewers")
}
