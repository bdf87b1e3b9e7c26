package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// AutomationRule is one rule of a tenant's automation: when its trigger
// happens to a conversation and every condition holds, its actions run.
// Rules run in position order; one that stops processing ends the pass.
type AutomationRule struct {
	ent.Schema
}

// Mixin of the AutomationRule.
func (AutomationRule) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aur"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the AutomationRule.
func (AutomationRule) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.Int("position").Default(0).Annotations(entgql.OrderField("POSITION")).
			Comment("rules run in ascending position, then by id"),
		field.Bool("enabled").Default(true),
		field.Enum("trigger").Values(
			"CONVERSATION_CREATED", "CUSTOMER_MESSAGE", "AGENT_MESSAGE", "STATUS_CHANGED", "ASSIGNED",
			"NO_AGENT_REPLY", "NO_CUSTOMER_REPLY", "OPEN_FOR", "SNOOZE_ENDED",
		),
		field.Int("delay_minutes").Default(0).Min(0).Max(60 * 24 * 30).
			Comment("for the timer triggers: how long, in minutes"),
		field.JSON("conditions", []schematype.RuleCondition{}).Optional().Annotations(entgql.Skip(entgql.SkipType)),
		field.JSON("actions", []schematype.RuleAction{}).Annotations(entgql.Skip(entgql.SkipType)),
		field.Bool("stop_processing").Default(false).Comment("later rules do not run on the same event"),
	}
}

// Indexes of the AutomationRule.
func (AutomationRule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "trigger", "position")}
}

// Annotations of the AutomationRule.
func (AutomationRule) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}

// AutomationRun is the log of one rule's execution on one conversation:
// what triggered it, what it did, and how it ended.
type AutomationRun struct {
	ent.Schema
}

// Mixin of the AutomationRun.
func (AutomationRun) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "aurn"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the AutomationRun.
func (AutomationRun) Fields() []ent.Field {
	return []ent.Field{
		field.String("rule_id").Immutable().Comment("the rule, kept after it is deleted"),
		field.String("rule_name").Immutable(),
		field.String("conversation_id").Immutable(),
		field.String("trigger").Immutable(),
		field.Int("depth").Immutable().Comment("0 for an outside event, n for one caused by a rule's action"),
		field.Enum("outcome").Values("APPLIED", "SKIPPED", "FAILED").Immutable(),
		field.Strings("actions").Optional().Immutable().Comment("what was done, for people"),
		field.String("detail").Optional().MaxLen(1000).Immutable().Comment("why it was skipped or failed"),
	}
}

// Indexes of the AutomationRun.
func (AutomationRun) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "created_at"),
		index.Fields("conversation_id", "created_at"),
		index.Fields("rule_id", "created_at"),
	}
}

// Annotations of the AutomationRun.
func (AutomationRun) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection(),
		entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)}
}
