package automation

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/inbox"
)

// Auto-replies: a rule's SEND_TEXT sends its text, with its variables
// filled in, through the outbox as a system message (no sender). Variables:
//
//	{{contact.name}}   the customer's profile name
//	{{agent.name}}     the agent holding the conversation, or the one it is reserved for after hours
//	{{agent.code}}     their employee code
//	{{agent.starts}}   when that agent takes it: the opening of their shift for a reserved
//	                   conversation, else the next opening
//	{{number.name}}    the number's display name
//	{{next_opening}}   the next opening of the number's business hours
//
// Times are in the tenant's time zone: "09:00 tomorrow", "14:00 today" or
// "09:00 on Monday 26 October".
//
// A conversation gets at most one auto-reply per cooldown (the action's
// minutes, defaultCooldown when 0). Outside the customer's 24-hour window
// nothing is sent (a template would be needed): the run says so.

// defaultCooldown is the cooldown of an auto-reply that names none.
const defaultCooldown = time.Hour

var variable = regexp.MustCompile(`\{\{\s*([a-z_.]+)\s*\}\}`)

var variables = []string{"contact.name", "agent.name", "agent.code", "agent.starts", "number.name", "next_opening"}

func checkVariables(text string) error {
	for _, m := range variable.FindAllStringSubmatch(text, -1) {
		known := false
		for _, v := range variables {
			known = known || m[1] == v
		}
		if !known {
			return fmt.Errorf("{{%s}} is not a variable (%s)", m[1], strings.Join(variables, ", "))
		}
	}
	return nil
}

func (s *Service) autoReply(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, a schematype.RuleAction) (string, error) {
	now := s.clock.Now()
	if conv.LastCustomerMessageAt == nil || now.Sub(*conv.LastCustomerMessageAt) > inbox.CustomerWindow {
		return "auto-reply not sent: outside the customer's 24-hour window, only an approved template may be sent and this rule names none", nil
	}
	cooldown := defaultCooldown
	if a.Minutes > 0 {
		cooldown = time.Duration(a.Minutes) * time.Minute
	}
	recent, err := tx.Message.Query().Where(message.ConversationID(conv.ID), message.DirectionEQ(message.DirectionOUTBOUND),
		message.SenderIDIsNil(), message.CreatedAtGT(now.Add(-cooldown))).Exist(ctx)
	if err != nil {
		return "", err
	}
	if recent {
		return fmt.Sprintf("auto-reply not sent: one was sent less than %v ago (cooldown)", cooldown), nil
	}
	text, err := s.fill(ctx, tx, conv, a.Text)
	if err != nil {
		return "", err
	}
	m, err := s.inbox.Send(ctx, inbox.Outgoing{ConversationID: conv.ID, Text: text})
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("auto-reply %s: %q", m.ID, text), nil
}

// fill replaces the variables of text for conv.
func (s *Service) fill(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, text string) (string, error) {
	vals := map[string]string{}
	c, err := tx.Contact.Get(ctx, conv.ContactID)
	if err != nil {
		return "", err
	}
	vals["contact.name"] = c.ProfileName
	who := conv.AssigneeID
	if who == nil {
		who = conv.ReservedForID
	}
	if who != nil {
		ag, err := tx.Agent.Get(ctx, *who)
		if err != nil {
			return "", err
		}
		vals["agent.name"], vals["agent.code"] = ag.Name, ag.EmployeeCode
	}
	num, err := tx.Number.Get(ctx, conv.NumberID)
	if err != nil {
		return "", err
	}
	vals["number.name"] = num.DisplayName
	hours, err := hoursOf(ctx, tx, conv)
	if err != nil {
		return "", err
	}
	now := s.clock.Now()
	if next, ok := hours.NextOpening(now); ok {
		vals["next_opening"] = whenLocal(next, now, hours.Loc)
		vals["agent.starts"] = vals["next_opening"]
	}
	if conv.AssigneeID == nil && conv.ReservedUntil != nil {
		vals["agent.starts"] = whenLocal(*conv.ReservedUntil, now, hours.Loc)
	}
	return variable.ReplaceAllStringFunc(text, func(m string) string {
		return vals[variable.FindStringSubmatch(m)[1]]
	}), nil
}

// whenLocal says t in loc for a customer writing at now: "09:00 today",
// "09:00 tomorrow", else "09:00 on Monday 26 October". Days are local
// calendar days, so a night with a daylight-saving change is still one day.
func whenLocal(t, now time.Time, loc *time.Location) string {
	t, now = t.In(loc), now.In(loc)
	y, m, d := now.Date()
	switch ty, tm, td := t.Date(); {
	case ty == y && tm == m && td == d:
		return t.Format("15:04") + " today"
	case time.Date(y, m, d+1, 12, 0, 0, 0, loc).Format(time.DateOnly) == t.Format(time.DateOnly):
		return t.Format("15:04") + " tomorrow"
	}
	return t.Format("15:04 on Monday 2 January")
}
