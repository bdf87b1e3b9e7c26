package graph

import (
	"context"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/viewer"
)

// personalFields are the subscriptions that act for their subscriber:
// conversationViewers counts its subscriber as looking for as long as it
// lives, so the gateway never shares its execution (GatewayConfig.Personal).
func personalField(field string) bool { return field == "conversationViewers" }

// conversationViewers follows who looks at a conversation the viewer may
// see. Each list is shown through the viewer's eyes: agents they may not
// read are left out, the field guard applies to the rest, and once the
// conversation is no longer visible to them (transferred away) the stream
// ends.
func (r *Resolver) conversationViewers(ctx context.Context, conversationID string) (<-chan *model.ConversationViewers, error) {
	v := viewer.FromContext(ctx)
	if v == nil {
		return nil, apperr.New(apperr.Unauthenticated, "sign in first")
	}
	if r.looking == nil {
		return nil, apperr.New(apperr.Internal, "who is looking is not available")
	}
	if _, err := r.client.Conversation.Get(ctx, conversationID); err != nil {
		return nil, err // not visible: NOT_FOUND, like a query
	}
	lists := r.looking.Watch(ctx, v.TenantID, conversationID, v.AgentID)
	out := make(chan *model.ConversationViewers, 1)
	go func() {
		defer close(out)
		for list := range lists {
			if _, err := r.client.Conversation.Get(ctx, conversationID); err != nil {
				return // no longer theirs to see, or the subscriber left
			}
			ids := make([]string, len(list))
			for i, l := range list {
				ids[i] = l.AgentID
			}
			agents, err := r.client.Agent.Query().Where(agent.IDIn(ids...)).All(ctx)
			if err != nil {
				if ctx.Err() != nil {
					return
				}
				continue // the next change tries again
			}
			byID := make(map[string]*ent.Agent, len(agents))
			for _, a := range agents {
				byID[a.ID] = a
			}
			m := &model.ConversationViewers{ConversationID: conversationID, At: time.Now().UTC(), Viewers: []*model.ConversationViewer{}}
			for _, l := range list {
				if a := byID[l.AgentID]; a != nil {
					m.Viewers = append(m.Viewers, &model.ConversationViewer{Agent: a, Typing: l.Typing, Since: l.Since})
				}
			}
			select {
			case out <- m:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}
