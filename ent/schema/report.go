package schema

import (
	"context"
	"time"

	"entgo.io/ent"

	gen "github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/hook"
	"github.com/switchboard-dev/switchboard/report"
)

// Report facts (package report) follow every new message, new conversation
// and status change in the transaction of the write, so a report reads small
// rollups instead of every message. Raw SQL that writes messages or
// conversations bypasses them: run report.Backfill afterwards.

// Hooks of the Message: its report facts.
func (Message) Hooks() []ent.Hook {
	return []ent.Hook{reportMessage}
}

var reportMessage = hook.On(func(next ent.Mutator) ent.Mutator {
	return hook.MessageFunc(func(ctx context.Context, m *gen.MessageMutation) (ent.Value, error) {
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		return v, report.TrackMessage(ctx, m.Client(), v.(*gen.Message))
	})
}, ent.OpCreate)

var reportConversation = hook.On(func(next ent.Mutator) ent.Mutator {
	return hook.ConversationFunc(func(ctx context.Context, m *gen.ConversationMutation) (ent.Value, error) {
		if m.Op().Is(ent.OpCreate) {
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			return v, report.TrackOpened(ctx, m.Client(), v.(*gen.Conversation))
		}
		if _, ok := m.Status(); !ok {
			return next.Mutate(ctx, m)
		}
		ids, err := m.IDs(ctx)
		if err != nil {
			return nil, err
		}
		var before []struct {
			ID       string              `json:"id"`
			TenantID string              `json:"tenant_id"`
			Status   conversation.Status `json:"status"`
		}
		if err := m.Client().Conversation.Query().Where(conversation.IDIn(ids...)).
			Select(conversation.FieldID, conversation.FieldTenantID, conversation.FieldStatus).Scan(ctx, &before); err != nil {
			return nil, err
		}
		v, err := next.Mutate(ctx, m)
		if err != nil {
			return v, err
		}
		at := time.Now()
		if t, ok := m.UpdatedAt(); ok {
			at = t
		}
		if t, ok := m.ResolvedAt(); ok {
			at = t
		}
		for _, b := range before {
			if err := report.TrackStatus(ctx, m.Client(), b.TenantID, b.ID, b.Status, at); err != nil {
				return v, err
			}
		}
		return v, nil
	})
}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne)
