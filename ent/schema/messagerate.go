package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// MessageRate is one line of a tenant's rate card: what the provider charges
// for a billable message of a pricing category to a market. The tenant
// copies the figures from Meta's published rate card (or its partner's
// invoice); costs are computed from the rates in force when they are read.
type MessageRate struct {
	ent.Schema
}

// Mixin of the MessageRate.
func (MessageRate) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rate"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the MessageRate.
func (MessageRate) Fields() []ent.Field {
	return []ent.Field{
		field.String("category").NotEmpty().MaxLen(64).
			Comment("the pricing category of the status webhooks: marketing, utility, authentication, service, ..."),
		field.String("market").NotEmpty().MaxLen(8).Default("*").
			Comment(`the recipient's international dialling prefix ("44", "1", "55"; the longest match wins), or "*" for any`),
		field.String("currency").NotEmpty().MaxLen(3).Default("USD"),
		field.Int64("price_micros").NonNegative().Comment("per billable message, in millionths of the currency unit"),
	}
}

// Indexes of the MessageRate.
func (MessageRate) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "category", "market").Unique()}
}

// Annotations of the MessageRate: typed by hand in graph/schema/whatsapp.graphqls.
func (MessageRate) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
