package realtime

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Event is one thing that happened in a tenant, published after the
// transaction that caused it committed.
type Event struct {
	TenantID string
	// Seq is assigned by the bus on publish: 1 for a tenant's first event,
	// then one more for each following event, on every instance.
	Seq uint64
	// Type says what happened, e.g. "conversation.updated", "message.added",
	// "policy.changed", "agent.revoked".
	Type string
	// Subject is the id the event is about, e.g. "cnv_01J…".
	Subject string
	// Data is a small delta (ids and changed fields, not whole rows), at most
	// MaxDataBytes of JSON. Receivers share it: treat it as read-only.
	Data json.RawMessage
	// At is when the bus accepted the event, in UTC to the microsecond.
	At time.Time
}

// Bus carries events from the instance where they happen to every instance
// with subscribers. The package documentation states its guarantees.
type Bus interface {
	// Publish assigns the event its tenant's next Seq and its At, and returns
	// it so. It never waits for subscribers.
	Publish(ctx context.Context, e Event) (Event, error)
	// Subscribe delivers the events of tenantID, or of every tenant when
	// tenantID is "" (instance-wide consumers such as the policy cache),
	// published from now on until the subscription, ctx or the bus is closed.
	Subscribe(ctx context.Context, tenantID string) (*Subscription, error)
	// Since returns the events of tenantID after afterSeq, oldest first, from
	// the replay window. ok is false when it cannot return all of them: the
	// oldest is no longer in the window, or afterSeq was never assigned (the
	// bus's history was reset). The caller must then reload its state.
	Since(ctx context.Context, tenantID string, afterSeq uint64) (events []Event, ok bool, err error)
	// Signal sends s to the signal handler of every instance (this one's
	// too), best effort and without touching a database table: see Signal.
	Signal(ctx context.Context, s Signal) error
	// HandleSignals sets the function that receives this instance's signals,
	// of every tenant (nil drops them). It must return quickly.
	HandleSignals(fn func(Signal))
	// Close closes every subscription and releases what the bus opened.
	// Afterwards every method returns ErrClosed; Close itself returns nil.
	Close() error
}

const (
	// DefaultWindow is how many recent events per tenant Since can replay.
	DefaultWindow = 1024
	// DefaultBuffer is how many events a subscription holds for its reader
	// before it overflows.
	DefaultBuffer = 256
	// MaxDataBytes bounds Event.Data on every bus, so that a deployment can
	// switch buses without an event becoming too big.
	MaxDataBytes = 64 << 10
	// maxTenantIDBytes keeps a tenant id usable as a NATS subject token and
	// in a NOTIFY payload.
	maxTenantIDBytes = 128
)

// ErrClosed is returned by a bus after Close.
var ErrClosed = errors.New("realtime: bus closed")

// Option configures a bus. Options that do not apply to the bus Open picks
// are ignored.
type Option func(*options)

type options struct {
	window            int
	buffer            int
	logger            *slog.Logger
	postgresChannel   string
	natsStream        string
	natsSubjectPrefix string
	sequences         *sql.DB
}

func newOptions(opts []Option) options {
	o := options{
		window:            DefaultWindow,
		buffer:            DefaultBuffer,
		logger:            slog.Default(),
		postgresChannel:   DefaultPostgresChannel,
		natsStream:        DefaultNATSStream,
		natsSubjectPrefix: DefaultNATSSubjectPrefix,
	}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// WithWindow sets how many recent events per tenant Since can replay
// (default DefaultWindow). Every instance of a deployment must use the same;
// on NATS it is the stream's MaxMsgsPerSubject, set when the bus creates the
// stream.
func WithWindow(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.window = n
		}
	}
}

// WithBuffer sets how many undelivered events a subscription holds before it
// overflows (default DefaultBuffer).
func WithBuffer(n int) Option {
	return func(o *options) {
		if n > 0 {
			o.buffer = n
		}
	}
}

// WithLogger sets where the bus reports connection trouble (default
// slog.Default()).
func WithLogger(l *slog.Logger) Option {
	return func(o *options) { o.logger = l }
}

// Open returns the bus a deployment is configured for: NATS when natsURL is
// set; else PostgreSQL when databaseURL is a postgres:// URL, publishing
// through db and listening on a connection of its own to databaseURL; else
// the in-process memory bus, for a single instance, which keeps its
// sequences in db (SQLite, see WithSequences) when db is given.
func Open(ctx context.Context, db *sql.DB, databaseURL, natsURL string, opts ...Option) (Bus, error) {
	switch {
	case natsURL != "":
		return NewNATS(ctx, natsURL, opts...)
	case strings.HasPrefix(databaseURL, "postgres://") || strings.HasPrefix(databaseURL, "postgresql://"):
		if db == nil {
			return nil, errors.New("realtime: the PostgreSQL bus needs the database pool")
		}
		return NewPostgres(ctx, db, databaseURL, opts...)
	case db != nil:
		return NewMemory(append(opts, WithSequences(db))...), nil
	default:
		return NewMemory(opts...), nil
	}
}

// prepare checks an event before publishing and returns it with its Data
// normalised: no data is nil, never "null" or empty.
func prepare(e Event) (Event, error) {
	if err := checkTenantID(e.TenantID); err != nil {
		return Event{}, err
	}
	if e.Type == "" {
		return Event{}, errors.New("realtime: event without a type")
	}
	if len(e.Data) > MaxDataBytes {
		return Event{}, fmt.Errorf("realtime: %s event data is %d bytes, more than %d", e.Type, len(e.Data), MaxDataBytes)
	}
	if len(e.Data) == 0 || bytes.Equal(e.Data, []byte("null")) {
		e.Data = nil
	} else if !json.Valid(e.Data) {
		return Event{}, fmt.Errorf("realtime: %s event data is not JSON", e.Type)
	}
	e.Seq, e.At = 0, time.Time{}
	return e, nil
}

// checkTenantID accepts the ids every bus can carry: not empty, short, and
// free of what NATS subjects reserve (dots, wildcards, spaces).
func checkTenantID(id string) error {
	if id == "" {
		return errors.New("realtime: event without a tenant")
	}
	if len(id) > maxTenantIDBytes {
		return fmt.Errorf("realtime: tenant id longer than %d bytes", maxTenantIDBytes)
	}
	if i := strings.IndexFunc(id, func(r rune) bool {
		return r == '.' || r == '*' || r == '>' || r <= ' ' || r == 0x7f
	}); i >= 0 {
		return fmt.Errorf("realtime: tenant id %q has a forbidden character at %d", id, i)
	}
	return nil
}

// checkSubscribeTenantID is checkTenantID that also accepts "", all tenants.
func checkSubscribeTenantID(id string) error {
	if id == "" {
		return nil
	}
	return checkTenantID(id)
}

// replay decides what Since answers, given the tenant's last assigned Seq and
// the retained events after afterSeq, oldest first: all of them, or a resync.
func replay(last, afterSeq uint64, missed []Event) ([]Event, bool) {
	if afterSeq > last { // never assigned: the bus's history was reset
		return nil, false
	}
	if uint64(len(missed)) != last-afterSeq { // some were pruned
		return nil, false
	}
	for i, e := range missed {
		if e.Seq != afterSeq+1+uint64(i) {
			return nil, false
		}
	}
	return missed, true
}

// lifecycle lets a bus's methods run until Close, and Close wait for the
// ones running.
type lifecycle struct {
	mu     sync.RWMutex
	closed bool
}

// enter fails with ErrClosed once the bus is closed; otherwise the caller
// must leave when done.
func (l *lifecycle) enter() error {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return ErrClosed
	}
	return nil
}

func (l *lifecycle) leave() { l.mu.RUnlock() }

// close waits for the methods running and reports whether the bus was open.
func (l *lifecycle) close() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	wasOpen := !l.closed
	l.closed = true
	return wasOpen
}

// now is the bus clock: UTC to the microsecond, which is what PostgreSQL
// keeps, so that every bus returns the same kind of time.
func now() time.Time {
	return time.Now().UTC().Truncate(time.Microsecond)
}

// wireEvent is an Event as PostgreSQL notifications and NATS messages carry
// it. Ref marks a PostgreSQL notification too big to carry the event: the
// receiver reads it from the table.
type wireEvent struct {
	TenantID string          `json:"t"`
	Seq      uint64          `json:"s"`
	Ref      bool            `json:"ref,omitempty"`
	Type     string          `json:"y,omitempty"`
	Subject  string          `json:"j,omitempty"`
	Data     json.RawMessage `json:"d,omitempty"`
	AtMicros int64           `json:"a,omitempty"`
}

func toWire(e Event) wireEvent {
	return wireEvent{TenantID: e.TenantID, Seq: e.Seq, Type: e.Type, Subject: e.Subject, Data: e.Data, AtMicros: e.At.UnixMicro()}
}

func (w wireEvent) event() Event {
	e := Event{TenantID: w.TenantID, Seq: w.Seq, Type: w.Type, Subject: w.Subject, Data: w.Data, At: time.UnixMicro(w.AtMicros).UTC()}
	if bytes.Equal(e.Data, []byte("null")) {
		e.Data = nil
	}
	return e
}
