package policy

import (
	"context"
	"errors"
	"fmt"
	"slices"

	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/casbinrule"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Adapter stores Casbin rules in the CasbinRule table through the project's
// own ent client: no second connection, no table created behind the
// migrations' back. The authorizer loads one tenant at a time
// (LoadFilteredPolicy with a Filter); the role service writes rules inside
// its own transactions with WriteRules and RemoveRules, so that a change, its
// audit record and its rules commit together.
type Adapter struct {
	client *ent.Client
}

// NewAdapter returns an adapter over client.
func NewAdapter(client *ent.Client) *Adapter { return &Adapter{client: client} }

// Filter selects the rules of one tenant.
type Filter struct{ TenantID string }

var (
	_ persist.Adapter         = (*Adapter)(nil)
	_ persist.FilteredAdapter = (*Adapter)(nil)
)

// LoadPolicy loads every tenant's rules. The server never does (it loads per
// tenant); it is here for tools and for Casbin's interface.
func (a *Adapter) LoadPolicy(m model.Model) error {
	rules, err := a.client.CasbinRule.Query().All(viewer.Platform(context.Background()))
	if err != nil {
		return fmt.Errorf("casbin: load rules: %w", err)
	}
	return loadRules(rules, m)
}

// LoadFilteredPolicy loads the rules of the tenant in filter (a Filter).
func (a *Adapter) LoadFilteredPolicy(m model.Model, filter any) error {
	f, ok := filter.(Filter)
	if !ok || f.TenantID == "" {
		return fmt.Errorf("casbin: filter must be a policy.Filter with a tenant, not %T", filter)
	}
	rules, err := a.client.CasbinRule.Query().All(viewer.System(context.Background(), f.TenantID))
	if err != nil {
		return fmt.Errorf("casbin: load rules of %s: %w", f.TenantID, err)
	}
	return loadRules(rules, m)
}

// IsFiltered reports that loaded policies are per tenant, so Casbin never
// saves a partial policy over the whole table.
func (a *Adapter) IsFiltered() bool { return true }

func loadRules(rules []*ent.CasbinRule, m model.Model) error {
	for _, r := range rules {
		line := trimEmpty([]string{r.Ptype, r.V0, r.V1, r.V2, r.V3, r.V4, r.V5})
		if err := persist.LoadPolicyArray(line, m); err != nil {
			return fmt.Errorf("casbin: rule %s: %w", r.ID, err)
		}
	}
	return nil
}

func trimEmpty(line []string) []string {
	for len(line) > 0 && line[len(line)-1] == "" {
		line = line[:len(line)-1]
	}
	return line
}

var errReadOnly = errors.New("casbin: rules are written by the role service in its transactions (policy.WriteRules)")

// SavePolicy is refused: rules are written per change, in transactions.
func (a *Adapter) SavePolicy(model.Model) error { return errReadOnly }

// AddPolicy is refused: see WriteRules.
func (a *Adapter) AddPolicy(string, string, []string) error { return errReadOnly }

// RemovePolicy is refused: see RemoveRules.
func (a *Adapter) RemovePolicy(string, string, []string) error { return errReadOnly }

// RemoveFilteredPolicy is refused: see RemoveRules.
func (a *Adapter) RemoveFilteredPolicy(string, string, int, ...string) error { return errReadOnly }

// Rule is one policy line of the viewer's tenant: subject (a role), object,
// action, effect.
type Rule struct {
	Role, Object, Action, Effect string
}

// WriteRules stores rules for the tenant of ctx's viewer through client (a
// transaction's client), skipping ones that exist: one read of the roles'
// rules, one bulk insert.
func WriteRules(ctx context.Context, client *ent.Client, rules ...Rule) error {
	if len(rules) == 0 {
		return nil
	}
	v := viewer.FromContext(ctx)
	roles := make([]string, 0, len(rules))
	for _, r := range rules {
		if !slices.Contains(roles, r.Role) {
			roles = append(roles, r.Role)
		}
	}
	existing, err := client.CasbinRule.Query().
		Where(casbinrule.Ptype("p"), casbinrule.V1(v.TenantID), casbinrule.V0In(roles...)).
		All(ctx)
	if err != nil {
		return err
	}
	have := make(map[Rule]bool, len(existing))
	for _, e := range existing {
		have[Rule{Role: e.V0, Object: e.V2, Action: e.V3, Effect: e.V4}] = true
	}
	creates := make([]*ent.CasbinRuleCreate, 0, len(rules))
	for _, r := range rules {
		if have[r] {
			continue
		}
		have[r] = true
		creates = append(creates, client.CasbinRule.Create().
			SetPtype("p").SetV0(r.Role).SetV1(v.TenantID).SetV2(r.Object).SetV3(r.Action).SetV4(r.Effect))
	}
	return client.CasbinRule.CreateBulk(creates...).Exec(ctx)
}

// RemoveRules deletes the rules of role (in ctx's tenant) on object; an empty
// object removes all of the role's rules.
func RemoveRules(ctx context.Context, client *ent.Client, role, object string) error {
	v := viewer.FromContext(ctx)
	q := client.CasbinRule.Delete().Where(casbinrule.Ptype("p"), casbinrule.V0(role), casbinrule.V1(v.TenantID))
	if object != "" {
		q = q.Where(casbinrule.V2(object))
	}
	_, err := q.Exec(ctx)
	return err
}
