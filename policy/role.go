package policy

import "github.com/switchboard-dev/switchboard/viewer"

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

// IsBuiltinRole reports whether name is a built-in role.
func IsBuiltinRole(name string) bool {
	for _, r := range BuiltinRoles {
		if r == name {
			return true
		}
	}
	return false
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

// DefaultGrants returns the switches a built-in role starts with.
func DefaultGrants(role string) []Permission {
	return append([]Permission(nil), defaultGrants[role]...)
}

// Allowed reports whether the viewer holds permission p through one of their
// roles. The system viewer holds every permission.
//
// Until tenant-defined roles exist, the built-in grants above decide.
func Allowed(v *viewer.Viewer, p Permission) bool {
	if v == nil {
		return false
	}
	if v.Kind == viewer.KindSystem {
		return true
	}
	for _, r := range v.Roles {
		for _, g := range defaultGrants[r] {
			if g == p {
				return true
			}
		}
	}
	return false
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
