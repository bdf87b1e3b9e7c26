package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Offboarding remembers what offboarding an agent took away that
// reinstating gives back: the teams they were in. What it did is in the
// audit chain; the conversations it moved are in their assignment history.
type Offboarding struct {
	ent.Schema
}

// Mixin of the Offboarding.
func (Offboarding) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ofb"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Offboarding.
func (Offboarding) Fields() []ent.Field {
	return []ent.Field{
		field.String("agent_id").Immutable(),
		field.Strings("team_ids").Optional().Immutable().Comment("the teams the agent left"),
		field.Time("reinstated_at").Optional().Nillable(),
	}
}

// Edges of the Offboarding.
func (Offboarding) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("agent", Agent.Type).Field("agent_id").Unique().Required().Immutable(),
	}
}

// Indexes of the Offboarding.
func (Offboarding) Indexes() []ent.Index {
	return []ent.Index{index.Fields("agent_id", "created_at")}
}

// Annotations of the Offboarding: not in the API (the mutation's answer
// and the audit chain say what was done).
func (Offboarding) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
