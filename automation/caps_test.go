package automation

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent/automationrule"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// TestRuleInputCaps: a rule at each cap is accepted; one past it is refused
// with INVALID_INPUT naming the field.
func TestRuleInputCaps(t *testing.T) {
	t.Parallel()
	cond := schematype.RuleCondition{Field: FieldContactTag, Op: OpIn, Values: []string{"vip"}}
	act := schematype.RuleAction{Type: ActTag, Tag: "seen"}
	tests := []struct {
		name  string
		edit  func(in *RuleInput)
		field string // "" when accepted
	}{
		{"conditions at the cap", func(in *RuleInput) { in.Conditions = repeat(cond, maxConditions) }, ""},
		{"conditions past the cap", func(in *RuleInput) { in.Conditions = repeat(cond, maxConditions+1) }, "conditions"},
		{"actions at the cap", func(in *RuleInput) { in.Actions = repeat(act, maxActions) }, ""},
		{"actions past the cap", func(in *RuleInput) { in.Actions = repeat(act, maxActions+1) }, "actions"},
		{"delay at the cap", func(in *RuleInput) {
			in.Trigger, in.DelayMinutes = automationrule.TriggerNO_AGENT_REPLY, maxDelayMinutes
		}, ""},
		{"delay past the cap", func(in *RuleInput) {
			in.Trigger, in.DelayMinutes = automationrule.TriggerNO_AGENT_REPLY, maxDelayMinutes+1
		}, "delayMinutes"},
		{"values past the cap", func(in *RuleInput) {
			in.Conditions = []schematype.RuleCondition{{Field: FieldContactTag, Op: OpIn, Values: make([]string, maxValues+1)}}
		}, "conditions[0]"},
		{"a value too long", func(in *RuleInput) {
			in.Conditions = []schematype.RuleCondition{{Field: FieldMessageText, Op: OpContains,
				Values: []string{strings.Repeat("a", maxValueLen+1)}}}
		}, "conditions[0]"},
		{"a name too long", func(in *RuleInput) { in.Name = strings.Repeat("n", maxNameLen+1) }, "name"},
		{"a cooldown past the cap", func(in *RuleInput) {
			in.Actions = []schematype.RuleAction{{Type: ActSendText, Text: "hello", Minutes: maxDelayMinutes + 1}}
		}, "actions[0]"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			in := RuleInput{Name: "r", Trigger: automationrule.TriggerCUSTOMER_MESSAGE,
				Conditions: []schematype.RuleCondition{cond}, Actions: []schematype.RuleAction{act}}
			tt.edit(&in)
			err := validRule(in)
			if tt.field == "" {
				require.NoError(t, err)
				return
			}
			var e *apperr.Error
			require.ErrorAs(t, err, &e)
			require.Equal(t, apperr.InvalidInput, e.Code)
			require.Equal(t, tt.field, e.Field)
		})
	}
}

func repeat[T any](v T, n int) []T {
	s := make([]T, n)
	for i := range s {
		s[i] = v
	}
	return s
}
