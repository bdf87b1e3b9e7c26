package realtime

import (
	"context"
	"sync"
)

// Subscription receives the events of one tenant, or of all tenants, from a
// bus. Read Events until it is closed; reload state whenever Resync fires.
type Subscription struct {
	tenantID string // "" for all tenants
	events   chan Event
	resync   chan struct{}
	fanout   *fanout
	// stop detaches the subscription from its context; both fields are
	// guarded by fanout.mu.
	stop   func() bool
	closed bool
}

// Events delivers the subscription's events, each tenant's in Seq order. It
// is closed when the subscription, its context or the bus is closed.
func (s *Subscription) Events() <-chan Event { return s.events }

// Resync fires when the subscription has missed events: its buffer
// overflowed, or the bus lost its connection for a while. Events already
// buffered and later events keep coming; the reader should reload the state
// it derives from events (and may skip buffered events its reload covers).
// Signals coalesce: one pending signal stands for any number of gaps.
func (s *Subscription) Resync() <-chan struct{} { return s.resync }

// Close stops delivery and closes Events. It is safe to call more than once
// and from any goroutine.
func (s *Subscription) Close() {
	s.fanout.remove(s)
}

// offer hands e to the reader without waiting: when the buffer is full the
// event is dropped and Resync fires instead.
func (s *Subscription) offer(e Event) {
	select {
	case s.events <- e:
	default:
		s.signalResync()
	}
}

func (s *Subscription) signalResync() {
	select {
	case s.resync <- struct{}{}:
	default: // a signal is already pending
	}
}

// fanout hands the events a bus receives to the subscriptions of one
// instance. It never blocks on a subscriber, and it turns a break in a
// tenant's sequence (events the bus lost) into a Resync for the tenant's
// subscribers.
type fanout struct {
	buffer int

	mu       sync.RWMutex
	closed   bool
	byTenant map[string]map[*Subscription]struct{} // key "" holds all-tenant subscriptions

	seqMu   sync.Mutex
	lastSeq map[string]uint64 // the last Seq delivered, per tenant
}

func newFanout(buffer int) *fanout {
	return &fanout{
		buffer:   buffer,
		byTenant: make(map[string]map[*Subscription]struct{}),
		lastSeq:  make(map[string]uint64),
	}
}

func (f *fanout) subscribe(ctx context.Context, tenantID string) (*Subscription, error) {
	if err := checkSubscribeTenantID(tenantID); err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	s := &Subscription{
		tenantID: tenantID,
		events:   make(chan Event, f.buffer),
		resync:   make(chan struct{}, 1),
		fanout:   f,
	}
	f.mu.Lock()
	if f.closed {
		f.mu.Unlock()
		return nil, ErrClosed
	}
	subs := f.byTenant[tenantID]
	if subs == nil {
		subs = make(map[*Subscription]struct{})
		f.byTenant[tenantID] = subs
	}
	subs[s] = struct{}{}
	f.mu.Unlock()
	stop := context.AfterFunc(ctx, s.Close)
	f.mu.Lock()
	s.stop = stop
	if s.closed { // closed meanwhile, by the context or the bus
		stop()
	}
	f.mu.Unlock()
	return s, nil
}

func (f *fanout) remove(s *Subscription) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if s.closed {
		return
	}
	s.end()
	subs := f.byTenant[s.tenantID]
	delete(subs, s)
	if len(subs) == 0 {
		delete(f.byTenant, s.tenantID)
	}
}

// deliver offers e to the subscriptions of its tenant and of all tenants.
// Callers deliver each tenant's events in Seq order, from one goroutine at a
// time per tenant.
func (f *fanout) deliver(e Event) {
	gap := f.advance(e)
	f.mu.RLock()
	defer f.mu.RUnlock()
	for _, subs := range []map[*Subscription]struct{}{f.byTenant[e.TenantID], f.byTenant[""]} {
		for s := range subs {
			if gap {
				s.signalResync()
			}
			s.offer(e)
		}
	}
}

// advance records e.Seq as its tenant's latest and reports whether it does
// not follow the previous one: events went missing, or the tenant's history
// was reset (Seq went back).
func (f *fanout) advance(e Event) (gap bool) {
	f.seqMu.Lock()
	defer f.seqMu.Unlock()
	last, seen := f.lastSeq[e.TenantID]
	f.lastSeq[e.TenantID] = e.Seq
	return seen && e.Seq != last+1
}

// resync signals the subscriptions of tenantID and of all tenants, or every
// subscription when tenantID is "".
func (f *fanout) resync(tenantID string) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	for tenant, subs := range f.byTenant {
		if tenantID != "" && tenant != tenantID && tenant != "" {
			continue
		}
		for s := range subs {
			s.signalResync()
		}
	}
}

// close closes every subscription; later subscribe calls fail with ErrClosed.
func (f *fanout) close() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.closed = true
	for _, subs := range f.byTenant {
		for s := range subs {
			s.end()
		}
	}
	f.byTenant = nil
}

// end closes s; the caller holds fanout.mu.
func (s *Subscription) end() {
	s.closed = true
	close(s.events)
	if s.stop != nil {
		s.stop()
	}
}
