package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Agent is an employee login: an agent, a supervisor, an owner.
type Agent struct {
	ent.Schema
}

// Mixin of the Agent.
func (Agent) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "agt"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Agent.
func (Agent) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.String("email").Match(emailPattern).MaxLen(320).
			Comment("lowercase; unique within a tenant; guarded by the field rules (graph/schema/policy.graphqls)").
			Annotations(entgql.OrderField("EMAIL"), entgql.Skip(entgql.SkipType)),
		field.String("employee_code").Optional().MaxLen(32).
			Comment(`the number customers see, as in "agent #103"`),
		field.String("password_hash").Sensitive().Annotations(entgql.Skip()),
		field.Strings("roles").Default([]string{"agent"}),
		field.Enum("presence").Values("ONLINE", "AWAY", "OFFLINE").Default("OFFLINE").
			Annotations(entgql.OrderField("PRESENCE")),
		field.Int("max_concurrent").Default(5).Min(0).Max(1000),
		field.Time("disabled_at").Optional().Nillable(),
		field.Int("open_count").Default(0).
			Annotations(entgql.Skip()).
			Comment("unresolved conversations assigned to the agent (their load); kept by the conversation hook (load.go)"),
		field.Time("last_assigned_at").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("when routing last gave the agent a conversation (round-robin order)"),
		field.JSON("working_hours", []schematype.BusinessHours{}).Optional().
			Annotations(entgql.Skip()).
			Comment("the agent's shift in the tenant's time zone; empty: the business hours"),
		field.Time("online_until").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("presence lease: renewed by every instance holding a connection of the agent; OFFLINE once it lapses"),
		field.String("reset_hash").Optional().Sensitive().
			Annotations(entgql.Skip()).
			Comment("SHA-256 of the one password-reset token issued by an admin and not used yet"),
		field.Time("reset_expires_at").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("when the reset token stops working"),
		field.Time("tokens_valid_after").Optional().Nillable().
			Annotations(entgql.Skip()).
			Comment("access tokens issued before this instant are refused (role change, disabling)"),
	}
}

// Edges of the Agent.
func (Agent) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("teams", Team.Type).Ref("agents"),
		edge.From("numbers", Number.Type).Ref("members"),
		edge.From("admin_of", Group.Type).Ref("admins").Annotations(entgql.Skip()),
		edge.From("assigned", Conversation.Type).Ref("assignee").
			Annotations(entgql.RelayConnection()),
		edge.To("sessions", Session.Type).Annotations(entgql.Skip()),
	}
}

// Indexes of the Agent.
func (Agent) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "email").Unique(),
		index.Fields("email"),
		index.Fields("tenant_id", "employee_code"),
		// routing's claim, in the least-loaded order (open_count,
		// last_assigned_at, id): its LIMIT 1 stops at the first eligible
		// agent instead of sorting the tenant's agents. SQLite sorts NULL
		// first already; the Postgres migration (0032) declares
		// last_assigned_at NULLS FIRST by hand (ent cannot say it).
		index.Fields("tenant_id", "presence", "open_count", "last_assigned_at", "id"),
	}
}

// Annotations of the Agent.
func (Agent) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.QueryField(), entgql.RelayConnection()}
}
