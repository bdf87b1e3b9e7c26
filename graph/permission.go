package graph

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/switchboard-dev/switchboard/agent"
	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/viewer"
)

// mutationRule is what a mutation declares: the permission it needs (or that
// anonymous callers may run it), the type prefix of its `id` argument, and
// its audit: the action its transaction records, or why it records none.
type mutationRule struct {
	perm      policy.Permission
	anonymous bool
	id        string
	// audit is the action (audit.Action…) the mutation records in the
	// transaction of its change; the guard checks that it did.
	audit string
	// noAudit says why the mutation records nothing: it changes nothing a
	// business must account for (who can do what, what a customer sees,
	// which data leaves).
	noAudit string
}

// mutations is the one place every mutation declares its permission and its
// audit. Adding a mutation is one line here:
//
//		"createThing": {perm: policy.ThingManage, audit: audit.ActionThingCreated},
//		"markThingSeen": {perm: policy.ThingView, id: "thg", noAudit: "the viewer's own read marker"},
//
//	  - perm: the switch it needs (policy.Permission), or anonymous: true, or
//	    authenticatedOnly for what a signed-in caller does to themselves.
//	  - id: the type prefix of its `id` argument, if it has one.
//	  - audit: the action it records with audit.Record in the transaction of
//	    its change (add the constant to package audit). After the mutation
//	    succeeds the guard checks the record was committed; a path that changes
//	    nothing calls audit.Unchanged(ctx) instead. With Config.StrictAudit
//	    (every test) a missing record fails the mutation with INTERNAL; in
//	    production it is logged at ERROR.
//	  - noAudit: instead of audit, why the mutation records nothing. Whatever
//	    changes who can do what, what a customer sees or which data leaves
//	    (credentials, agents, roles, field rules, assignments, deletions,
//	    exports, API keys, webhooks) is audited.
//
// A mutation missing here is refused at run time, and
// TestEveryMutationDeclaresPermissionAndAudit fails on it, on a mutation
// that declares both audit and noAudit or neither, and on an entry the
// schema does not have.
var mutations = map[string]mutationRule{
	"login":   {anonymous: true, audit: audit.ActionLogin},
	"refresh": {anonymous: true, noAudit: "continues a session whose sign-in is recorded"},
	"logout":  {perm: authenticatedOnly, noAudit: "ends the caller's own session"},
	// Your own presence: anyone signed in as an agent.
	"setPresence": {perm: authenticatedOnly, noAudit: "the caller's own availability, a lease not a record"},

	"setFirstResponseTarget": {perm: policy.TenantManage, audit: audit.ActionTenantSettings},

	"setMessageRate": {perm: policy.TenantManage, audit: audit.ActionMessageRateSet},

	"syncTemplates":      {perm: policy.BroadcastCreate, audit: broadcast.ActionTemplatesSynced},
	"createBroadcast":    {perm: policy.BroadcastCreate, audit: broadcast.ActionCreated},
	"scheduleBroadcast":  {perm: policy.BroadcastSend, id: "bc", audit: broadcast.ActionScheduled},
	"pauseBroadcast":     {perm: policy.BroadcastSend, id: "bc", audit: broadcast.ActionPaused},
	"resumeBroadcast":    {perm: policy.BroadcastSend, id: "bc", audit: broadcast.ActionResumed},
	"cancelBroadcast":    {perm: policy.BroadcastSend, id: "bc", audit: broadcast.ActionCancelled},
	"setBroadcastPolicy": {perm: policy.TenantManage, audit: broadcast.ActionPolicySet},
	// A conversation export as a job (package export): the request is audited
	// here, the export itself when its file is written.
	"startConversationExport": {perm: policy.ConversationExport, audit: export.ActionJobStarted},
	"deleteMessageRate":       {perm: policy.TenantManage, id: "rate", audit: audit.ActionMessageRateDeleted},

	"createAPIKey": {perm: policy.APIKeyManage, audit: audit.ActionAPIKeyCreated},
	"revokeAPIKey": {perm: policy.APIKeyManage, id: "key", audit: audit.ActionAPIKeyRevoked},
	// Your own password, proving the current one; every session of yours ends.
	"changePassword":     {perm: authenticatedOnly, audit: audit.ActionPasswordChanged},
	"issuePasswordReset": {perm: policy.AgentManage, audit: audit.ActionPasswordResetIssued},
	// The reset token is the credential.
	"resetPassword": {anonymous: true, audit: audit.ActionPasswordReset},

	"createAgent":  {perm: policy.AgentManage, audit: audit.ActionAgentCreated},
	"updateAgent":  {perm: policy.AgentManage, id: "agt", audit: audit.ActionAgentUpdated},
	"disableAgent": {perm: policy.AgentManage, id: "agt", audit: audit.ActionAgentDisabled},
	"enableAgent":  {perm: policy.AgentManage, id: "agt", audit: audit.ActionAgentEnabled},
	// Offboarding moves the agent's conversations too: agent.manage is the switch that decides who works here.
	"offboardAgent":  {perm: policy.AgentManage, id: "agt", audit: agent.ActionOffboarded},
	"reinstateAgent": {perm: policy.AgentManage, id: "agt", audit: agent.ActionReinstated},
	"createTeam":     {perm: policy.AgentManage, audit: audit.ActionTeamCreated},
	"updateTeam":     {perm: policy.AgentManage, id: "team", audit: audit.ActionTeamUpdated},

	"linkNumber":           {perm: policy.NumberManage, audit: audit.ActionNumberLinked},
	"updateNumber":         {perm: policy.NumberManage, id: "num", audit: audit.ActionNumberUpdated},
	"unlinkNumber":         {perm: policy.NumberManage, id: "num", audit: audit.ActionNumberUnlinked},
	"setNumberCredentials": {perm: policy.NumberManage, id: "num", audit: audit.ActionCredentialsSet},
	// Webhooks received for the tenant's numbers, processed again (connector.Deliveries).
	"replayInboundDeliveries": {perm: policy.NumberManage, audit: audit.ActionDeliveriesReplayed},
	"createAutomationRule":    {perm: policy.AutomationManage, audit: automation.ActionRuleCreated},
	"updateAutomationRule":    {perm: policy.AutomationManage, id: "aur", audit: automation.ActionRuleUpdated},
	"deleteAutomationRule":    {perm: policy.AutomationManage, id: "aur", audit: automation.ActionRuleDeleted},
	"setRoutingPolicy":        {perm: policy.NumberManage, audit: routing.ActionPolicySet},
	// Opening hours decide auto-replies and after-hours reservations: the automation switch.
	"setBusinessHours":     {perm: policy.AutomationManage, audit: routing.ActionBusinessHoursSet},
	"setAgentWorkingHours": {perm: policy.AgentManage, id: "agt", audit: routing.ActionWorkingHoursSet},

	"createContact":        {perm: policy.ContactEdit, noAudit: contactData},
	"updateContact":        {perm: policy.ContactEdit, id: "ctc", noAudit: contactData},
	"tagContact":           {perm: policy.ContactEdit, id: "ctc", noAudit: contactData},
	"setContactAttributes": {perm: policy.ContactEdit, id: "ctc", noAudit: contactData},

	// Segments are a broadcast's audience: who prepares broadcasts keeps them.
	"createSegment": {perm: policy.BroadcastCreate, audit: segment.ActionCreated},
	"updateSegment": {perm: policy.BroadcastCreate, id: "seg", audit: segment.ActionUpdated},
	"deleteSegment": {perm: policy.BroadcastCreate, id: "seg", audit: segment.ActionDeleted},

	"setConversationStatus": {perm: policy.ConversationResolve, id: "cnv", noAudit: workflowState},
	"resolveConversation":   {perm: policy.ConversationResolve, id: "cnv", noAudit: workflowState},
	"assignConversation":    {perm: policy.ConversationAssign, id: "cnv", audit: audit.ActionConversationAssigned},
	"transferConversation":  {perm: policy.ConversationTransfer, id: "cnv", audit: audit.ActionConversationTransfer},
	"sendText":              {perm: policy.ConversationReply, noAudit: messageIsRecord},
	"sendMessage":           {perm: policy.ConversationReply, noAudit: messageIsRecord},
	"markConversationRead":  {perm: policy.ConversationReply, id: "cnv", noAudit: "a read marker: changes nothing a business accounts for"},
	"indicateTyping":        {perm: policy.ConversationReply, id: "cnv", noAudit: "a transient indicator to the customer: changes no record"},
	"typingInConversation":  {perm: policy.ConversationReply, id: "cnv", noAudit: "a passing notice to colleagues, never stored"},
	"deleteMessage":         {perm: policy.MessageDelete, id: "msg", audit: audit.ActionMessageDeleted},

	"createGroup":              {perm: policy.GroupManageSettings, audit: audit.ActionGroupCreated},
	"updateGroup":              {perm: policy.GroupManageSettings, id: "grp", audit: audit.ActionGroupUpdated},
	"addGroupMembers":          {perm: policy.GroupManageMembers, audit: audit.ActionGroupMembersAdded},
	"removeGroupMembers":       {perm: policy.GroupManageMembers, audit: audit.ActionGroupMembersRemoved},
	"setGroupMemberRole":       {perm: policy.GroupManageMembers, audit: audit.ActionGroupMemberRoleSet},
	"deleteGroup":              {perm: policy.GroupManageSettings, id: "grp", audit: audit.ActionGroupDeleted},
	"resetGroupInviteLink":     {perm: policy.GroupManageMembers, id: "grp", audit: audit.ActionGroupInviteReset},
	"approveGroupJoinRequests": {perm: policy.GroupManageMembers, audit: audit.ActionGroupJoinApproved},
	"rejectGroupJoinRequests":  {perm: policy.GroupManageMembers, audit: audit.ActionGroupJoinRejected},
	"setGroupAdmins":           {perm: policy.GroupManageSettings, audit: audit.ActionGroupAdminsSet},
	"hideGroupMessage":         {perm: policy.GroupModerate, id: "msg", audit: audit.ActionGroupMessageHidden},
	"setGroupAdminCap":         {perm: policy.TenantManage, audit: audit.ActionTenantSettings},
	"scheduleGroupSettings":    {perm: policy.GroupManageSettings, audit: audit.ActionGroupScheduled},
	"cancelGroupSchedule":      {perm: policy.GroupManageSettings, id: "gsc", audit: audit.ActionGroupScheduleCancelled},
	"setGroupPhoto":            {perm: policy.GroupManageSettings, audit: audit.ActionGroupPhotoSet},

	"setRetention":             {perm: policy.TenantManage, audit: audit.ActionTenantSettings},
	"eraseContact":             {perm: policy.ContactErase, id: "ctc", audit: audit.ActionContactErased},
	"setContactLegalHold":      {perm: policy.ContactErase, id: "ctc", audit: audit.ActionLegalHold},
	"setConversationLegalHold": {perm: policy.ContactErase, id: "cnv", audit: audit.ActionLegalHold},

	"createWebhookEndpoint": {perm: policy.WebhookManage, audit: audit.ActionWebhookCreated},
	"updateWebhookEndpoint": {perm: policy.WebhookManage, id: "whk", audit: audit.ActionWebhookUpdated},
	"deleteWebhookEndpoint": {perm: policy.WebhookManage, id: "whk", audit: audit.ActionWebhookDeleted},
	"rotateWebhookSecret":   {perm: policy.WebhookManage, id: "whk", audit: audit.ActionWebhookSecretRotated},
	"redeliverWebhook":      {perm: policy.WebhookManage, id: "odl", audit: audit.ActionWebhookRedelivered},

	"createRole":     {perm: policy.RoleManage, audit: audit.ActionRoleCreated},
	"updateRole":     {perm: policy.RoleManage, id: "rol", audit: audit.ActionRoleUpdated},
	"deleteRole":     {perm: policy.RoleManage, id: "rol", audit: audit.ActionRoleDeleted},
	"assignRoles":    {perm: policy.RoleManage, audit: audit.ActionRolesAssigned},
	"setFieldRule":   {perm: policy.RoleManage, audit: audit.ActionFieldRuleSet},
	"clearFieldRule": {perm: policy.RoleManage, audit: audit.ActionFieldRuleSet},
}

// Reasons shared by several mutations that record no audit event.
const (
	contactData     = "the business's own notes on a contact: no access, nothing a customer sees, nothing leaves"
	workflowState   = "workflow state, kept on the conversation and in its events; changes no one's access"
	messageIsRecord = "the message row is its own record (author, time, status); a chain entry per message would serialise a tenant's sends"
)

// credentialFields check a password or a token: one operation may carry at
// most one of them, so that aliases cannot pack a thousand guesses into one
// request past the sign-in throttle.
var credentialFields = map[string]bool{"login": true, "refresh": true, "changePassword": true, "resetPassword": true}

// countRootFields counts the fields of set named in names, through
// fragments.
func countRootFields(set ast.SelectionSet, names map[string]bool) int {
	n := 0
	for _, sel := range set {
		switch s := sel.(type) {
		case *ast.Field:
			if names[s.Name] {
				n++
			}
		case *ast.InlineFragment:
			n += countRootFields(s.SelectionSet, names)
		case *ast.FragmentSpread:
			if s.Definition != nil {
				n += countRootFields(s.Definition.SelectionSet, names)
			}
		}
	}
	return n
}

// authenticatedOnly marks a mutation any signed-in caller may run on
// themselves (logout).
const authenticatedOnly policy.Permission = "authenticated"

// idArgs gives the type prefix of ID arguments other than `id`, by name.
var idArgs = map[string]string{
	"agentID":        "agt",
	"numberID":       "num",
	"teamID":         "team",
	"conversationID": "cnv",
	"replyToID":      "msg",
	"groupID":        "grp",
	"roleID":         "rol",
	"roleIDs":        "rol",
	"agentIDs":       "agt",
}

// anonymousQueries are the root query fields a caller without credentials may
// ask for (introspection, when enabled; __typename needs no resolver).
var anonymousQueries = map[string]bool{"__schema": true, "__type": true}

// rootGuard authenticates and authorises every root field before it runs,
// and checks that a mutation committed the audit record it declares.
type rootGuard struct {
	introspection bool
	// strictAudit fails a mutation that committed without its audit
	// record (Config.StrictAudit); otherwise it is logged at ERROR.
	strictAudit bool
	mutations   map[string]mutationRule // the declarations: mutations
}

func (g rootGuard) guard(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	oc := graphql.GetOperationContext(ctx)
	fc := graphql.GetRootFieldContext(ctx)
	v := viewer.FromContext(ctx)
	name := fc.Field.Name
	if oc.Operation.Operation == "mutation" {
		rule, declared := g.mutations[name]
		switch {
		case !declared:
			return rootFieldError(ctx, apperr.New(apperr.Forbidden, "%s declares no permission", name))
		case credentialFields[name] && countRootFields(oc.Operation.SelectionSet, credentialFields) > 1:
			return rootFieldError(ctx, apperr.New(apperr.BadRequest, "at most one of login, refresh, changePassword and resetPassword per operation"))
		case rule.anonymous:
		case v == nil:
			return rootFieldError(ctx, apperr.New(apperr.Unauthenticated, "sign in to call %s", name))
		case rule.perm != authenticatedOnly && !policy.Can(ctx, rule.perm):
			return rootFieldError(ctx, apperr.New(apperr.Forbidden, "%s needs the %s permission", name, rule.perm))
		}
		if rule.audit == "" {
			return next(nearDecisions(ctx))
		}
		tctx, trail := audit.WithTrail(ctx)
		out := next(nearDecisions(tctx))
		if !failed(ctx, fc.Field.Alias) && !trail.Accounts(rule.audit) {
			slog.ErrorContext(ctx, "graphql: mutation committed without its audit record",
				append(operationAttrs(ctx), "mutation", name, "audit", rule.audit, "recorded", trail.Actions())...)
			if g.strictAudit {
				return rootFieldError(ctx, fmt.Errorf("%s committed without its %s audit record", name, rule.audit))
			}
		}
		return out
	}
	if anonymousQueries[name] && !g.introspection {
		return rootFieldError(ctx, apperr.New(apperr.Forbidden, "introspection is disabled"))
	}
	if v == nil && !anonymousQueries[name] {
		return rootFieldError(ctx, apperr.New(apperr.Unauthenticated, "sign in to read %s", name))
	}
	return next(nearDecisions(ctx))
}

// failed reports whether the root field alias answered an error of its own
// (errors below it are its selection's, after the change was made).
func failed(ctx context.Context, alias string) bool {
	for _, e := range graphql.GetErrors(ctx) {
		if len(e.Path) == 1 && e.Path[0] == ast.PathName(alias) {
			return true
		}
	}
	return false
}

// nearDecisions puts the request's decisions back at the top of ctx: every
// field below looks them up, and a lookup walks the context chain from the
// field up to where they were stored.
func nearDecisions(ctx context.Context) context.Context {
	if d := policy.FromContext(ctx); d != nil {
		return policy.NewContext(ctx, d)
	}
	return ctx
}

// checkArguments rejects malformed ID arguments and oversized pages before a
// field resolves, and gives root connections a default page size.
func checkArguments(fc *graphql.FieldContext) error {
	for name, val := range fc.Args {
		prefix := idArgs[name]
		if name == "id" && fc.Object == "Mutation" {
			prefix = mutations[fc.Field.Name].id
		}
		if err := checkID(name, val, prefix); err != nil {
			return err
		}
	}
	if ids, ok := fc.Args["ids"].([]string); ok && len(ids) > MaxPageSize {
		return apperr.Invalid("ids", "at most %d ids at once", MaxPageSize)
	}
	first, hasFirst := fc.Args["first"].(*int)
	last, hasLast := fc.Args["last"].(*int)
	for _, n := range []*int{first, last} {
		if n != nil && (*n < 0 || *n > MaxPageSize) {
			return apperr.Invalid("first", "a page holds 0 to %d items", MaxPageSize)
		}
	}
	if hasFirst && hasLast && first == nil && last == nil && fc.Object == "Query" {
		n := DefaultPageSize
		fc.Args["first"] = &n
	}
	return nil
}

func checkID(arg string, val any, prefix string) error {
	if prefix == "" {
		return nil
	}
	var id string
	switch v := val.(type) {
	case string:
		id = v
	case *string:
		if v == nil {
			return nil
		}
		id = *v
	case []string:
		for _, id := range v {
			if err := checkID(arg, id, prefix); err != nil {
				return err
			}
		}
		return nil
	default:
		return nil
	}
	if !pulid.Is(id, prefix) {
		return apperr.Invalid(arg, "%q is not a valid id here (want %s_…)", id, strings.TrimSuffix(prefix, "_"))
	}
	return nil
}

// Page sizes of connections.
const (
	DefaultPageSize = 50
	MaxPageSize     = 100
)
