package report

import (
	"context"
	"fmt"
	"slices"
	"sync"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/store/bulk"
)

// The facts of a write made in a transaction (store.WithTx: the transaction
// is in the context, and the write's mutation runs in it, ent.Tx.Runs) wait
// for its commit: the tenant is read once per transaction, the deltas of all
// its writes are summed by row and appended in one statement, the sample rows
// in one, and each conversation's running state is written once, its last. A
// broadcast's claim opens hundreds of conversations and messages in one
// transaction: their facts cost a few statements instead of several each, and
// an ingest's new conversation and its first message share theirs. The
// pending facts are written by a commit hook, before the commit and in the
// transaction: they are committed with the write or not at all.
//
// What a later write of the same transaction reads comes from the pending
// facts: the running state, and whether an agent already answered (a
// response sample); a late message's replay (rebuild) writes the pending
// samples first, then reads them back from the table. A write outside a
// transaction, or through a client other than the context's transaction's,
// writes its facts at once.

// inFlight holds the pending facts of each open transaction that has some.
var inFlight sync.Map // *ent.Tx → *pending

// pending are a transaction's facts not yet written.
type pending struct {
	mu     sync.Mutex
	clocks map[string]tenantClock
	states map[string]pendingState
	deltas map[deltaKey]*delta
	// samples are the sample rows not yet written, by tenant.
	samples map[string][]sample
}

type pendingState struct {
	tenantID string
	st       state
}

// pendingOf is the pending facts of the transaction in ctx, registering
// their write at its commit; nil (write at once) when ctx holds none or c,
// the client of the write, is not that transaction's.
func pendingOf(ctx context.Context, c *ent.Client) *pending {
	tx := ent.TxFromContext(ctx)
	if tx == nil || !tx.Runs(c) {
		return nil
	}
	fresh := &pending{clocks: map[string]tenantClock{}, states: map[string]pendingState{}, deltas: map[deltaKey]*delta{}, samples: map[string][]sample{}}
	got, loaded := inFlight.LoadOrStore(tx, fresh)
	if loaded {
		return got.(*pending)
	}
	p := fresh
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			inFlight.Delete(tx)
			if err := p.write(ctx, tx.Client()); err != nil {
				return fmt.Errorf("%w (rolled back: %v)", err, tx.Rollback())
			}
			return next.Commit(ctx, tx)
		})
	})
	tx.OnRollback(func(next ent.Rollbacker) ent.Rollbacker {
		return ent.RollbackFunc(func(ctx context.Context, tx *ent.Tx) error {
			inFlight.Delete(tx)
			return next.Rollback(ctx, tx)
		})
	})
	return p
}

func (p *pending) clock(tenantID string) (tenantClock, bool) {
	if p == nil {
		return tenantClock{}, false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tc, ok := p.clocks[tenantID]
	return tc, ok
}

func (p *pending) setClock(tc tenantClock) {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	tc.numberTargetMs = nil // read by the write that needs them
	p.clocks[tc.id] = tc
}

func (p *pending) state(conversationID string) (state, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	s, ok := p.states[conversationID]
	return s.st, ok
}

func (p *pending) setState(tenantID, conversationID string, st state) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.states[conversationID] = pendingState{tenantID, st}
}

func (p *pending) addSamples(tenantID string, samples []sample) {
	if len(samples) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.samples[tenantID] = append(p.samples[tenantID], samples...)
}

// answered says whether a pending response sample of the conversation is
// the agent's.
func (p *pending) answered(conversationID, agent string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, ss := range p.samples {
		for _, s := range ss {
			if s.conversationID == conversationID && s.kind == KindResponse && s.dims.agent == agent {
				return true
			}
		}
	}
	return false
}

// writeSamples writes the pending sample rows now (before a read of the
// table).
func (p *pending) writeSamples(ctx context.Context, db execer) error {
	if p == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.writeSamplesLocked(ctx, db)
}

func (p *pending) writeSamplesLocked(ctx context.Context, db execer) error {
	tenants := make([]string, 0, len(p.samples))
	for id := range p.samples {
		tenants = append(tenants, id)
	}
	slices.Sort(tenants)
	for _, id := range tenants {
		if err := writeSamples(ctx, db, id, p.samples[id]); err != nil {
			return err
		}
		delete(p.samples, id)
	}
	return nil
}

func (p *pending) addDeltas(deltas []delta) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, x := range deltas {
		k := x.key()
		if sum, ok := p.deltas[k]; ok {
			sum.counts.add(x.counts)
			sum.n += x.n
			continue
		}
		p.deltas[k] = &x
	}
}

// write inserts the samples, appends the deltas and writes the states,
// conversations in one order for every transaction (two commits that share
// a conversation wait for each other instead of deadlocking).
func (p *pending) write(ctx context.Context, db execer) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if err := p.writeSamplesLocked(ctx, db); err != nil {
		return err
	}
	if len(p.deltas) > 0 {
		deltas := make([]delta, 0, len(p.deltas))
		for _, x := range p.deltas {
			deltas = append(deltas, *x)
		}
		if err := writeDeltas(ctx, db, deltas); err != nil {
			return err
		}
	}
	if len(p.states) == 0 {
		return nil
	}
	ids := make([]string, 0, len(p.states))
	for id := range p.states {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	rows := make([][]any, len(ids))
	for i, id := range ids {
		s := p.states[id]
		rows[i] = stateRow(s.tenantID, id, s.st)
	}
	if err := bulk.Insert(ctx, db, stateTable, rows, stateUpsert); err != nil {
		return fmt.Errorf("report: states: %w", err)
	}
	return nil
}

// stateTable is report_conversations with its columns, in stateRow's order.
const stateTable = "report_conversations (conversation_id, tenant_id, episode_started_at, waiting_since, last_message_at, responded)"

// stateUpsert makes a state written again replace the one written before.
const stateUpsert = ` ON CONFLICT (conversation_id) DO UPDATE SET episode_started_at = excluded.episode_started_at,
waiting_since = excluded.waiting_since, last_message_at = excluded.last_message_at, responded = excluded.responded`

func stateRow(tenantID, conversationID string, st state) []any {
	return []any{conversationID, tenantID, st.episodeStartedAt.UnixMilli(), millis(st.waitingSince), millis(st.lastMessageAt), b2i(st.responded)}
}
