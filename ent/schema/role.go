package schema

import (
	"regexp"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// roleNamePattern: a role's stable name, as stored in agents' roles and in
// Casbin rules ("supervisor", "cs_specialist").
var roleNamePattern = regexp.MustCompile(`^[a-z][a-z0-9_-]{1,39}$`)

// Role is a tenant's role: its switches and field rules live in Casbin rules
// (CasbinRule) whose subject is the role's name.
type Role struct {
	ent.Schema
}

// Mixin of the Role.
func (Role) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "rol"}, TimeMixin{}, TenantMixin{}}
}

// Fields of the Role.
func (Role) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").Immutable().Match(roleNamePattern),
		field.String("label").NotEmpty().MaxLen(100),
		field.String("description").Optional().MaxLen(1000),
		field.Bool("builtin").Immutable().Default(false),
	}
}

// Indexes of the Role.
func (Role) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique()}
}

// Annotations of the Role.
func (Role) Annotations() []schema.Annotation {
	return []schema.Annotation{}
}

// CasbinRule is one line of the Casbin policy ("p, supervisor, ten_…,
// conversation.reply, use, allow"), stored through the project's ent client by
// the adapter in policy/adapter.go.
type CasbinRule struct {
	ent.Schema
}

// Mixin of the CasbinRule.
func (CasbinRule) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "cbr"}, TenantMixin{}}
}

// Fields of the CasbinRule.
func (CasbinRule) Fields() []ent.Field {
	v := func(name string) ent.Field { return field.String(name).Default("").Immutable() }
	return []ent.Field{field.String("ptype").Immutable(), v("v0"), v("v1"), v("v2"), v("v3"), v("v4"), v("v5")}
}

// Indexes of the CasbinRule.
func (CasbinRule) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "ptype", "v0", "v1", "v2", "v3", "v4", "v5").Unique()}
}

// Annotations of the CasbinRule.
func (CasbinRule) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip(entgql.SkipAll)}
}
