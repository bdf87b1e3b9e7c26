package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"entgo.io/ent/schema/mixin"

	"github.com/switchboard-dev/switchboard/pulid"
)

// IDMixin gives an entity a prefixed ULID primary key ("cnv_01J…").
type IDMixin struct {
	mixin.Schema
	Prefix string
}

// Fields of the IDMixin.
func (m IDMixin) Fields() []ent.Field {
	prefix := m.Prefix
	return []ent.Field{
		field.String("id").
			Immutable().
			NotEmpty().
			DefaultFunc(func() string { return pulid.New(prefix) }),
	}
}

// TenantMixin scopes an entity to one tenant: a required, immutable tenant_id,
// set from the viewer on create and filtered from the viewer on every read and
// write (TenantPolicy).
type TenantMixin struct {
	mixin.Schema
}

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{
		field.String("tenant_id").Immutable().NotEmpty().Annotations(entgql.Skip()),
	}
}

// Edges of the TenantMixin.
func (TenantMixin) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).
			Field("tenant_id").
			Unique().
			Required().
			Immutable().
			Annotations(entgql.Skip()),
	}
}

// Indexes of the TenantMixin.
func (TenantMixin) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id")}
}

// Hooks of the TenantMixin.
func (TenantMixin) Hooks() []ent.Hook {
	return []ent.Hook{setTenantOnCreate}
}

// Policy of the TenantMixin.
func (TenantMixin) Policy() ent.Policy {
	return tenantPolicy("tenant_id")
}

// TimeMixin records when a row was created and last updated.
type TimeMixin struct {
	mixin.Schema
}

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Immutable().Default(time.Now).
			Annotations(entgql.OrderField("CREATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput)),
		field.Time("updated_at").Default(time.Now).UpdateDefault(time.Now).
			Annotations(entgql.OrderField("UPDATED_AT"), entgql.Skip(entgql.SkipMutationCreateInput, entgql.SkipMutationUpdateInput)),
	}
}

// IDPrefix is the schema annotation that carries an entity's ID prefix into
// code generation (ent/template/ident.tmpl).
type IDPrefix struct {
	Prefix string
}

// Name of the annotation.
func (IDPrefix) Name() string { return "IDPrefix" }

// Annotations of the IDMixin.
func (m IDMixin) Annotations() []schema.Annotation {
	return []schema.Annotation{IDPrefix{Prefix: m.Prefix}}
}

// guardedInAPI leaves a field out of the generated GraphQL type: the field
// guard may deny it, so graph/schema/policy.graphqls declares it nullable.
// Inputs and filters keep it.
var guardedInAPI = entgql.Skip(entgql.SkipType)
