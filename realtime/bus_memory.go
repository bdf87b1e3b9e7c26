package realtime

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"sync"
)

// SQLiteSchema creates the table where the memory bus keeps its sequences
// when it runs beside SQLite (store migration 0011): each tenant's highest
// reserved Seq. The bus reserves sequenceBlock numbers at a time, so a
// restart skips at most that many and never hands out a Seq again.
const SQLiteSchema = `CREATE TABLE realtime_sequences (
    tenant_id text PRIMARY KEY,
    seq integer NOT NULL
);
`

// sequenceBlock is how many Seqs the memory bus reserves per write to its
// sequence table: one write per block of a tenant's events, and at most a
// block skipped per restart.
const sequenceBlock = 1024

// reserveSQL reserves the next block of a tenant's sequence and returns the
// new highest reserved Seq; the previous one is it minus the block.
const reserveSQL = `INSERT INTO realtime_sequences (tenant_id, seq) VALUES ($1, $2)
ON CONFLICT (tenant_id) DO UPDATE SET seq = realtime_sequences.seq + excluded.seq
RETURNING seq`

// WithSequences makes the memory bus keep its sequences in db's
// realtime_sequences table (SQLiteSchema), so that they continue after a
// restart instead of starting again at 1: a client resuming with a Seq from
// before the restart is then told to resync (the events themselves were in
// the process), and every live event after that has a greater Seq than the
// one it knows. Open passes it for a SQLite deployment.
func WithSequences(db *sql.DB) Option {
	return func(o *options) { o.sequences = db }
}

// memoryBus is the bus of a single instance: sequences, replay window and
// subscribers all live in this process and are gone when it exits.
type memoryBus struct {
	window int
	fanout *fanout
	seqDB  *sql.DB // nil: sequences live in the process alone

	mu      sync.Mutex
	closed  bool
	tenants map[string]*memoryLog

	signals
}

// memoryLog is one tenant's last assigned Seq and a ring of its most recent
// events: event n is at ring[n % len(ring)].
type memoryLog struct {
	last     uint64
	reserved uint64 // with a sequence table, the highest Seq reserved there
	ring     []Event
}

// NewMemory returns the in-process bus, for a deployment of one instance.
// Its replay window is gone when the process exits; its sequences start
// again at 1 too, unless WithSequences keeps them in the database.
func NewMemory(opts ...Option) Bus {
	o := newOptions(opts)
	return &memoryBus{
		window:  o.window,
		fanout:  newFanout(o.buffer),
		seqDB:   o.sequences,
		tenants: make(map[string]*memoryLog),
	}
}

func (b *memoryBus) Publish(ctx context.Context, e Event) (Event, error) {
	e, err := prepare(e)
	if err != nil {
		return Event{}, err
	}
	e.Data = bytes.Clone(e.Data) // the caller may reuse its buffer
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return Event{}, ErrClosed
	}
	log := b.tenants[e.TenantID]
	if log == nil {
		log = &memoryLog{ring: make([]Event, b.window)}
	}
	if b.seqDB != nil && log.last == log.reserved {
		// The first event of the tenant in this process, or the block is
		// used up: reserve the next one. A new tenant's row starts at the
		// block, so its first Seq is 1; an old one's continues after
		// whatever the previous process may have handed out.
		var reserved uint64
		if err := b.seqDB.QueryRowContext(ctx, reserveSQL, e.TenantID, sequenceBlock).Scan(&reserved); err != nil {
			return Event{}, fmt.Errorf("realtime: reserve sequences for %s: %w", e.TenantID, err)
		}
		if b.tenants[e.TenantID] == nil {
			log.last = reserved - sequenceBlock
		}
		log.reserved = reserved
	}
	b.tenants[e.TenantID] = log
	log.last++
	e.Seq, e.At = log.last, now()
	log.ring[e.Seq%uint64(len(log.ring))] = e
	// Delivering under the lock keeps each tenant's events in Seq order.
	b.fanout.deliver(e)
	return e, nil
}

// Signal hands s to this process's handler: a memory bus is one instance.
func (b *memoryBus) Signal(ctx context.Context, s Signal) error {
	s, err := prepareSignal(s)
	if err != nil {
		return err
	}
	b.mu.Lock()
	closed := b.closed
	b.mu.Unlock()
	if closed {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	s.Data = bytes.Clone(s.Data) // the caller may reuse its buffer
	b.signals.dispatch(s)
	return nil
}

func (b *memoryBus) Subscribe(ctx context.Context, tenantID string) (*Subscription, error) {
	return b.fanout.subscribe(ctx, tenantID)
}

func (b *memoryBus) Since(_ context.Context, tenantID string, afterSeq uint64) ([]Event, bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return nil, false, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, false, ErrClosed
	}
	var (
		last   uint64
		missed []Event
	)
	if log := b.tenants[tenantID]; log != nil {
		last, missed = log.last, log.after(afterSeq)
	}
	events, ok := replay(last, afterSeq, missed)
	return events, ok, nil
}

// after returns the retained events after seq, oldest first.
func (l *memoryLog) after(seq uint64) []Event {
	if seq >= l.last {
		return nil
	}
	size := uint64(len(l.ring))
	first := seq + 1
	if l.last >= size && first < l.last-size+1 {
		first = l.last - size + 1
	}
	events := make([]Event, 0, l.last-first+1)
	for n := first; n <= l.last; n++ {
		events = append(events, l.ring[n%size])
	}
	return events
}

func (b *memoryBus) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.closed {
		b.closed = true
		b.fanout.close()
	}
	return nil
}
