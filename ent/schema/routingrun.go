package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// RoutingRun is the log of one redistribution: which schedule ran, for which
// slot, and what moved where. One row per (schedule, slot): a second instance
// running the same slot finds it taken.
type RoutingRun struct {
	ent.Schema
}

// Mixin of the RoutingRun.
func (RoutingRun) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rrun"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the RoutingRun.
func (RoutingRun) Fields() []ent.Field {
	return []ent.Field{
		field.String("schedule").NotEmpty().MaxLen(100).Immutable().
			Comment(`the schedule's name, e.g. "weekdays 09:00"; "manual" for redistributeNow`),
		field.String("slot").NotEmpty().Immutable().
			Comment("the local date and time the run is for, e.g. 2026-11-30T09:00: unique per schedule"),
		field.Time("finished_at").Optional().Nillable(),
		field.Int("moved_count").Default(0),
		field.JSON("moves", []schematype.RoutingMove{}).Optional().Annotations(entgql.Skip(entgql.SkipType)),
	}
}

// Indexes of the RoutingRun.
func (RoutingRun) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "schedule", "slot").Unique()}
}

// Annotations of the RoutingRun.
func (RoutingRun) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}
