package graph

import (
	"context"
	entbroadcast "github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/conversationexport"
	"github.com/switchboard-dev/switchboard/ent/messagetemplate"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/apikey"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/automationrun"
	entgroup "github.com/switchboard-dev/switchboard/ent/group"
	"github.com/switchboard-dev/switchboard/ent/groupjoinrequest"
	"github.com/switchboard-dev/switchboard/ent/groupmember"
	"github.com/switchboard-dev/switchboard/ent/groupschedule"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	entrole "github.com/switchboard-dev/switchboard/ent/role"
	"github.com/switchboard-dev/switchboard/ent/routingrun"
	"github.com/switchboard-dev/switchboard/ent/session"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
)

// nodeType routes node(id:) by the ID's prefix, so no table is probed. A
// malformed ID is INVALID_INPUT; a well-formed one of another tenant is simply
// not found, like one that never existed.
func nodeType(ctx context.Context, id string) (string, error) {
	prefix, ok := pulid.Prefix(id)
	if !ok {
		return "", apperr.Invalid("id", "%q is not a Switchboard id", id)
	}
	table, ok := ent.TableOfPrefix(prefix)
	if !ok {
		return "", apperr.Invalid("id", "%q has an unknown type prefix %q", id, prefix)
	}
	if p, ok := nodeSwitches[table]; ok && !policy.Can(ctx, p) {
		// Refused by its prefix, before any row is read: the answer says
		// nothing of whether it exists.
		return "", apperr.New(apperr.Forbidden, "your role may not read %s", table)
	}
	return table, nil
}

// nodeSwitches are policy.TypeSwitches by table, for node(id:).
var nodeSwitches = map[string]policy.Permission{
	entgroup.Table:           policy.TypeSwitches["Group"],
	groupmember.Table:        policy.TypeSwitches["GroupMember"],
	groupjoinrequest.Table:   policy.TypeSwitches["GroupJoinRequest"],
	groupwebhookevent.Table:  policy.TypeSwitches["GroupWebhookEvent"],
	groupschedule.Table:      policy.TypeSwitches["GroupSchedule"],
	automationrule.Table:     policy.TypeSwitches["AutomationRule"],
	automationrun.Table:      policy.TypeSwitches["AutomationRun"],
	entrole.Table:            policy.TypeSwitches["Role"],
	apikey.Table:             policy.TypeSwitches["APIKey"],
	session.Table:            policy.TypeSwitches["Session"],
	routingrun.Table:         policy.TypeSwitches["RoutingRun"],
	entbroadcast.Table:       policy.TypeSwitches["Broadcast"],
	broadcastrecipient.Table: policy.TypeSwitches["BroadcastRecipient"],
	messagetemplate.Table:    policy.TypeSwitches["MessageTemplate"],
	conversationexport.Table: policy.TypeSwitches["ConversationExport"],
}
