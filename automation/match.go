package automation

import (
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Facts are what conditions test, read once per event.
type Facts struct {
	NumberID         string
	TeamID           string
	Priority         string
	AssigneePresence string // ONLINE, AWAY, OFFLINE; "" when unassigned
	ContactTags      []string
	ContactAttrs     map[string]string
	BusinessOpen     bool
	MessageText      string // the customer's message, if the trigger has one
}

// Matches tells whether every condition holds for f.
func Matches(conds []schematype.RuleCondition, f *Facts) bool {
	for _, c := range conds {
		if !holds(c, f) {
			return false
		}
	}
	return true
}

func holds(c schematype.RuleCondition, f *Facts) bool {
	switch c.Field {
	case FieldNumber:
		return in(c, f.NumberID)
	case FieldTeam:
		return in(c, f.TeamID)
	case FieldPriority:
		return in(c, f.Priority)
	case FieldAssigneePresence:
		return in(c, f.AssigneePresence)
	case FieldContactAttribute:
		return in(c, f.ContactAttrs[c.Key])
	case FieldContactTag:
		has := slices.ContainsFunc(f.ContactTags, func(t string) bool { return slices.Contains(c.Values, t) })
		return has == (c.Op == OpIn)
	case FieldBusinessHours:
		return f.BusinessOpen == (c.Values[0] == "OPEN")
	case FieldMessageText:
		if c.Op == OpMatches {
			re := compiled(c.Values[0])
			return re != nil && re.MatchString(f.MessageText)
		}
		text := strings.ToLower(f.MessageText)
		return slices.ContainsFunc(c.Values, func(v string) bool { return strings.Contains(text, strings.ToLower(v)) })
	}
	return false
}

func in(c schematype.RuleCondition, v string) bool {
	return slices.Contains(c.Values, v) == (c.Op == OpIn)
}

// regexps caches compiled MATCHES expressions (validated when the rule was saved).
var regexps sync.Map

func compiled(expr string) *regexp.Regexp {
	if re, ok := regexps.Load(expr); ok {
		return re.(*regexp.Regexp)
	}
	re, err := regexp.Compile(expr)
	if err != nil {
		return nil
	}
	regexps.Store(expr, re)
	return re
}
