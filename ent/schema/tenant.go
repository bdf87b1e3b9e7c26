package schema

import (
	"context"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/privacy"
	"entgo.io/ent/schema/field"

	"github.com/switchboard-dev/switchboard/ent/intercept"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Tenant is a company using Switchboard; everything else belongs to one.
type Tenant struct {
	ent.Schema
}

// Mixin of the Tenant.
func (Tenant) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{Prefix: "ten"}, TimeMixin{}}
}

// Fields of the Tenant.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).Annotations(entgql.OrderField("NAME")),
		field.String("slug").Unique().Immutable().Match(slugPattern),
		field.String("timezone").Default("UTC"),
		field.JSON("settings", schematype.TenantSettings{}).Default(schematype.TenantSettings{}),
	}
}

// Policy of the Tenant: a viewer sees and changes only their own tenant;
// creating one is platform work (privacy.Allow in the context).
func (Tenant) Policy() ent.Policy {
	return privacy.Policy{
		Query:    privacy.QueryPolicy{ownTenant{}},
		Mutation: privacy.MutationPolicy{ownTenant{}},
	}
}

type ownTenant struct{}

func (ownTenant) EvalQuery(ctx context.Context, q ent.Query) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" {
		return privacy.Denyf("tenant: no viewer")
	}
	iq, err := intercept.NewQuery(q)
	if err != nil {
		return privacy.Denyf("tenant: %v", err)
	}
	iq.WhereP(sql.FieldEQ("id", v.TenantID))
	return privacy.Skip
}

func (ownTenant) EvalMutation(ctx context.Context, m ent.Mutation) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" || m.Op().Is(ent.OpCreate) {
		return privacy.Denyf("tenant: not allowed")
	}
	m.(wherer).WhereP(sql.FieldEQ("id", v.TenantID))
	return privacy.Skip
}
