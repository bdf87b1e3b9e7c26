package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Segment is a saved filter over a tenant's contacts (tags, typed
// attributes, opt-in, numbers, recent inbound), resolved when it is used:
// broadcasts choose their audience with one.
type Segment struct {
	ent.Schema
}

// Mixin of the Segment.
func (Segment) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "seg"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Segment.
func (Segment) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.String("description").Optional().MaxLen(1000),
		field.JSON("filter", schematype.SegmentFilter{}).Annotations(entgql.Skip(entgql.SkipType, entgql.SkipWhereInput)),
		field.String("created_by_id").Optional().Immutable().Comment("the agent who saved it").
			Annotations(entgql.Skip(entgql.SkipWhereInput)),
	}
}

// Indexes of the Segment.
func (Segment) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique()}
}

// Annotations of the Segment.
func (Segment) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
