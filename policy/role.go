package policy

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/casbinrule"
	"github.com/switchboard-dev/switchboard/ent/role"
)

// Built-in roles.
const (
	RoleOwner      = "owner"
	RoleAdmin      = "admin"
	RoleSupervisor = "supervisor"
	RoleAgent      = "agent"
	RoleAuditor    = "auditor"
	RolePartner    = "partner"
)

// BuiltinRoles lists the roles every tenant has, in display order.
var BuiltinRoles = []string{RoleOwner, RoleAdmin, RoleSupervisor, RoleAgent, RoleAuditor, RolePartner}

// builtinLabels name the built-in roles for people.
var builtinLabels = map[string][2]string{
	RoleOwner:      {"Owner", "Runs the company's account: every switch, including company settings."},
	RoleAdmin:      {"Administrator", "Manages numbers, people, roles and integrations."},
	RoleSupervisor: {"Supervisor", "Watches every conversation, assigns and replies on behalf of agents."},
	RoleAgent:      {"Agent", "Answers the conversations of their numbers."},
	RoleAuditor:    {"Auditor", "Reads everything, including the audit log; changes nothing."},
	RolePartner:    {"Partner integration", "What a partner's console or CRM may do through an API key."},
}

// defaultGrants are the switches each built-in role starts with.
var defaultGrants = map[string][]Permission{
	RoleOwner: allPermissions(),
	RoleAdmin: except(allPermissions(), TenantManage),
	RoleSupervisor: {
		ConversationReadAll, ConversationReply, ConversationAssign, ConversationTransfer, ConversationResolve,
		ConversationExport, MessageDelete, MessageViewDeleted,
		ContactRead, ContactViewPhone, ContactEdit, ContactExport,
		NumberView, AgentView, GroupView, GroupManageSettings, GroupManageMembers, GroupModerate,
		BroadcastCreate, BroadcastViewStats, ReportViewOwn, ReportViewAll, ReportExport,
	},
	RoleAgent: {
		ConversationReadNumber, ConversationReply, ConversationResolve, ConversationTransfer,
		ContactRead, ContactEdit, NumberView, AgentView, GroupView, ReportViewOwn,
	},
	RoleAuditor: {
		ConversationReadAll, MessageViewDeleted, ContactRead, NumberView, AgentView, GroupView,
		BroadcastViewStats, ReportViewAll, AuditView,
	},
	RolePartner: {
		ConversationReadAll, ConversationReply, ConversationAssign, ConversationTransfer, ConversationResolve,
		ContactRead, ContactViewPhone, ContactEdit, NumberView, AgentView, GroupView,
	},
}

func allPermissions() []Permission {
	out := make([]Permission, len(Catalog))
	for i, e := range Catalog {
		out[i] = e.ID
	}
	return out
}

func except(ps []Permission, drop ...Permission) []Permission {
	out := ps[:0:0]
	for _, p := range ps {
		keep := true
		for _, d := range drop {
			keep = keep && p != d
		}
		if keep {
			out = append(out, p)
		}
	}
	return out
}

// SeedBuiltinRoles gives the tenant of ctx's viewer the built-in roles with
// their default switches, skipping roles it already has. It runs when a tenant
// is created and, for tenants older than roles, when their policy first loads.
func SeedBuiltinRoles(ctx context.Context, client *ent.Client) error {
	have, err := client.Role.Query().Where(role.Builtin(true)).Select(role.FieldName).Strings(ctx)
	if err != nil {
		return fmt.Errorf("seed roles: %w", err)
	}
	for _, name := range BuiltinRoles {
		if slices.Contains(have, name) {
			continue
		}
		label := builtinLabels[name]
		if err := client.Role.Create().SetName(name).SetLabel(label[0]).SetDescription(label[1]).SetBuiltin(true).Exec(ctx); err != nil {
			return fmt.Errorf("seed role %s: %w", name, err)
		}
		rules := make([]Rule, 0, len(defaultGrants[name]))
		for _, p := range defaultGrants[name] {
			rules = append(rules, Rule{Role: name, Object: string(p), Action: actUse, Effect: "allow"})
		}
		if err := WriteRules(ctx, client, rules...); err != nil {
			return fmt.Errorf("seed role %s: %w", name, err)
		}
	}
	return nil
}

// CheckRoles refuses role names the tenant of ctx does not have, and roles
// holding a switch the viewer of ctx does not hold (CheckGrantable).
func CheckRoles(ctx context.Context, client *ent.Client, names []string) error {
	if len(names) == 0 {
		return apperr.Invalid("roles", "at least one role is needed")
	}
	found, err := client.Role.Query().Where(role.NameIn(names...)).Select(role.FieldName).Strings(ctx)
	if err != nil {
		return err
	}
	for _, n := range names {
		if !slices.Contains(found, n) {
			return apperr.Invalid("roles", "unknown role %q", n)
		}
	}
	perms, err := switchesOf(ctx, client, names)
	if err != nil {
		return err
	}
	return CheckGrantable(ctx, perms)
}

// CheckOutranks refuses unless the viewer of ctx holds every switch of the
// roles names (someone's roles): nobody changes the credentials of, disables
// or re-enables someone holding a switch they do not hold.
func CheckOutranks(ctx context.Context, client *ent.Client, names []string) error {
	perms, err := switchesOf(ctx, client, names)
	if err != nil {
		return err
	}
	for _, p := range perms {
		if !Can(ctx, p) {
			return apperr.New(apperr.Forbidden, "they hold %s, which you do not", p)
		}
	}
	return nil
}

// switchesOf lists the switches the roles names hold, together.
func switchesOf(ctx context.Context, client *ent.Client, names []string) ([]Permission, error) {
	held, err := client.CasbinRule.Query().
		Where(casbinrule.Ptype("p"), casbinrule.V0In(names...), casbinrule.V3(actUse), casbinrule.V4("allow")).
		Select(casbinrule.FieldV2).Strings(ctx)
	if err != nil {
		return nil, err
	}
	perms := make([]Permission, len(held))
	for i, p := range held {
		perms[i] = Permission(p)
	}
	return perms, nil
}

// CheckGrantable refuses to give away a switch the viewer of ctx does not
// hold: nobody makes a role, an API key or a colleague more powerful than
// themselves (an administrator cannot make an owner).
func CheckGrantable(ctx context.Context, perms []Permission) error {
	for _, p := range perms {
		if !Can(ctx, p) {
			return apperr.New(apperr.Forbidden, "you cannot grant %s: you do not hold it", p)
		}
	}
	return nil
}

// CheckTenantManaged refuses a change that would leave the tenant of ctx
// without an active agent holding tenant.manage: the last owner cannot lose
// it. Run it in the changing transaction, after the change.
func CheckTenantManaged(ctx context.Context, client *ent.Client) error {
	managers, err := client.CasbinRule.Query().
		Where(casbinrule.Ptype("p"), casbinrule.V2(string(TenantManage)), casbinrule.V3(actUse), casbinrule.V4("allow")).
		Select(casbinrule.FieldV0).Strings(ctx)
	if err != nil {
		return err
	}
	active, err := client.Agent.Query().Where(agent.DisabledAtIsNil()).Select(agent.FieldRoles).All(ctx)
	if err != nil {
		return err
	}
	for _, a := range active {
		for _, r := range a.Roles {
			if slices.Contains(managers, r) {
				return nil
			}
		}
	}
	return apperr.New(apperr.Conflict, "the company would be left without anyone holding %s: keep at least one active owner", TenantManage)
}
