package schema

import (
	"context"
	"fmt"

	"entgo.io/ent"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/privacy"

	"github.com/switchboard-dev/switchboard/ent/intercept"

	"github.com/switchboard-dev/switchboard/viewer"
)

// tenantPolicy filters every query and every update or delete of an entity by
// the viewer's tenant, using column. Without a viewer nothing is allowed, unless
// the context carries an explicit privacy.Allow decision (platform-level work
// such as login by email or routing a webhook to its tenant).
func tenantPolicy(column string) ent.Policy {
	rule := tenantRule{column: column}
	return privacy.Policy{
		Query:    privacy.QueryPolicy{rule},
		Mutation: privacy.MutationPolicy{rule},
	}
}

type tenantRule struct{ column string }

type wherer interface {
	WhereP(...func(*sql.Selector))
}

func (r tenantRule) EvalQuery(ctx context.Context, q ent.Query) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" {
		return privacy.Denyf("tenant: no viewer")
	}
	iq, err := intercept.NewQuery(q)
	if err != nil {
		return privacy.Denyf("tenant: %v", err)
	}
	iq.WhereP(sql.FieldEQ(r.column, v.TenantID))
	return privacy.Skip
}

func (r tenantRule) EvalMutation(ctx context.Context, m ent.Mutation) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" {
		return privacy.Denyf("tenant: no viewer")
	}
	if m.Op().Is(ent.OpCreate) {
		// The privacy hook runs before setTenantOnCreate stamps the row, so an
		// unset tenant is fine; a different one is a forged write.
		if got, set := m.Field(r.column); set && got != v.TenantID {
			return privacy.Denyf("tenant: create in another tenant")
		}
		return privacy.Skip
	}
	w, ok := m.(wherer)
	if !ok {
		return privacy.Denyf("tenant: mutation %T cannot be filtered", m)
	}
	w.WhereP(sql.FieldEQ(r.column, v.TenantID))
	return privacy.Skip
}

// setTenantOnCreate stamps new rows with the viewer's tenant.
func setTenantOnCreate(next ent.Mutator) ent.Mutator {
	return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
		if !m.Op().Is(ent.OpCreate) {
			return next.Mutate(ctx, m)
		}
		if _, set := m.Field("tenant_id"); !set {
			v := viewer.FromContext(ctx)
			if v == nil || v.TenantID == "" {
				return nil, fmt.Errorf("create %s: no tenant in context", m.Type())
			}
			if err := m.SetField("tenant_id", v.TenantID); err != nil {
				return nil, err
			}
		}
		return next.Mutate(ctx, m)
	})
}
