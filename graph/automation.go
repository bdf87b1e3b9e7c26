package graph

import (
	"github.com/switchboard-dev/switchboard/automation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph/model"
)

// ruleInput reads a rule from the API.
func ruleInput(in model.AutomationRuleInput) automation.RuleInput {
	out := automation.RuleInput{
		Name: in.Name, Position: in.Position, Enabled: in.Enabled, Trigger: in.Trigger,
		DelayMinutes: in.DelayMinutes, StopProcessing: in.StopProcessing,
		Conditions: make([]schematype.RuleCondition, len(in.Conditions)),
		Actions:    make([]schematype.RuleAction, len(in.Actions)),
	}
	for i, c := range in.Conditions {
		out.Conditions[i] = schematype.RuleCondition{Field: c.Field, Op: c.Op, Key: c.Key, Values: c.Values}
	}
	for i, a := range in.Actions {
		out.Actions[i] = schematype.RuleAction{Type: a.Type, Tag: a.Tag, Priority: a.Priority, Status: a.Status,
			Text: a.Text, Minutes: a.Minutes}
		if a.AgentID != nil {
			out.Actions[i].AgentID = *a.AgentID
		}
		if a.TeamID != nil {
			out.Actions[i].TeamID = *a.TeamID
		}
	}
	return out
}
