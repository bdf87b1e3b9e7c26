package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

const (
	// DefaultNATSStream is the JetStream stream the NATS bus keeps events in.
	DefaultNATSStream = "SWITCHBOARD_EVENTS"
	// DefaultNATSSubjectPrefix is followed by ".<tenant id>" to make the
	// subject of a tenant's events.
	DefaultNATSSubjectPrefix = "switchboard.events"
)

// WithNATSStream sets the JetStream stream and the subject prefix of the
// NATS bus (defaults DefaultNATSStream and DefaultNATSSubjectPrefix).
// Instances of one deployment must share them.
func WithNATSStream(stream, subjectPrefix string) Option {
	return func(o *options) { o.natsStream, o.natsSubjectPrefix = stream, subjectPrefix }
}

const (
	// maxPublishAttempts bounds how often Publish retries after other
	// instances took the Seq it tried; each round, one of them wins.
	maxPublishAttempts = 50
	// sinceConsumerIdle is how long the server keeps a consumer Since could
	// not delete.
	sinceConsumerIdle = 30 * time.Second
)

// natsBus keeps events in a JetStream stream, one subject per tenant, and
// every instance reads the whole stream with one ordered consumer.
//
// A tenant's Seq is in the event; the stream keeps the last window messages
// of each subject. Publish sends Seq n+1 on the condition that the subject's
// last message is still the one that carried n (Nats-Expected-Last-Subject-
// Sequence), so exactly one instance gets each Seq and the stream holds a
// tenant's events in Seq order. As the stream always keeps the last message
// of a subject, the count survives pruning; the stream must not have a
// MaxAge, which would reset it.
type natsBus struct {
	nc      *nats.Conn
	js      jetstream.JetStream
	stream  jetstream.Stream
	prefix  string
	window  int
	logger  *slog.Logger
	fanout  *fanout
	live    jetstream.ConsumeContext
	tenants sync.Map // tenant id → *natsTenant
	life    lifecycle

	signals
}

// natsTenant is what this instance believes is a tenant's last event. Its
// mutex makes the instance's publishers of the tenant take turns, so that
// they do not race each other for the same Seq.
type natsTenant struct {
	mu        sync.Mutex
	known     bool
	seq       uint64
	streamSeq uint64
}

// NewNATS returns the bus for a deployment that fans out over NATS with
// JetStream at natsURL. It creates the stream if it is missing and leaves an
// existing one as it is.
func NewNATS(ctx context.Context, natsURL string, opts ...Option) (Bus, error) {
	o := newOptions(opts)
	if o.natsStream == "" || o.natsSubjectPrefix == "" || strings.ContainsAny(o.natsSubjectPrefix, "*> ") ||
		strings.HasSuffix(o.natsSubjectPrefix, ".") {
		return nil, fmt.Errorf("realtime: NATS stream %q and subject prefix %q are not usable", o.natsStream, o.natsSubjectPrefix)
	}
	b := &natsBus{prefix: o.natsSubjectPrefix, window: o.window, logger: o.logger, fanout: newFanout(o.buffer)}
	nc, err := nats.Connect(natsURL,
		nats.Name("switchboard realtime bus"),
		nats.MaxReconnects(-1),
		nats.NoCallbacksAfterClientClose(),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			b.logger.Warn("realtime: NATS disconnected; subscribers will resync", "err", err)
		}),
		// Events published while disconnected may not reach this instance.
		nats.ReconnectHandler(func(*nats.Conn) {
			b.logger.Info("realtime: NATS reconnected")
			b.fanout.resync("")
		}),
	)
	if err != nil {
		return nil, fmt.Errorf("realtime: connect to NATS at %s: %w", redactURL(natsURL), err)
	}
	b.nc = nc
	if err := b.start(ctx, o.natsStream); err != nil {
		nc.Close()
		return nil, err
	}
	return b, nil
}

// start opens the stream and begins delivering new events to the fanout.
func (b *natsBus) start(ctx context.Context, streamName string) error {
	js, err := jetstream.New(b.nc)
	if err != nil {
		return fmt.Errorf("realtime: JetStream: %w", err)
	}
	b.js = js
	b.stream, err = js.CreateStream(ctx, jetstream.StreamConfig{
		Name:              streamName,
		Description:       "Switchboard realtime events: the last ones of each tenant",
		Subjects:          []string{b.prefix + ".>"},
		Retention:         jetstream.LimitsPolicy,
		MaxMsgsPerSubject: int64(b.window),
		Discard:           jetstream.DiscardOld,
		Storage:           jetstream.FileStorage,
	})
	if errors.Is(err, jetstream.ErrStreamNameAlreadyInUse) {
		b.stream, err = js.Stream(ctx, streamName)
	}
	if err != nil {
		return fmt.Errorf("realtime: open stream %s: %w", streamName, err)
	}
	live, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects: []string{b.prefix + ".>"},
		DeliverPolicy:  jetstream.DeliverNewPolicy,
	})
	if err != nil {
		return fmt.Errorf("realtime: consume stream %s: %w", streamName, err)
	}
	// Signals go on core subjects beside the stream's (prefix_signals.<tenant>
	// is not under prefix.>): never stored.
	if _, err := b.nc.Subscribe(b.prefix+"_signals.>", func(m *nats.Msg) {
		s, ok, err := decodeSignal(m.Data)
		if !ok || err != nil {
			b.logger.Warn("realtime: undecodable NATS signal", "subject", m.Subject, "err", err)
			return
		}
		b.signals.dispatch(s)
	}); err != nil {
		return fmt.Errorf("realtime: subscribe to signals: %w", err)
	}
	b.live, err = live.Consume(b.receive, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		b.logger.Warn("realtime: NATS consumer", "stream", streamName, "err", err)
	}))
	if err != nil {
		return fmt.Errorf("realtime: consume stream %s: %w", streamName, err)
	}
	return nil
}

func (b *natsBus) receive(m jetstream.Msg) {
	var w wireEvent
	if err := json.Unmarshal(m.Data(), &w); err != nil {
		b.logger.Error("realtime: undecodable NATS event", "subject", m.Subject(), "err", err)
		return
	}
	b.fanout.deliver(w.event())
}

func (b *natsBus) Publish(ctx context.Context, e Event) (Event, error) {
	e, err := prepare(e)
	if err != nil {
		return Event{}, err
	}
	if err := b.life.enter(); err != nil {
		return Event{}, err
	}
	defer b.life.leave()
	t := b.tenant(e.TenantID)
	t.mu.Lock()
	defer t.mu.Unlock()
	subject := b.subject(e.TenantID)
	for attempt := 1; ; attempt++ {
		if !t.known {
			if t.seq, t.streamSeq, err = b.last(ctx, subject); err != nil {
				return Event{}, fmt.Errorf("realtime: publish %s for %s: %w", e.Type, e.TenantID, err)
			}
			t.known = true
		}
		e.Seq, e.At = t.seq+1, now()
		payload, err := json.Marshal(toWire(e))
		if err != nil {
			return Event{}, fmt.Errorf("realtime: encode %s: %w", e.Type, err)
		}
		ack, err := b.js.Publish(ctx, subject, payload, jetstream.WithExpectLastSequencePerSubject(t.streamSeq))
		if err == nil {
			t.seq, t.streamSeq = e.Seq, ack.Sequence
			return e, nil
		}
		t.known = false // another instance published first, or we cannot tell
		if !isWrongLastSequence(err) || attempt == maxPublishAttempts {
			return Event{}, fmt.Errorf("realtime: publish %s for %s: %w", e.Type, e.TenantID, err)
		}
	}
}

// Signal publishes s on its tenant's signal subject (core NATS, not the
// stream).
func (b *natsBus) Signal(ctx context.Context, s Signal) error {
	payload, err := encodeSignal(s)
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := b.life.enter(); err != nil {
		return err
	}
	defer b.life.leave()
	if err := b.nc.Publish(b.prefix+"_signals."+s.TenantID, payload); err != nil {
		return fmt.Errorf("realtime: signal %s for %s: %w", s.Type, s.TenantID, err)
	}
	return nil
}

func (b *natsBus) tenant(id string) *natsTenant {
	if t, ok := b.tenants.Load(id); ok {
		return t.(*natsTenant)
	}
	t, _ := b.tenants.LoadOrStore(id, &natsTenant{})
	return t.(*natsTenant)
}

func (b *natsBus) subject(tenantID string) string {
	return b.prefix + "." + tenantID
}

// last returns the Seq and stream sequence of the last event on subject;
// zeros when there is none.
func (b *natsBus) last(ctx context.Context, subject string) (seq, streamSeq uint64, err error) {
	m, err := b.stream.GetLastMsgForSubject(ctx, subject)
	if errors.Is(err, jetstream.ErrMsgNotFound) {
		return 0, 0, nil
	}
	if err != nil {
		return 0, 0, fmt.Errorf("read last event on %s: %w", subject, err)
	}
	var w wireEvent
	if err := json.Unmarshal(m.Data, &w); err != nil {
		return 0, 0, fmt.Errorf("decode last event on %s: %w", subject, err)
	}
	return w.Seq, m.Sequence, nil
}

func isWrongLastSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

func (b *natsBus) Subscribe(ctx context.Context, tenantID string) (*Subscription, error) {
	return b.fanout.subscribe(ctx, tenantID)
}

func (b *natsBus) Since(ctx context.Context, tenantID string, afterSeq uint64) ([]Event, bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return nil, false, err
	}
	if err := b.life.enter(); err != nil {
		return nil, false, err
	}
	defer b.life.leave()
	subject := b.subject(tenantID)
	last, lastStreamSeq, err := b.last(ctx, subject)
	if err != nil {
		return nil, false, fmt.Errorf("realtime: replay %s: %w", tenantID, err)
	}
	var missed []Event
	if afterSeq < last {
		if missed, err = b.retained(ctx, subject, afterSeq, lastStreamSeq); err != nil {
			return nil, false, fmt.Errorf("realtime: replay %s: %w", tenantID, err)
		}
	}
	events, ok := replay(last, afterSeq, missed)
	return events, ok, nil
}

// retained reads the events on subject after afterSeq, up to the one at
// stream sequence upTo. The stream keeps at most window of them, so it reads
// them all at once.
func (b *natsBus) retained(ctx context.Context, subject string, afterSeq, upTo uint64) ([]Event, error) {
	cons, err := b.stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{
		FilterSubjects:    []string{subject},
		DeliverPolicy:     jetstream.DeliverAllPolicy,
		InactiveThreshold: sinceConsumerIdle,
	})
	if err != nil {
		return nil, err
	}
	batch, err := cons.FetchNoWait(b.window)
	if err != nil {
		return nil, err
	}
	defer func() {
		if info := cons.CachedInfo(); info != nil {
			_ = b.stream.DeleteConsumer(context.WithoutCancel(ctx), info.Name)
		}
	}()
	var events []Event
	for m := range batch.Messages() {
		md, err := m.Metadata()
		if err != nil {
			return nil, err
		}
		if md.Sequence.Stream > upTo {
			break
		}
		var w wireEvent
		if err := json.Unmarshal(m.Data(), &w); err != nil {
			return nil, fmt.Errorf("decode event at %d: %w", md.Sequence.Stream, err)
		}
		if w.Seq > afterSeq {
			events = append(events, w.event())
		}
	}
	return events, batch.Error()
}

func (b *natsBus) Close() error {
	if !b.life.close() {
		return nil
	}
	b.live.Stop()
	b.fanout.close()
	b.nc.Close()
	return nil
}
