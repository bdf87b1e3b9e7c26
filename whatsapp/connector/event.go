package connector

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

func conversationEvent(ctx context.Context, id, kind string) realtime.Event {
	return realtime.ConversationEvent(viewer.FromContext(ctx).TenantID, id, kind)
}

func messageEvent(ctx context.Context, m *ent.Message, kind string) realtime.Event {
	return realtime.MessageEvent(viewer.FromContext(ctx).TenantID, m.ID, m.ConversationID, kind)
}

func numberEvent(num *ent.Number) realtime.Event {
	return realtime.NumberEvent(num.TenantID, num.ID)
}
