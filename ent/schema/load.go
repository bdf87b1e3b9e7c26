package schema

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"entgo.io/ent"
	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"

	gen "github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/agent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/hook"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Agents' load: agents.open_count counts the unresolved conversations
// assigned to each agent, so routing finds the least loaded agent with one
// indexed read of the agents instead of counting open conversations (there
// may be 100,000). keepAgentLoad keeps it true on every write of a
// conversation's assignee or status, in the same transaction.
//
// Lock order, to keep Postgres free of deadlocks: the conversation row first,
// then agents in id order.

type loadClaimKey struct{}

// WithLoadClaimed tells the hook that agentID's load was already raised for
// the assignment made with ctx: routing raises it first, with a conditional
// update that refuses an agent at capacity.
func WithLoadClaimed(ctx context.Context, agentID string) context.Context {
	return context.WithValue(ctx, loadClaimKey{}, agentID)
}

func knownRowOf(ctx context.Context) *knownRow {
	if k, ok := ctx.Value(loadClaimKey{}).(knownRow); ok {
		return &k
	}
	return nil
}

type agentsKey struct{}

// BeforeAgents returns ctx in which f runs before a write changes an
// agent's row (its load, or routing's claim), once per such write: the
// webhook ingest's batches take their tenant's lock there (package
// connector), since agents are what batches of different customers share.
func BeforeAgents(ctx context.Context, f func(ctx context.Context) error) context.Context {
	return context.WithValue(ctx, agentsKey{}, f)
}

// TouchAgents runs what BeforeAgents set, if anything: call it before a
// write of agents' rows.
func TouchAgents(ctx context.Context) error {
	if f, ok := ctx.Value(agentsKey{}).(func(context.Context) error); ok {
		return f(ctx)
	}
	return nil
}

func claimed(ctx context.Context) string {
	switch v := ctx.Value(loadClaimKey{}).(type) {
	case string:
		return v
	case knownRow:
		return v.claimed
	}
	return ""
}

// knownRow is what the caller read of a conversation it locked.
type knownRow struct {
	claimed, conversationID string
	assigneeID              *string
	status                  conversation.Status
}

// WithLoadClaimedOn is WithLoadClaimed for an update of conversationID,
// whose row the caller locked and read (assigneeID and status as they are):
// the hook then need not read them again. agentID is "" when the update
// claims no agent's place (it takes the conversation from its agent). With it, a bulk Update (which ent
// does not read back, as it does an update by id) is narrowed to that one
// conversation and keeps the load as an update by id does.
func WithLoadClaimedOn(ctx context.Context, agentID, conversationID string, assigneeID *string, status conversation.Status) context.Context {
	return context.WithValue(ctx, loadClaimKey{}, knownRow{agentID, conversationID, assigneeID, status})
}

// LockRow makes a read lock the rows it returns until the transaction ends,
// on Postgres (FOR UPDATE; conversations here, messages in the status
// ingest); SQLite's immediate transactions already serialise writers, and
// SQLite has no FOR UPDATE.
func LockRow(s *sql.Selector) {
	if s.Dialect() == dialect.Postgres {
		s.ForUpdate()
	}
}

var keepAgentLoad = hook.On(func(next ent.Mutator) ent.Mutator {
	return hook.ConversationFunc(func(ctx context.Context, m *gen.ConversationMutation) (ent.Value, error) {
		_, assigneeSet := m.AssigneeID()
		_, statusSet := m.Status()
		touches := assigneeSet || statusSet || m.AssigneeIDCleared()
		switch {
		case m.Op().Is(ent.OpCreate):
			v, err := next.Mutate(ctx, m)
			if err != nil || !touches {
				return v, err
			}
			a, _ := m.AssigneeID()
			st, _ := m.Status()
			return v, moveLoad(ctx, m.Client(), "", a, st != conversation.StatusRESOLVED)
		case m.Op().Is(ent.OpUpdateOne):
			if !touches {
				return next.Mutate(ctx, m)
			}
			return updateOneKeepingLoad(ctx, next, m)
		case m.Op().Is(ent.OpUpdate) && touches && knownRowOf(ctx) != nil:
			return updateKnownKeepingLoad(ctx, next, m, knownRowOf(ctx))
		case m.Op().Is(ent.OpDelete | ent.OpDeleteOne), touches:
			// bulk writes: recount the tenant's agents afterwards
			v, err := next.Mutate(ctx, m)
			if err != nil {
				return v, err
			}
			return v, RecountLoads(ctx, m.Client())
		}
		return next.Mutate(ctx, m)
	})
}, ent.OpCreate|ent.OpUpdate|ent.OpUpdateOne|ent.OpDelete|ent.OpDeleteOne)

// loadRow is what the load follows of a conversation.
type loadRow struct {
	AssigneeID *string             `json:"assignee_id"`
	Status     conversation.Status `json:"status"`
}

func updateOneKeepingLoad(ctx context.Context, next ent.Mutator, m *gen.ConversationMutation) (ent.Value, error) {
	id, _ := m.ID()
	var rows []loadRow
	if k := knownRowOf(ctx); k != nil && k.conversationID == id {
		rows = append(rows, loadRow{k.assigneeID, k.status})
	} else if err := m.Client().Conversation.Query().Where(conversation.ID(id)).
		Modify(LockRow).Select(conversation.FieldAssigneeID, conversation.FieldStatus).Scan(ctx, &rows); err != nil {
		return nil, err
	}
	v, err := next.Mutate(ctx, m)
	if err != nil || len(rows) == 0 {
		return v, err
	}
	return v, followLoad(ctx, m, rows[0])
}

// updateKnownKeepingLoad runs an update of the one conversation whose row
// the caller locked and read (WithLoadClaimedOn), which ent sends without
// reading the row back as an update by id does: the update is narrowed to
// that conversation, and it must touch it.
func updateKnownKeepingLoad(ctx context.Context, next ent.Mutator, m *gen.ConversationMutation, k *knownRow) (ent.Value, error) {
	m.Where(conversation.ID(k.conversationID))
	v, err := next.Mutate(ctx, m)
	if err != nil {
		return v, err
	}
	if n, _ := v.(int); n != 1 {
		return v, fmt.Errorf("update conversation %s: %d rows updated, want 1", k.conversationID, n)
	}
	return v, followLoad(ctx, m, loadRow{k.assigneeID, k.status})
}

// followLoad moves the load as m changed a conversation that was old.
func followLoad(ctx context.Context, m *gen.ConversationMutation, old loadRow) error {
	oldAgent, newAgent := "", ""
	if old.AssigneeID != nil {
		oldAgent = *old.AssigneeID
	}
	newAgent, newStatus := oldAgent, old.Status
	if a, ok := m.AssigneeID(); ok {
		newAgent = a
	} else if m.AssigneeIDCleared() {
		newAgent = ""
	}
	if st, ok := m.Status(); ok {
		newStatus = st
	}
	oldCounted := oldAgent != "" && old.Status != conversation.StatusRESOLVED
	newCounted := newAgent != "" && newStatus != conversation.StatusRESOLVED
	if oldCounted == newCounted && oldAgent == newAgent {
		return nil
	}
	from := ""
	if oldCounted {
		from = oldAgent
	}
	return moveLoad(ctx, m.Client(), from, newAgent, newCounted)
}

// moveLoad takes one from from's load and adds one to to's (when counted and
// not already claimed), in id order.
func moveLoad(ctx context.Context, c *gen.Client, from, to string, counted bool) error {
	type delta struct {
		id string
		by int
	}
	var ds []delta
	if from != "" {
		ds = append(ds, delta{from, -1})
	}
	if to != "" && counted && claimed(ctx) != to {
		ds = append(ds, delta{to, +1})
	}
	slices.SortFunc(ds, func(a, b delta) int { return strings.Compare(a.id, b.id) })
	if len(ds) > 0 {
		if err := TouchAgents(ctx); err != nil {
			return err
		}
	}
	for _, d := range ds {
		if err := c.Agent.Update().Where(agent.ID(d.id)).AddOpenCount(d.by).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// RecountLoads sets every agent's load of the viewer's tenant from the
// conversations themselves: after bulk writes, and to repair a drift.
func RecountLoads(ctx context.Context, c *gen.Client) error {
	v := viewer.FromContext(ctx)
	if v == nil || v.TenantID == "" {
		return nil
	}
	return c.Agent.Update().Where(agent.TenantID(v.TenantID)).Modify(func(u *sql.UpdateBuilder) {
		// the tenant in the count lets it use the (tenant_id, assignee_id)
		// index: without it, every agent's count scanned the tenant's
		// conversations (1,000 agents × 100,000 conversations)
		u.Set(agent.FieldOpenCount, sql.Expr(
			"(SELECT COUNT(*) FROM conversations WHERE conversations.tenant_id = agents.tenant_id"+
				" AND conversations.assignee_id = agents.id AND conversations.status <> 'RESOLVED')"))
	}).Exec(ctx)
}
