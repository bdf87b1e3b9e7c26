// Package presence keeps agents' presence: ONLINE while they have an
// authenticated live connection and have not set AWAY, OFFLINE a short grace
// after their last connection closes. Every change is published.
//
// Connections are counted per instance; with several instances an agent's
// presence follows the instance that saw the last change. A shared count
// (per instance, with heartbeats) is the known next step.
package presence

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Tracker counts live connections per agent and keeps presence in step.
type Tracker struct {
	client *ent.Client
	bus    realtime.Bus
	grace  time.Duration
	log    *slog.Logger

	mu     sync.Mutex
	live   map[string]int // agent id → open connections here
	timers map[string]*time.Timer
}

// NewTracker returns a Tracker that waits grace before marking an agent
// whose last connection closed OFFLINE.
func NewTracker(client *ent.Client, bus realtime.Bus, grace time.Duration, log *slog.Logger) *Tracker {
	return &Tracker{client: client, bus: bus, grace: grace, log: log, live: map[string]int{}, timers: map[string]*time.Timer{}}
}

// Connected is told when an agent's connection opens.
func (t *Tracker) Connected(tenantID, agentID string) {
	if agentID == "" {
		return
	}
	t.mu.Lock()
	t.live[agentID]++
	first := t.live[agentID] == 1
	if timer := t.timers[agentID]; timer != nil {
		timer.Stop()
		delete(t.timers, agentID)
	}
	t.mu.Unlock()
	if first {
		t.update(tenantID, agentID, agent.PresenceONLINE, agent.PresenceOFFLINE)
	}
}

// Disconnected is told when an agent's connection closes.
func (t *Tracker) Disconnected(tenantID, agentID string) {
	if agentID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	t.live[agentID]--
	if t.live[agentID] > 0 {
		return
	}
	delete(t.live, agentID)
	t.timers[agentID] = time.AfterFunc(t.grace, func() {
		t.mu.Lock()
		still := t.live[agentID] == 0
		delete(t.timers, agentID)
		t.mu.Unlock()
		if still {
			t.update(tenantID, agentID, agent.PresenceOFFLINE, agent.PresenceONLINE, agent.PresenceAWAY)
		}
	})
}

// Set is the agent of ctx setting their own presence: AWAY stays away while
// connected; ONLINE follows their connections again.
func (t *Tracker) Set(ctx context.Context, away bool) (*ent.Agent, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.AgentID == "" {
		return nil, apperr.Invalid("presence", "only a signed-in agent has a presence")
	}
	p := agent.PresenceONLINE
	switch {
	case away:
		p = agent.PresenceAWAY
	case !t.connected(v.AgentID):
		p = agent.PresenceOFFLINE
	}
	a, err := t.client.Agent.UpdateOneID(v.AgentID).SetPresence(p).Save(ctx)
	if err != nil {
		return nil, err
	}
	t.publish(ctx, v.TenantID, v.AgentID)
	return a, nil
}

func (t *Tracker) connected(agentID string) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.live[agentID] > 0
}

// update moves the agent to presence when it is one of from.
func (t *Tracker) update(tenantID, agentID string, to agent.Presence, from ...agent.Presence) {
	ctx := viewer.System(context.Background(), tenantID)
	n, err := t.client.Agent.Update().
		Where(agent.ID(agentID), agent.PresenceIn(from...)).
		SetPresence(to).
		Save(ctx)
	if err != nil {
		t.log.Error("presence: update", "agent", agentID, "err", err)
		return
	}
	if n > 0 {
		t.publish(ctx, tenantID, agentID)
	}
}

func (t *Tracker) publish(ctx context.Context, tenantID, agentID string) {
	if t.bus == nil {
		return
	}
	_, err := t.bus.Publish(context.WithoutCancel(ctx), realtime.Event{
		TenantID: tenantID, Type: realtime.AgentPresenceChanged, Subject: agentID, Data: realtime.Kinded(realtime.KindUpdated),
	})
	if err != nil {
		t.log.Error("presence: publish", "agent", agentID, "err", err)
	}
}
