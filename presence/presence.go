// Package presence keeps agents' presence: ONLINE while they have an
// authenticated live connection on any instance and have not set AWAY,
// OFFLINE a short grace after their last connection closes. Every change is
// published.
//
// Presence is a lease in the database, so it holds across instances: each
// instance renews agents.online_until for the agents connected to it every
// grace/3, and every instance sweeps agents whose lease has lapsed to
// OFFLINE. An agent connected to instance A who also opens and closes a tab
// on instance B stays ONLINE; an instance that dies lets its agents' leases
// lapse within one grace. The conditional update makes the sweep safe to run
// everywhere at once: only the instance whose update changed the row
// publishes.
package presence

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Tracker counts live connections per agent on this instance and keeps their
// presence lease in the database.
type Tracker struct {
	client *ent.Client
	bus    realtime.Bus
	grace  time.Duration
	clock  clock.Clock // lease times; the ticker that renews them is the machine's
	log    *slog.Logger

	mu   sync.Mutex
	live map[string]conn // agent id → connections here
}

type conn struct {
	tenantID string
	n        int
}

// NewTracker returns a Tracker whose leases last grace: an agent whose last
// connection closed goes OFFLINE between grace and 4/3 grace later. Run must
// be running for leases to be renewed and swept. Lease times are read from
// clk.
func NewTracker(client *ent.Client, bus realtime.Bus, grace time.Duration, clk clock.Clock, log *slog.Logger) *Tracker {
	return &Tracker{client: client, bus: bus, grace: grace, clock: clk, log: log, live: map[string]conn{}}
}

// Run renews the leases of this instance's agents and sweeps lapsed ones
// until ctx ends.
func (t *Tracker) Run(ctx context.Context) {
	tick := time.NewTicker(max(t.grace/3, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			t.renew(ctx)
			t.sweep(ctx)
		}
	}
}

// Connected is told when an agent's connection opens.
func (t *Tracker) Connected(tenantID, agentID string) {
	if agentID == "" {
		return
	}
	t.mu.Lock()
	c := t.live[agentID]
	c.tenantID, c.n = tenantID, c.n+1
	t.live[agentID] = c
	t.mu.Unlock()
	if c.n > 1 {
		return
	}
	ctx := viewer.System(context.Background(), tenantID)
	n, err := t.client.Agent.Update().
		Where(agent.ID(agentID)).
		SetOnlineUntil(t.until()).
		Save(ctx)
	if err == nil && n > 0 {
		t.move(ctx, agentID, agent.PresenceONLINE, agent.PresenceOFFLINE)
	} else if err != nil {
		t.log.Error("presence: lease", "agent", agentID, "err", err)
	}
}

// Disconnected is told when an agent's connection closes. The lease is left
// to lapse: another instance may still hold a connection of the agent.
func (t *Tracker) Disconnected(_, agentID string) {
	if agentID == "" {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c := t.live[agentID]
	if c.n--; c.n > 0 {
		t.live[agentID] = c
		return
	}
	delete(t.live, agentID)
}

// Set is the agent of ctx setting their own presence: AWAY stays away while
// connected; ONLINE follows their connections again.
func (t *Tracker) Set(ctx context.Context, away bool) (*ent.Agent, error) {
	v := viewer.FromContext(ctx)
	if v == nil || v.AgentID == "" {
		return nil, apperr.Invalid("presence", "only a signed-in agent has a presence")
	}
	a, err := t.client.Agent.Get(viewer.System(ctx, v.TenantID), v.AgentID)
	if err != nil {
		return nil, err
	}
	p := agent.PresenceONLINE
	switch {
	case away:
		p = agent.PresenceAWAY
	case a.OnlineUntil == nil || a.OnlineUntil.Before(t.clock.Now()):
		p = agent.PresenceOFFLINE
	}
	if a, err = t.client.Agent.UpdateOneID(v.AgentID).SetPresence(p).Save(ctx); err != nil {
		return nil, err
	}
	t.changed(ctx, v.TenantID, v.AgentID, p)
	return a, nil
}

func (t *Tracker) until() time.Time { return t.clock.Now().UTC().Add(t.grace) }

// renew extends the lease of every agent connected here, two statements per
// tenant and 500 agents, and brings back ONLINE those a sweep took OFFLINE
// while this instance was too slow to renew.
func (t *Tracker) renew(ctx context.Context) {
	t.mu.Lock()
	byTenant := map[string][]string{}
	for id, c := range t.live {
		byTenant[c.tenantID] = append(byTenant[c.tenantID], id)
	}
	t.mu.Unlock()
	for tenantID, ids := range byTenant {
		sctx := viewer.System(ctx, tenantID)
		for chunk := range slices.Chunk(ids, 500) {
			_, err := t.client.Agent.Update().
				Where(agent.IDIn(chunk...)).
				SetOnlineUntil(t.until()).
				Save(sctx)
			if err == nil {
				// swept while this instance stalled past the lease: back ONLINE
				var swept []string
				swept, err = t.client.Agent.Query().Where(agent.IDIn(chunk...), agent.PresenceEQ(agent.PresenceOFFLINE)).IDs(sctx)
				for _, id := range swept {
					t.move(sctx, id, agent.PresenceONLINE, agent.PresenceOFFLINE)
				}
			}
			if err != nil && ctx.Err() == nil {
				t.log.Error("presence: renew", "tenant", tenantID, "err", err)
			}
		}
	}
}

// sweep moves agents whose lease lapsed to OFFLINE, across tenants.
func (t *Tracker) sweep(ctx context.Context) {
	now := t.clock.Now().UTC()
	lapsed, err := t.client.Agent.Query().
		Where(agent.PresenceNEQ(agent.PresenceOFFLINE), agent.OnlineUntilLT(now)).
		Select(agent.FieldID, agent.FieldTenantID).
		All(viewer.Platform(ctx))
	if err != nil {
		if ctx.Err() == nil {
			t.log.Error("presence: sweep", "err", err)
		}
		return
	}
	for _, a := range lapsed {
		sctx := viewer.System(ctx, a.TenantID)
		n, err := t.client.Agent.Update().
			Where(agent.ID(a.ID), agent.PresenceNEQ(agent.PresenceOFFLINE), agent.OnlineUntilLT(now)).
			SetPresence(agent.PresenceOFFLINE).
			Save(sctx)
		if err != nil {
			t.log.Error("presence: sweep", "agent", a.ID, "err", err)
			continue
		}
		if n > 0 {
			t.changed(sctx, a.TenantID, a.ID, agent.PresenceOFFLINE)
		}
	}
}

// move sets the agent's presence to `to` when it is one of from, and
// publishes if it changed.
func (t *Tracker) move(ctx context.Context, agentID string, to agent.Presence, from ...agent.Presence) {
	n, err := t.client.Agent.Update().
		Where(agent.ID(agentID), agent.PresenceIn(from...)).
		SetPresence(to).
		Save(ctx)
	if err != nil {
		t.log.Error("presence: update", "agent", agentID, "err", err)
		return
	}
	if n > 0 {
		t.changed(ctx, viewer.FromContext(ctx).TenantID, agentID, to)
	}
}

// changed publishes the agent's new presence and records it for reports
// (an interval of report_presence, at the clock's now): subscribers first,
// the record does not delay them.
func (t *Tracker) changed(ctx context.Context, tenantID, agentID string, p agent.Presence) {
	at := t.clock.Now()
	if t.bus != nil {
		if _, err := t.bus.Publish(context.WithoutCancel(ctx), realtime.AgentPresenceEvent(tenantID, agentID)); err != nil {
			t.log.Error("presence: publish", "agent", agentID, "err", err)
		}
	}
	if err := report.TrackPresence(ctx, t.client, tenantID, agentID, p.String(), at); err != nil {
		t.log.Error("presence: record", "agent", agentID, "err", err)
	}
}
