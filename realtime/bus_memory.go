package realtime

import (
	"bytes"
	"context"
	"sync"
)

// memoryBus is the bus of a single instance: sequences, replay window and
// subscribers all live in this process and are gone when it exits.
type memoryBus struct {
	window int
	fanout *fanout

	mu      sync.Mutex
	closed  bool
	tenants map[string]*memoryLog
}

// memoryLog is one tenant's last assigned Seq and a ring of its most recent
// events: event n is at ring[n % len(ring)].
type memoryLog struct {
	last uint64
	ring []Event
}

// NewMemory returns the in-process bus, for a deployment of one instance. Its
// sequences start again at 1 when the process restarts; Since then reports
// a resync to clients that saw the old ones.
func NewMemory(opts ...Option) Bus {
	o := newOptions(opts)
	return &memoryBus{
		window:  o.window,
		fanout:  newFanout(o.buffer),
		tenants: make(map[string]*memoryLog),
	}
}

func (b *memoryBus) Publish(_ context.Context, e Event) (Event, error) {
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
		b.tenants[e.TenantID] = log
	}
	log.last++
	e.Seq, e.At = log.last, now()
	log.ring[e.Seq%uint64(len(log.ring))] = e
	// Delivering under the lock keeps each tenant's events in Seq order.
	b.fanout.deliver(e)
	return e, nil
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
