package routing

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
)

// The queue is the unassigned, unresolved conversations with queued_at set,
// served by priority (URGENT first) and then by arrival.

// queued selects the queue.
func queued(q *ent.ConversationQuery) *ent.ConversationQuery {
	return q.Where(conversation.QueuedAtNotNil(), conversation.AssigneeIDIsNil(), conversation.StatusNEQ(conversation.StatusRESOLVED))
}

// byQueueOrder orders by priority, highest first, then by arrival.
func byQueueOrder(s *sql.Selector) {
	s.OrderExpr(sql.Expr("CASE " + s.C(conversation.FieldPriority) +
		" WHEN 'URGENT' THEN 0 WHEN 'HIGH' THEN 1 WHEN 'NORMAL' THEN 2 ELSE 3 END"))
	s.OrderBy(s.C(conversation.FieldQueuedAt), s.C(conversation.FieldID))
}

// Queue returns the query of the conversations waiting, in the order they
// will be served; privacy keeps to those the viewer may see.
func (s *Service) Queue() *ent.ConversationQuery {
	return queued(s.client.Conversation.Query()).Order(byQueueOrder)
}

// QueueStats are the queue's figures for a dashboard.
type QueueStats struct {
	Length      int
	LongestWait time.Duration
}

// Stats counts the conversations waiting that the viewer may see and how
// long the first arrival has waited.
func (s *Service) Stats(ctx context.Context) (QueueStats, error) {
	n, err := queued(s.client.Conversation.Query()).Count(ctx)
	if err != nil || n == 0 {
		return QueueStats{}, err
	}
	first, err := queued(s.client.Conversation.Query()).Order(ent.Asc(conversation.FieldQueuedAt)).First(ctx)
	if err != nil {
		return QueueStats{}, err
	}
	return QueueStats{Length: n, LongestWait: max(0, s.clock.Now().Sub(*first.QueuedAt))}, nil
}

// drainBatch is how many waiting conversations Drain reads at a time.
const drainBatch = 100

// Drain gives waiting conversations of the context's tenant to agents who
// now have room, in queue order, until nobody can take more. It is safe to
// run on every instance at once: each conversation is routed under its row
// lock and each agent's place is claimed by a conditional update. It
// returns how many it assigned.
func (s *Service) Drain(ctx context.Context) (int, error) {
	total := 0
	for {
		heads, err := queued(s.client.Conversation.Query()).Where(conversation.ReservedForIDIsNil()). // HandOver gives those
														Order(byQueueOrder).Limit(drainBatch).
														Select(conversation.FieldID, conversation.FieldNumberID).All(ctx)
		if err != nil {
			return total, err
		}
		assigned := 0
		full := map[string]bool{} // numbers nobody can take more from: later arrivals wait their turn
		for _, c := range heads {
			if full[c.NumberID] {
				continue
			}
			d, err := s.Route(ctx, c.ID)
			if err != nil {
				return total, err
			}
			if d.AgentID != "" {
				assigned++
			} else {
				full[c.NumberID] = true
			}
		}
		total += assigned
		if assigned == 0 || len(heads) < drainBatch {
			return total, nil
		}
	}
}
