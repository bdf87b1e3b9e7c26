package graph

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// audience decides in memory, before any load, whether a conversation event
// may concern a subscriber: the event carries the conversation's number and
// assignee (realtime.Change, filled in by the Publisher) and the subscriber
// its row scope (ent/schema/scope.go): all conversations, those on its
// numbers, those assigned to it. An event it cannot concern costs that
// subscriber nothing; one it may concern is still loaded through the
// privacy rules, which have the last word. So the decision may only err
// towards loading: an event without an audience is loaded.
type audience struct {
	v      *viewer.Viewer
	client *ent.Client
	// numbers the viewer is a member of, when its scope has
	// conversation.read.number: pinned by a live connection's admission, or
	// else read and reloaded when an AgentChanged event names the viewer
	// (agent and number updates publish one for each member who joins or
	// leaves).
	numbers map[string]bool
	// unsure: the numbers could not be reloaded; every event is loaded.
	unsure bool
}

func newAudience(ctx context.Context, client *ent.Client) (*audience, error) {
	a := &audience{v: viewer.FromContext(ctx), client: client}
	if a.v == nil {
		return a, nil
	}
	return a, a.load(ctx)
}

func (a *audience) load(ctx context.Context) error {
	s := a.v.Scope
	if s.NumbersPinned {
		a.numbers = make(map[string]bool, len(s.Numbers))
		for _, id := range s.Numbers {
			a.numbers[id] = true
		}
		return nil // a change re-admits the connection (graph.FollowPolicy)
	}
	if s.AllConversations || !s.NumberConversations || a.v.AgentID == "" {
		return nil
	}
	ids, err := a.client.Number.Query().Where(number.HasMembersWith(agent.ID(a.v.AgentID))).IDs(viewer.System(ctx, a.v.TenantID))
	if err != nil {
		a.unsure = true
		return err
	}
	a.unsure = false
	numbers := make(map[string]bool, len(ids))
	for _, id := range ids {
		numbers[id] = true
	}
	a.numbers = numbers
	return nil
}

// changed reloads the viewer's numbers when agentID is the viewer (and
// they are not pinned).
func (a *audience) changed(ctx context.Context, agentID string) error {
	if a.v == nil || agentID != a.v.AgentID || a.v.Scope.NumbersPinned {
		return nil
	}
	return a.load(ctx)
}

// concerns reports whether the conversation event c may be visible to the
// viewer: false only when its audience is known and the viewer's scope
// covers neither its number nor its assignee.
func (a *audience) concerns(c realtime.Change) bool {
	v := a.v
	switch {
	case v == nil || v.Scope.AllConversations || c.NumberID == "" || a.unsure:
		return true
	case v.AgentID == "":
		return false // only agents have a scope short of everything
	case v.Scope.AssignedConversations && c.AssigneeID == v.AgentID:
		return true
	case v.Scope.NumberConversations && a.numbers[c.NumberID]:
		return true
	}
	return false
}
