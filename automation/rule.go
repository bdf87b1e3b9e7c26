package automation

import (
	"context"
	"fmt"
	"log/slog"
	"regexp"
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
)

// Audit actions of rule changes.
const (
	ActionRuleCreated = "automation.rule_create"
	ActionRuleUpdated = "automation.rule_update"
	ActionRuleDeleted = "automation.rule_delete"
)

// Service keeps and runs automation rules.
type Service struct {
	client *ent.Client
	pub    *realtime.Publisher
	jobs   *job.Client // arms timers; nil arms none (tools)
	router *routing.Service
	inbox  *inbox.Service // sends auto-replies
	clock  clock.Clock
	log    *slog.Logger
	cache  *ruleCache
}

// New returns a Service.
func New(client *ent.Client, pub *realtime.Publisher, jobs *job.Client, router *routing.Service, in *inbox.Service,
	clk clock.Clock, log *slog.Logger) *Service {
	return &Service{client: client, pub: pub, jobs: jobs, router: router, inbox: in, clock: clk, log: log, cache: newRuleCache()}
}

// RuleInput is a rule as an administrator writes it.
type RuleInput struct {
	Name           string
	Position       int
	Enabled        bool
	Trigger        automationrule.Trigger
	DelayMinutes   int
	Conditions     []schematype.RuleCondition
	Actions        []schematype.RuleAction
	StopProcessing bool
}

// CreateRule adds a rule to the viewer's tenant.
func (s *Service) CreateRule(ctx context.Context, in RuleInput) (*ent.AutomationRule, error) {
	if err := validRule(in); err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.AutomationRule, error) {
		if err := checkReferences(ctx, tx, in); err != nil {
			return nil, err
		}
		r, err := tx.AutomationRule.Create().SetName(strings.TrimSpace(in.Name)).SetPosition(in.Position).
			SetEnabled(in.Enabled).SetTrigger(in.Trigger).SetDelayMinutes(in.DelayMinutes).
			SetConditions(in.Conditions).SetActions(in.Actions).SetStopProcessing(in.StopProcessing).Save(ctx)
		if err != nil {
			return nil, err
		}
		s.changed(tx, r.TenantID)
		return r, audit.Record(ctx, tx, audit.Event{Action: ActionRuleCreated, TargetID: r.ID,
			Summary: "created automation rule " + describe(r), After: in})
	})
}

// UpdateRule replaces a rule.
func (s *Service) UpdateRule(ctx context.Context, id string, in RuleInput) (*ent.AutomationRule, error) {
	if err := validRule(in); err != nil {
		return nil, err
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.AutomationRule, error) {
		if err := checkReferences(ctx, tx, in); err != nil {
			return nil, err
		}
		r, err := tx.AutomationRule.UpdateOneID(id).SetName(strings.TrimSpace(in.Name)).SetPosition(in.Position).
			SetEnabled(in.Enabled).SetTrigger(in.Trigger).SetDelayMinutes(in.DelayMinutes).
			SetConditions(in.Conditions).SetActions(in.Actions).SetStopProcessing(in.StopProcessing).Save(ctx)
		if err != nil {
			return nil, err
		}
		s.changed(tx, r.TenantID)
		return r, audit.Record(ctx, tx, audit.Event{Action: ActionRuleUpdated, TargetID: r.ID,
			Summary: "updated automation rule " + describe(r), After: in})
	})
}

// DeleteRule removes a rule; its runs stay in the log, and its armed
// timers find it gone when they fire.
func (s *Service) DeleteRule(ctx context.Context, id string) (*ent.AutomationRule, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.AutomationRule, error) {
		r, err := tx.AutomationRule.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := tx.AutomationRule.DeleteOne(r).Exec(ctx); err != nil {
			return nil, err
		}
		s.changed(tx, r.TenantID)
		return r, audit.Record(ctx, tx, audit.Event{Action: ActionRuleDeleted, TargetID: r.ID,
			Summary: "deleted automation rule " + describe(r)})
	})
}

func describe(r *ent.AutomationRule) string {
	return fmt.Sprintf("%q (%s, %d condition(s), %d action(s))", r.Name, r.Trigger, len(r.Conditions), len(r.Actions))
}

// Condition fields and operators (schematype.RuleCondition).
const (
	FieldNumber           = "NUMBER"
	FieldTeam             = "TEAM"
	FieldPriority         = "PRIORITY"
	FieldAssigneePresence = "ASSIGNEE_PRESENCE"
	FieldContactTag       = "CONTACT_TAG"
	FieldContactAttribute = "CONTACT_ATTRIBUTE"
	FieldBusinessHours    = "BUSINESS_HOURS"
	FieldMessageText      = "MESSAGE_TEXT"

	OpIn       = "IN"
	OpNotIn    = "NOT_IN"
	OpContains = "CONTAINS"
	OpMatches  = "MATCHES"
)

// Action types (schematype.RuleAction).
const (
	ActAssignPolicy   = "ASSIGN_POLICY"
	ActAssignAgent    = "ASSIGN_AGENT"
	ActAssignTeam     = "ASSIGN_TEAM"
	ActTransferOnline = "TRANSFER_ONLINE"
	ActTag            = "TAG"
	ActUntag          = "UNTAG"
	ActSetPriority    = "SET_PRIORITY"
	ActSetStatus      = "SET_STATUS"
	ActSendText       = "SEND_TEXT"
)

// timers are the triggers a timer arms; the others happen.
var timers = []automationrule.Trigger{
	automationrule.TriggerNO_AGENT_REPLY, automationrule.TriggerNO_CUSTOMER_REPLY,
	automationrule.TriggerOPEN_FOR, automationrule.TriggerSNOOZE_ENDED,
}

// supported are the triggers this version fires; a rule on another is
// refused rather than kept silently idle.
var supported = []automationrule.Trigger{
	automationrule.TriggerCONVERSATION_CREATED, automationrule.TriggerCUSTOMER_MESSAGE,
	automationrule.TriggerASSIGNED, automationrule.TriggerNO_AGENT_REPLY,
}

// The caps of a rule: what one customer's message may cost is bounded by
// what an administrator may write (every enabled rule of a trigger is
// evaluated on every event).
const (
	maxNameLen      = 200
	maxConditions   = 20
	maxActions      = 10
	maxValues       = 100 // per condition
	maxValueLen     = 500 // a value or a regular expression, in bytes
	maxDelayMinutes = 30 * 24 * 60
)

func validRule(in RuleInput) error {
	if strings.TrimSpace(in.Name) == "" || len(in.Name) > maxNameLen {
		return apperr.Invalid("name", "a rule needs a name of at most %d characters", maxNameLen)
	}
	if !slices.Contains(supported, in.Trigger) {
		return apperr.Invalid("trigger", "%s is not supported yet", in.Trigger)
	}
	if slices.Contains(timers, in.Trigger) != (in.DelayMinutes > 0) {
		return apperr.Invalid("delayMinutes", "a timer trigger needs a delay in minutes, and only a timer trigger has one")
	}
	if in.DelayMinutes > maxDelayMinutes {
		return apperr.Invalid("delayMinutes", "at most %d minutes (30 days)", maxDelayMinutes)
	}
	if len(in.Conditions) > maxConditions {
		return apperr.Invalid("conditions", "at most %d conditions per rule", maxConditions)
	}
	if len(in.Actions) > maxActions {
		return apperr.Invalid("actions", "at most %d actions per rule", maxActions)
	}
	for i, c := range in.Conditions {
		if err := validCondition(c); err != nil {
			return apperr.Invalid(fmt.Sprintf("conditions[%d]", i), "%s", err)
		}
	}
	if len(in.Actions) == 0 {
		return apperr.Invalid("actions", "a rule needs at least one action")
	}
	for i, a := range in.Actions {
		if err := validAction(a); err != nil {
			return apperr.Invalid(fmt.Sprintf("actions[%d]", i), "%s", err)
		}
	}
	return nil
}

func validCondition(c schematype.RuleCondition) error {
	switch c.Field {
	case FieldNumber, FieldTeam, FieldPriority, FieldAssigneePresence, FieldContactTag, FieldContactAttribute:
		if c.Op != OpIn && c.Op != OpNotIn {
			return fmt.Errorf("%s compares with IN or NOT_IN", c.Field)
		}
		if c.Field == FieldContactAttribute && c.Key == "" {
			return fmt.Errorf("CONTACT_ATTRIBUTE needs the attribute's key")
		}
		if c.Field == FieldPriority {
			for _, v := range c.Values {
				if conversation.PriorityValidator(conversation.Priority(v)) != nil {
					return fmt.Errorf("%q is not a priority", v)
				}
			}
		}
	case FieldBusinessHours:
		if c.Op != OpIn || len(c.Values) != 1 || (c.Values[0] != "OPEN" && c.Values[0] != "CLOSED") {
			return fmt.Errorf(`BUSINESS_HOURS is IN ["OPEN"] or IN ["CLOSED"]`)
		}
	case FieldMessageText:
		switch c.Op {
		case OpContains:
		case OpMatches:
			if len(c.Values) != 1 {
				return fmt.Errorf("MATCHES takes one regular expression")
			}
			if _, err := regexp.Compile(c.Values[0]); err != nil {
				return fmt.Errorf("MATCHES: %v", err)
			}
		default:
			return fmt.Errorf("MESSAGE_TEXT compares with CONTAINS or MATCHES")
		}
	default:
		return fmt.Errorf("%q is not a condition field", c.Field)
	}
	if len(c.Values) == 0 || len(c.Values) > maxValues {
		return fmt.Errorf("%s needs 1 to %d values to compare with", c.Field, maxValues)
	}
	for _, v := range append([]string{c.Key}, c.Values...) {
		if len(v) > maxValueLen {
			return fmt.Errorf("a value or key of %s has at most %d bytes", c.Field, maxValueLen)
		}
	}
	return nil
}

func validAction(a schematype.RuleAction) error {
	switch a.Type {
	case ActAssignPolicy, ActTransferOnline:
	case ActAssignAgent:
		if a.AgentID == "" {
			return fmt.Errorf("ASSIGN_AGENT needs agentID")
		}
	case ActAssignTeam:
		if a.TeamID == "" {
			return fmt.Errorf("ASSIGN_TEAM needs teamID")
		}
	case ActTag, ActUntag:
		if strings.TrimSpace(a.Tag) == "" || len(a.Tag) > maxValueLen {
			return fmt.Errorf("%s needs a tag of at most %d bytes", a.Type, maxValueLen)
		}
	case ActSendText:
		if strings.TrimSpace(a.Text) == "" || len(a.Text) > inbox.MaxTextLen {
			return fmt.Errorf("SEND_TEXT needs a text of at most %d characters", inbox.MaxTextLen)
		}
		if a.Minutes < 0 || a.Minutes > maxDelayMinutes {
			return fmt.Errorf("SEND_TEXT's cooldown is 0 to %d minutes", maxDelayMinutes)
		}
		if err := checkVariables(a.Text); err != nil {
			return err
		}
	case ActSetPriority:
		if conversation.PriorityValidator(conversation.Priority(a.Priority)) != nil {
			return fmt.Errorf("%q is not a priority", a.Priority)
		}
	case ActSetStatus:
		if a.Status != string(conversation.StatusOPEN) && a.Status != string(conversation.StatusPENDING) &&
			a.Status != string(conversation.StatusRESOLVED) {
			return fmt.Errorf("SET_STATUS is OPEN, PENDING or RESOLVED")
		}
	default:
		return fmt.Errorf("%q is not supported yet", a.Type)
	}
	return nil
}

// checkReferences refuses agents and teams the viewer's tenant does not have.
func checkReferences(ctx context.Context, tx *ent.Tx, in RuleInput) error {
	for _, a := range in.Actions {
		if a.AgentID != "" {
			if err := (routing.Target{AgentID: a.AgentID}).Check(ctx, tx, ""); err != nil {
				return err
			}
		}
		if a.TeamID != "" {
			if err := (routing.Target{TeamID: a.TeamID}).Check(ctx, tx, ""); err != nil {
				return err
			}
		}
	}
	return nil
}
