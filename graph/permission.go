package graph

import (
	"context"
	"strings"

	"github.com/99designs/gqlgen/graphql"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/viewer"
)

// mutationRule is what a mutation declares: the permission it needs (or that
// anonymous callers may run it) and the type prefix of its `id` argument.
type mutationRule struct {
	perm      policy.Permission
	anonymous bool
	id        string
}

// mutations is the one place every mutation declares its permission. A
// mutation missing here is refused at run time, and TestEveryMutationDeclaresAPermission
// fails on it.
var mutations = map[string]mutationRule{
	"login":   {anonymous: true},
	"refresh": {anonymous: true},
	"logout":  {perm: authenticatedOnly},
	// Your own presence: anyone signed in as an agent.
	"setPresence": {perm: authenticatedOnly},

	"createAPIKey": {perm: policy.APIKeyManage},
	"revokeAPIKey": {perm: policy.APIKeyManage, id: "key"},

	"createAgent":  {perm: policy.AgentManage},
	"updateAgent":  {perm: policy.AgentManage, id: "agt"},
	"disableAgent": {perm: policy.AgentManage, id: "agt"},
	"enableAgent":  {perm: policy.AgentManage, id: "agt"},
	"createTeam":   {perm: policy.AgentManage},
	"updateTeam":   {perm: policy.AgentManage, id: "team"},

	"linkNumber":   {perm: policy.NumberManage},
	"updateNumber": {perm: policy.NumberManage, id: "num"},
	"unlinkNumber": {perm: policy.NumberManage, id: "num"},

	"createContact":        {perm: policy.ContactEdit},
	"updateContact":        {perm: policy.ContactEdit, id: "ctc"},
	"tagContact":           {perm: policy.ContactEdit, id: "ctc"},
	"setContactAttributes": {perm: policy.ContactEdit, id: "ctc"},

	"setConversationStatus": {perm: policy.ConversationResolve, id: "cnv"},
	"assignConversation":    {perm: policy.ConversationAssign, id: "cnv"},
	"transferConversation":  {perm: policy.ConversationTransfer, id: "cnv"},
	"resolveConversation":   {perm: policy.ConversationResolve, id: "cnv"},
	"sendText":              {perm: policy.ConversationReply},
	"sendMessage":           {perm: policy.ConversationReply},
	"markConversationRead":  {perm: policy.ConversationReply, id: "cnv"},
	"setNumberCredentials":  {perm: policy.NumberManage, id: "num"},
	"setRoutingPolicy":      {perm: policy.NumberManage},
	"deleteMessage":         {perm: policy.MessageDelete, id: "msg"},

	"createGroup":        {perm: policy.GroupManageSettings},
	"updateGroup":        {perm: policy.GroupManageSettings, id: "grp"},
	"addGroupMembers":    {perm: policy.GroupManageMembers},
	"removeGroupMembers": {perm: policy.GroupManageMembers},
	"setGroupMemberRole": {perm: policy.GroupManageMembers},

	"createRole":     {perm: policy.RoleManage},
	"updateRole":     {perm: policy.RoleManage, id: "rol"},
	"deleteRole":     {perm: policy.RoleManage, id: "rol"},
	"assignRoles":    {perm: policy.RoleManage},
	"setFieldRule":   {perm: policy.RoleManage},
	"clearFieldRule": {perm: policy.RoleManage},
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
}

// anonymousQueries are the root query fields a caller without credentials may
// ask for (introspection, when enabled; __typename needs no resolver).
var anonymousQueries = map[string]bool{"__schema": true, "__type": true}

// rootGuard authenticates and authorises every root field before it runs.
type rootGuard struct {
	introspection bool
}

func (g rootGuard) guard(ctx context.Context, next graphql.RootResolver) graphql.Marshaler {
	oc := graphql.GetOperationContext(ctx)
	fc := graphql.GetRootFieldContext(ctx)
	v := viewer.FromContext(ctx)
	name := fc.Field.Name
	if oc.Operation.Operation == "mutation" {
		rule, declared := mutations[name]
		switch {
		case !declared:
			return rootFieldError(ctx, apperr.New(apperr.Forbidden, "%s declares no permission", name))
		case rule.anonymous:
		case v == nil:
			return rootFieldError(ctx, apperr.New(apperr.Unauthenticated, "sign in to call %s", name))
		case rule.perm != authenticatedOnly && !policy.Can(ctx, rule.perm):
			return rootFieldError(ctx, apperr.New(apperr.Forbidden, "%s needs the %s permission", name, rule.perm))
		}
		return next(nearDecisions(ctx))
	}
	if anonymousQueries[name] && !g.introspection {
		return rootFieldError(ctx, apperr.New(apperr.Forbidden, "introspection is disabled"))
	}
	if v == nil && !anonymousQueries[name] {
		return rootFieldError(ctx, apperr.New(apperr.Unauthenticated, "sign in to read %s", name))
	}
	return next(nearDecisions(ctx))
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
