package automation

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/routing"
	"github.com/switchboard-dev/switchboard/store"
)

// facts reads what conditions test about conv (and msg, if any), and
// returns the contact it read for the actions to reuse.
func (s *Service) facts(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message) (*Facts, *ent.Contact, error) {
	f := &Facts{NumberID: conv.NumberID, Priority: string(conv.Priority), ContactAttrs: map[string]string{}}
	if conv.TeamID != nil {
		f.TeamID = *conv.TeamID
	}
	if msg != nil {
		f.MessageText = msg.Body
	}
	if conv.AssigneeID != nil {
		a, err := tx.Agent.Get(ctx, *conv.AssigneeID)
		if err != nil {
			return nil, nil, err
		}
		f.AssigneePresence = string(a.Presence)
	}
	c, err := tx.Contact.Get(ctx, conv.ContactID)
	if err != nil {
		return nil, nil, err
	}
	f.ContactTags = c.Tags
	for _, a := range c.Attributes {
		f.ContactAttrs[a.Key] = a.Value
	}
	hours, err := hoursOf(ctx, tx, conv)
	if err != nil {
		return nil, nil, err
	}
	f.BusinessOpen = hours.OpenAt(s.clock.Now())
	return f, c, nil
}

// HoursOf are the business hours of conv's number (see hoursOf).
func HoursOf(ctx context.Context, client *ent.Client, conv *ent.Conversation) (routing.Hours, error) {
	var h routing.Hours
	err := store.WithTx(ctx, client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		h, err = hoursOf(ctx, tx, conv)
		return err
	})
	return h, err
}

// hoursOf are the business hours of conv's number (routing.HoursOfNumber).
func hoursOf(ctx context.Context, tx *ent.Tx, conv *ent.Conversation) (routing.Hours, error) {
	return routing.HoursOfNumber(ctx, tx, conv.NumberID)
}
