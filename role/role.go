// Package role manages a tenant's roles: their feature switches, their field
// rules and who holds them. Every change is audited in its transaction and,
// once committed, makes the authorizer reload the tenant's policy, so it
// applies from the next request on.
package role

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/apikey"
	"github.com/switchboard-dev/switchboard/ent/casbinrule"
	entrole "github.com/switchboard-dev/switchboard/ent/role"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Service changes roles.
type Service struct {
	client *ent.Client
	authz  *policy.Authorizer
	pub    *realtime.Publisher
}

// NewService returns a Service over client that tells authz (this instance)
// and pub (every instance) about changes.
func NewService(client *ent.Client, authz *policy.Authorizer, pub *realtime.Publisher) *Service {
	return &Service{client: client, authz: authz, pub: pub}
}

// changed makes the tenant's policy reload once tx commits, here and on
// every instance.
func (s *Service) changed(ctx context.Context, tx *ent.Tx, extra ...realtime.Event) {
	s.authz.InvalidateOnCommit(ctx, tx)
	s.pub.OnCommit(tx, append([]realtime.Event{realtime.PolicyChangedEvent(viewer.FromContext(ctx).TenantID)}, extra...)...)
}

// change runs fn in a transaction that, once committed, invalidates the
// tenant's policy everywhere.
func (s *Service) change(ctx context.Context, fn func(ctx context.Context, tx *ent.Tx) (*ent.Role, error)) (*ent.Role, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Role, error) {
		s.changed(ctx, tx)
		return fn(ctx, tx)
	})
}

// Create makes a custom role with the given switches.
func (s *Service) Create(ctx context.Context, name, label, description string, perms []policy.Permission) (*ent.Role, error) {
	if err := checkPermissions(perms); err != nil {
		return nil, err
	}
	if err := policy.CheckGrantable(ctx, perms); err != nil {
		return nil, err
	}
	name = strings.TrimSpace(name)
	return s.change(ctx, func(ctx context.Context, tx *ent.Tx) (*ent.Role, error) {
		r, err := tx.Role.Create().SetName(name).SetLabel(strings.TrimSpace(label)).SetDescription(description).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := policy.WriteRules(ctx, tx.Client(), switchRules(name, perms)...); err != nil {
			return nil, err
		}
		return r, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionRoleCreated, TargetID: r.ID, After: perms,
			Summary: fmt.Sprintf("created role %s with %d switches", name, len(perms)),
		})
	})
}

// Update changes a role's label, description or switches (perms replaces
// them when not nil). A built-in role cannot be emptied, and no change may
// leave the company without an active holder of tenant.manage.
func (s *Service) Update(ctx context.Context, id string, label, description *string, perms []policy.Permission) (*ent.Role, error) {
	if perms != nil {
		if err := checkPermissions(perms); err != nil {
			return nil, err
		}
	}
	return s.change(ctx, func(ctx context.Context, tx *ent.Tx) (*ent.Role, error) {
		r, err := tx.Role.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := checkOwnerRole(ctx, tx.Client(), r.Name); err != nil {
			return nil, err
		}
		u := r.Update()
		if label != nil {
			u.SetLabel(strings.TrimSpace(*label))
		}
		if description != nil {
			u.SetDescription(*description)
		}
		if r, err = u.Save(ctx); err != nil {
			return nil, err
		}
		if perms == nil {
			return r, nil
		}
		if r.Builtin && len(perms) == 0 {
			return nil, apperr.New(apperr.Conflict, "the built-in role %s cannot be emptied", r.Name)
		}
		before, err := Permissions(ctx, tx.Client(), r.Name)
		if err != nil {
			return nil, err
		}
		var added []policy.Permission
		for _, p := range perms {
			if !slices.Contains(before, p) {
				added = append(added, p)
			}
		}
		if err := policy.CheckGrantable(ctx, added); err != nil {
			return nil, err
		}
		if err := replaceSwitches(ctx, tx.Client(), r.Name, perms); err != nil {
			return nil, err
		}
		if err := policy.CheckTenantManaged(ctx, tx.Client()); err != nil {
			return nil, err
		}
		return r, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionRoleUpdated, TargetID: r.ID, Before: before, After: perms,
			Summary: fmt.Sprintf("role %s: %s", r.Name, diff(before, perms)),
		})
	})
}

// Delete removes a custom role that nobody holds.
func (s *Service) Delete(ctx context.Context, id string) (*ent.Role, error) {
	return s.change(ctx, func(ctx context.Context, tx *ent.Tx) (*ent.Role, error) {
		r, err := tx.Role.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if r.Builtin {
			return nil, apperr.New(apperr.Conflict, "the built-in role %s cannot be deleted", r.Name)
		}
		holders, err := holdersOf(ctx, tx.Client(), r.Name)
		if err != nil {
			return nil, err
		}
		if holders > 0 {
			return nil, apperr.New(apperr.Conflict, "%d agents or API keys hold %s: give them other roles first", holders, r.Name)
		}
		if err := policy.RemoveRules(ctx, tx.Client(), r.Name, ""); err != nil {
			return nil, err
		}
		if err := tx.Role.DeleteOne(r).Exec(ctx); err != nil {
			return nil, err
		}
		return r, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionRoleDeleted, TargetID: r.ID, Summary: "deleted role " + r.Name,
		})
	})
}

// SetFieldRule sets what a role gets for a field (or a whole type,
// "Type.*"), overriding the default rule. coordinate must name a field of the
// schema; the caller checks it against the schema.
func (s *Service) SetFieldRule(ctx context.Context, roleID string, c policy.Coordinate, eff policy.Effect) (*ent.Role, error) {
	return s.fieldRule(ctx, roleID, c, &eff)
}

// ClearFieldRule returns a field of a role to its default rule.
func (s *Service) ClearFieldRule(ctx context.Context, roleID string, c policy.Coordinate) (*ent.Role, error) {
	return s.fieldRule(ctx, roleID, c, nil)
}

// fieldRule replaces the role's rule for c with eff, or with none (the
// default) when eff is nil.
func (s *Service) fieldRule(ctx context.Context, roleID string, c policy.Coordinate, eff *policy.Effect) (*ent.Role, error) {
	return s.change(ctx, func(ctx context.Context, tx *ent.Tx) (*ent.Role, error) {
		r, err := tx.Role.Get(ctx, roleID)
		if err != nil {
			return nil, err
		}
		if err := checkOwnerRole(ctx, tx.Client(), r.Name); err != nil {
			return nil, err
		}
		if eff != nil && *eff != policy.Allow && isRoot(c.Type) {
			owner, err := holdsTenantManage(ctx, tx.Client(), r.Name)
			if err != nil {
				return nil, err
			}
			if owner {
				return nil, apperr.New(apperr.Conflict, "%s holds %s: narrowing its %s would lock the company's owners out", r.Name, policy.TenantManage, c)
			}
		}
		if err := policy.RemoveRules(ctx, tx.Client(), r.Name, c.String()); err != nil {
			return nil, err
		}
		after, summary := "DEFAULT", fmt.Sprintf("role %s: %s back to its default", r.Name, c)
		if eff != nil {
			if err := policy.WriteRules(ctx, tx.Client(), policy.FieldRuleLines(r.Name, c, *eff)...); err != nil {
				return nil, err
			}
			after, summary = eff.String(), fmt.Sprintf("role %s: %s is %s", r.Name, c, *eff)
		}
		return r, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionFieldRuleSet, TargetID: r.ID, After: map[string]string{c.String(): after}, Summary: summary,
		})
	})
}

// Assign gives an agent exactly the roles roleIDs. The agent's access tokens
// stop working at once (they carry the old roles); a refresh brings the new ones.
func (s *Service) Assign(ctx context.Context, agentID string, roleIDs []string) (*ent.Agent, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Agent, error) {
		s.changed(ctx, tx, realtime.AgentRevokedEvent(viewer.FromContext(ctx).TenantID, agentID))
		a, err := tx.Agent.Get(ctx, agentID)
		if err != nil {
			return nil, err
		}
		// Taking roles away is changing someone: not someone who outranks you.
		if err := policy.CheckOutranks(ctx, tx.Client(), a.Roles); err != nil {
			return nil, err
		}
		roles, err := tx.Role.Query().Where(entrole.IDIn(roleIDs...)).All(ctx)
		if err != nil {
			return nil, err
		}
		if len(roles) == 0 || len(roles) != len(dedupe(roleIDs)) {
			return nil, apperr.New(apperr.NotFound, "roleIDs: no such role")
		}
		names := make([]string, len(roles))
		for i, r := range roles {
			names[i] = r.Name
		}
		slices.Sort(names)
		if err := policy.CheckRoles(ctx, tx.Client(), names); err != nil {
			return nil, err
		}
		before := a.Roles
		if a, err = a.Update().SetRoles(names).SetTokensValidAfter(policy.RevocationInstant()).Save(ctx); err != nil {
			return nil, err
		}
		if err := policy.CheckTenantManaged(ctx, tx.Client()); err != nil {
			return nil, err
		}
		return a, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionRolesAssigned, TargetID: a.ID, Before: before, After: names,
			Summary: fmt.Sprintf("%s now holds %s (was %s)", a.Name, strings.Join(names, ", "), strings.Join(before, ", ")),
		})
	})
}

// Permissions lists the switches a role holds, in catalogue order.
func Permissions(ctx context.Context, client *ent.Client, roleName string) ([]policy.Permission, error) {
	objs, err := client.CasbinRule.Query().
		Where(casbinrule.Ptype("p"), casbinrule.V0(roleName), casbinrule.V3("use"), casbinrule.V4("allow")).
		Select(casbinrule.FieldV2).Strings(ctx)
	if err != nil {
		return nil, err
	}
	var out []policy.Permission
	for _, e := range policy.Catalog {
		if slices.Contains(objs, string(e.ID)) {
			out = append(out, e.ID)
		}
	}
	return out, nil
}

// FieldRule is one field rule a role has set.
type FieldRule struct {
	Coordinate string
	Effect     policy.Effect
}

// FieldRules lists the field rules a role overrides.
func FieldRules(ctx context.Context, client *ent.Client, roleName string) ([]FieldRule, error) {
	rules, err := client.CasbinRule.Query().
		Where(casbinrule.Ptype("p"), casbinrule.V0(roleName), casbinrule.V3NEQ("use")).
		Order(ent.Asc(casbinrule.FieldV2)).All(ctx)
	if err != nil {
		return nil, err
	}
	var out []FieldRule
	for _, r := range rules {
		out = append(out, FieldRule{Coordinate: r.V2, Effect: policy.EffectOfLine(r.V3, r.V4)})
	}
	return out, nil
}

func replaceSwitches(ctx context.Context, client *ent.Client, role string, perms []policy.Permission) error {
	if _, err := client.CasbinRule.Delete().
		Where(casbinrule.Ptype("p"), casbinrule.V0(role), casbinrule.V3("use")).
		Exec(ctx); err != nil {
		return err
	}
	return policy.WriteRules(ctx, client, switchRules(role, perms)...)
}

func switchRules(role string, perms []policy.Permission) []policy.Rule {
	out := make([]policy.Rule, len(perms))
	for i, p := range perms {
		out[i] = policy.Rule{Role: role, Object: string(p), Action: "use", Effect: "allow"}
	}
	return out
}

func checkPermissions(perms []policy.Permission) error {
	for _, p := range perms {
		if !policy.Known(p) {
			return apperr.Invalid("permissions", "unknown permission %q (see permissionCatalog)", p)
		}
	}
	return nil
}

func holdersOf(ctx context.Context, client *ent.Client, role string) (int, error) {
	agents, err := client.Agent.Query().Select(agent.FieldRoles).All(ctx)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, a := range agents {
		if slices.Contains(a.Roles, role) {
			n++
		}
	}
	keys, err := client.APIKey.Query().Where(apikey.Role(role), apikey.RevokedAtIsNil()).Count(ctx)
	return n + keys, err
}

func diff(before, after []policy.Permission) string {
	var added, removed []string
	for _, p := range after {
		if !slices.Contains(before, p) {
			added = append(added, "+"+string(p))
		}
	}
	for _, p := range before {
		if !slices.Contains(after, p) {
			removed = append(removed, "-"+string(p))
		}
	}
	if len(added)+len(removed) == 0 {
		return "no change"
	}
	return strings.Join(append(added, removed...), " ")
}

func dedupe(ids []string) []string {
	return slices.Compact(slices.Sorted(slices.Values(ids)))
}

// checkOwnerRole refuses to change a role holding tenant.manage (the owner
// role, or any role made like it) unless the viewer holds tenant.manage: an
// administrator cannot narrow the owners.
func checkOwnerRole(ctx context.Context, client *ent.Client, name string) error {
	if policy.Can(ctx, policy.TenantManage) {
		return nil
	}
	owner, err := holdsTenantManage(ctx, client, name)
	if err != nil {
		return err
	}
	if owner {
		return apperr.New(apperr.Forbidden, "%s holds %s: only someone holding it changes the role", name, policy.TenantManage)
	}
	return nil
}

func holdsTenantManage(ctx context.Context, client *ent.Client, name string) (bool, error) {
	perms, err := Permissions(ctx, client, name)
	return slices.Contains(perms, policy.TenantManage), err
}

// isRoot reports whether typ is a root operation type, whose fields are the
// API itself.
func isRoot(typ string) bool {
	return typ == "Query" || typ == "Mutation" || typ == "Subscription"
}
