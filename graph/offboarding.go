package graph

import (
	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/routing"
)

// reassignTarget reads a ReassignTarget: exactly one of its three choices.
func reassignTarget(in model.ReassignTarget) (routing.Target, error) {
	n := 0
	var to routing.Target
	if in.AgentID != nil {
		n++
		to.AgentID = *in.AgentID
	}
	if in.TeamID != nil {
		n++
		to.TeamID = *in.TeamID
	}
	if in.Policy != nil && *in.Policy {
		n++
	}
	if n != 1 {
		return routing.Target{}, apperr.Invalid("reassignTo", "give exactly one of agentID, teamID, policy: true")
	}
	return to, nil
}
