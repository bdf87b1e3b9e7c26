package outhook

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/view"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Payload is the JSON body of a delivery.
type Payload struct {
	ID         string         `json:"id"`   // the event id, as in Switchboard-Event-Id
	Type       string         `json:"type"` // one of EventTypes
	OccurredAt time.Time      `json:"occurredAt"`
	Data       map[string]any `json:"data"` // "conversation", "message", "contact", "number", "broadcast", "agent": what the role may read
}

// render builds a delivery's body as the endpoint's role sees the subject
// now: its row scope decides whether it sees it at all (skip when not), its
// field rules which fields appear and which are masked.
func (s *Service) render(ctx context.Context, ep *ent.WebhookEndpoint, d *ent.OutboundDelivery) (body []byte, skip bool, err error) {
	v := &viewer.Viewer{Kind: viewer.KindAPIKey, TenantID: ep.TenantID, APIKeyID: ep.ID, Roles: []string{ep.Role}}
	rctx, err := s.authz.Admit(viewer.NewContext(context.WithoutCancel(ctx), v), v)
	if err != nil {
		return nil, false, err
	}
	dec := policy.FromContext(rctx)
	data := map[string]any{}
	switch d.EventType {
	case MessageReceived, MessageSent, MessageStatus, MessageDeleted:
		m, err := s.client.Message.Query().Where(message.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["message"] = view.Message(dec, m)
	case ContactCreated, ContactUpdated:
		ct, err := s.client.Contact.Query().Where(contact.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["contact"] = view.Contact(dec, ct)
	case BroadcastFinished:
		b, err := s.client.Broadcast.Query().Where(broadcast.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) || !policy.Can(rctx, policy.BroadcastViewStats) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		if data["broadcast"], err = s.broadcastView(rctx, dec, b); err != nil {
			return nil, false, err
		}
	case AgentOffboarded:
		a, err := s.client.Agent.Query().Where(agent.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) || !policy.Can(rctx, policy.AgentView) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["agent"] = view.Cut(dec, "Agent", map[string]any{"id": a.ID, "name": a.Name, "email": a.Email, "disabledAt": a.DisabledAt})
	case NumberStatus:
		n, err := s.client.Number.Query().Where(number.ID(d.SubjectID)).Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["number"] = view.Number(dec, n)
	default:
		c, err := s.client.Conversation.Query().Where(conversation.ID(d.SubjectID)).WithContact().Only(rctx)
		if ent.IsNotFound(err) {
			return nil, true, nil
		}
		if err != nil {
			return nil, false, err
		}
		data["conversation"] = view.Conversation(dec, c)
	}
	body, err = json.Marshal(Payload{ID: d.EventID, Type: d.EventType, OccurredAt: d.OccurredAt.UTC(), Data: data})
	return body, false, err
}

// broadcastView is a finished broadcast as dec may read it, with its
// recipients counted by state (SENT includes those delivered and read since;
// their statuses come later, in message.status events).
func (s *Service) broadcastView(ctx context.Context, dec *policy.Decisions, b *ent.Broadcast) (map[string]any, error) {
	var byState []struct {
		State broadcastrecipient.State `json:"state"`
		Count int                      `json:"count"`
	}
	if err := s.client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(b.ID)).
		GroupBy(broadcastrecipient.FieldState).Aggregate(ent.Count()).Scan(ctx, &byState); err != nil {
		return nil, fmt.Errorf("broadcast %s: counts: %w", b.ID, err)
	}
	counts := map[string]int{"planned": b.Planned}
	for _, st := range []broadcastrecipient.State{broadcastrecipient.StatePENDING, broadcastrecipient.StateSKIPPED,
		broadcastrecipient.StateSENDING, broadcastrecipient.StateSENT, broadcastrecipient.StateFAILED} {
		counts[strings.ToLower(string(st))] = 0
	}
	for _, c := range byState {
		counts[strings.ToLower(string(c.State))] = c.Count
	}
	out := view.Cut(dec, "Broadcast", map[string]any{
		"id": b.ID, "name": b.Name, "state": b.State, "category": b.Category,
		"startedAt": b.StartedAt, "finishedAt": b.FinishedAt, "planned": b.Planned, "skipped": b.Skipped,
	})
	out["counts"] = counts
	return out, nil
}
