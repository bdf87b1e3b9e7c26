package realtime

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/lib/pq"
)

// PostgresSchema creates the tables of the PostgreSQL bus. It belongs in a
// migration; the bus does not create it.
//
// realtime_sequences holds each tenant's last assigned Seq. Publish bumps it
// in the statement that stores the event, so the row lock orders a tenant's
// publishers across instances, and the count survives pruning.
// realtime_events is the replay window: the last events of each tenant.
const PostgresSchema = `CREATE TABLE realtime_sequences (
    tenant_id text PRIMARY KEY,
    seq bigint NOT NULL
);
CREATE TABLE realtime_events (
    tenant_id text NOT NULL,
    seq bigint NOT NULL,
    type text NOT NULL,
    subject text NOT NULL,
    data json,
    at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, seq)
);
`

// DefaultPostgresChannel is the channel the PostgreSQL bus notifies on.
const DefaultPostgresChannel = "switchboard_events"

// WithPostgresChannel sets the LISTEN/NOTIFY channel of the PostgreSQL bus
// (default DefaultPostgresChannel): letters, digits and underscores, at most
// 63 bytes. Instances of one deployment must share it.
func WithPostgresChannel(name string) Option {
	return func(o *options) { o.postgresChannel = name }
}

const (
	// maxNotifyBytes stays under PostgreSQL's 8000-byte NOTIFY payload limit;
	// a bigger event is notified as a reference to its row.
	maxNotifyBytes = 7900
	// listener reconnect backoff, doubled from min to max while PostgreSQL
	// cannot be reached.
	listenerMinReconnect = 100 * time.Millisecond
	listenerMaxReconnect = 10 * time.Second
	// refFetchTimeout bounds reading a referenced event from the table.
	refFetchTimeout = 5 * time.Second
)

// postgresBus stores events in realtime_events and announces them with
// NOTIFY; every instance LISTENs on one connection of its own.
type postgresBus struct {
	db       *sql.DB
	channel  string
	window   int
	logger   *slog.Logger
	fanout   *fanout
	listener *pq.Listener
	done     chan struct{} // closed when the listen loop has ended
	life     lifecycle

	signals
}

// NewPostgres returns the bus for a deployment of several instances sharing
// a PostgreSQL database, whose tables PostgresSchema creates. It publishes
// through db and listens on a dedicated connection to listenerURL, a
// postgres:// URL of the same database. It returns once it listens.
func NewPostgres(ctx context.Context, db *sql.DB, listenerURL string, opts ...Option) (Bus, error) {
	o := newOptions(opts)
	if err := checkChannelName(o.postgresChannel); err != nil {
		return nil, err
	}
	b := &postgresBus{
		db:      db,
		channel: o.postgresChannel,
		window:  o.window,
		logger:  o.logger,
		fanout:  newFanout(o.buffer),
		done:    make(chan struct{}),
	}
	firstFailure := make(chan error, 1)
	b.listener = pq.NewListener(listenerURL, listenerMinReconnect, listenerMaxReconnect,
		func(ev pq.ListenerEventType, err error) {
			if ev == pq.ListenerEventConnectionAttemptFailed {
				select {
				case firstFailure <- err:
				default:
				}
			}
			b.logListenerEvent(ev, err)
		})
	listening := make(chan error, 1)
	go func() { listening <- b.listener.Listen(b.channel) }()
	var err error
	select {
	case err = <-listening:
	case err = <-firstFailure:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if err != nil {
		b.listener.Close()
		return nil, fmt.Errorf("realtime: listen on %s at %s: %w", b.channel, redactURL(listenerURL), err)
	}
	go b.listen()
	return b, nil
}

// publishSQL assigns the tenant's next Seq, stores the event, prunes the
// tenant's events that fell out of the window and notifies, in one statement
// and so one transaction. The notification carries the event, or only its
// tenant and Seq when the event is too big.
const publishSQL = `WITH next AS (
    INSERT INTO realtime_sequences AS s (tenant_id, seq) VALUES ($1::text, 1)
    ON CONFLICT (tenant_id) DO UPDATE SET seq = s.seq + 1
    RETURNING seq
), pruned AS (
    DELETE FROM realtime_events
    WHERE tenant_id = $1::text AND seq <= (SELECT seq FROM next) - $5::bigint
), event AS (
    INSERT INTO realtime_events (tenant_id, seq, type, subject, data, at)
    SELECT $1::text, seq, $2::text, $3::text, $4::json, now() FROM next
    RETURNING tenant_id, seq, type, subject, data, at
), payload AS (
    SELECT seq, at,
        json_build_object('t', tenant_id, 's', seq, 'y', type, 'j', subject, 'd', data,
            'a', (extract(epoch FROM at) * 1000000)::bigint)::text AS whole,
        json_build_object('t', tenant_id, 's', seq, 'ref', true)::text AS ref
    FROM event
)
SELECT seq, at, pg_notify($6::text, CASE WHEN octet_length(whole) <= $7::int THEN whole ELSE ref END)
FROM payload`

func (b *postgresBus) Publish(ctx context.Context, e Event) (Event, error) {
	e, err := prepare(e)
	if err != nil {
		return Event{}, err
	}
	if err := b.life.enter(); err != nil {
		return Event{}, err
	}
	defer b.life.leave()
	var (
		data     any
		seq      int64
		notified any // pg_notify returns void
	)
	if e.Data != nil {
		data = string(e.Data)
	}
	err = b.db.QueryRowContext(ctx, publishSQL,
		e.TenantID, e.Type, e.Subject, data, b.window, b.channel, maxNotifyBytes,
	).Scan(&seq, &e.At, &notified)
	if err != nil {
		return Event{}, fmt.Errorf("realtime: publish %s for %s: %w", e.Type, e.TenantID, err)
	}
	e.Seq, e.At = uint64(seq), e.At.UTC()
	return e, nil
}

// Signal is a NOTIFY on the bus's channel and nothing else: no table, no
// sequence.
func (b *postgresBus) Signal(ctx context.Context, s Signal) error {
	payload, err := encodeSignal(s)
	if err != nil {
		return err
	}
	if err := b.life.enter(); err != nil {
		return err
	}
	defer b.life.leave()
	if _, err := b.db.ExecContext(ctx, `SELECT pg_notify($1::text, $2::text)`, b.channel, string(payload)); err != nil {
		return fmt.Errorf("realtime: signal %s for %s: %w", s.Type, s.TenantID, err)
	}
	return nil
}

func (b *postgresBus) Subscribe(ctx context.Context, tenantID string) (*Subscription, error) {
	return b.fanout.subscribe(ctx, tenantID)
}

// sinceSQL reads the tenant's last Seq and its retained events after $2 in
// one snapshot.
const sinceSQL = `SELECT s.seq, e.seq, e.type, e.subject, e.data, e.at
FROM realtime_sequences s
LEFT JOIN realtime_events e ON e.tenant_id = s.tenant_id AND e.seq > $2
WHERE s.tenant_id = $1
ORDER BY e.seq`

func (b *postgresBus) Since(ctx context.Context, tenantID string, afterSeq uint64) ([]Event, bool, error) {
	if err := checkTenantID(tenantID); err != nil {
		return nil, false, err
	}
	if err := b.life.enter(); err != nil {
		return nil, false, err
	}
	defer b.life.leave()
	rows, err := b.db.QueryContext(ctx, sinceSQL, tenantID, int64(min(afterSeq, 1<<63-1)))
	if err != nil {
		return nil, false, fmt.Errorf("realtime: replay %s: %w", tenantID, err)
	}
	defer rows.Close()
	var (
		last   int64
		missed []Event
	)
	for rows.Next() {
		var (
			seq          sql.NullInt64 // NULL when no event follows afterSeq
			typ, subject sql.NullString
			data         []byte
			at           sql.NullTime
		)
		if err := rows.Scan(&last, &seq, &typ, &subject, &data, &at); err != nil {
			return nil, false, fmt.Errorf("realtime: replay %s: %w", tenantID, err)
		}
		if seq.Valid {
			missed = append(missed, Event{
				TenantID: tenantID, Seq: uint64(seq.Int64), Type: typ.String, Subject: subject.String,
				Data: data, At: at.Time.UTC(),
			})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, false, fmt.Errorf("realtime: replay %s: %w", tenantID, err)
	}
	events, ok := replay(uint64(last), afterSeq, missed)
	return events, ok, nil
}

func (b *postgresBus) Close() error {
	if !b.life.close() {
		return nil
	}
	b.fanout.close()
	err := b.listener.Close()
	<-b.done
	if err != nil && !errors.Is(err, net.ErrClosed) {
		return fmt.Errorf("realtime: close listener: %w", err)
	}
	return nil
}

// listen hands notifications to the fanout until the listener is closed. pq
// sends nil after it reconnected: notifications in the gap are lost, so every
// subscriber must resync.
func (b *postgresBus) listen() {
	defer close(b.done)
	for n := range b.listener.Notify {
		if n == nil {
			b.fanout.resync("")
			continue
		}
		if s, ok, err := decodeSignal([]byte(n.Extra)); ok {
			if err != nil {
				b.logger.Warn("realtime: undecodable signal", "channel", b.channel, "err", err)
				continue
			}
			b.signals.dispatch(s)
			continue
		}
		e, err := b.decode(n.Extra)
		if err != nil {
			b.logger.Error("realtime: lost a notification", "channel", b.channel, "err", err)
			if e.TenantID != "" {
				b.fanout.resync(e.TenantID)
			}
			continue
		}
		b.fanout.deliver(e)
	}
}

// decode turns a notification payload into its event, reading it from the
// table when the payload is a reference. On error the event's TenantID is
// set when it is known.
func (b *postgresBus) decode(payload string) (Event, error) {
	var w wireEvent
	if err := json.Unmarshal([]byte(payload), &w); err != nil {
		return Event{}, fmt.Errorf("decode notification: %w", err)
	}
	if !w.Ref {
		return w.event(), nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), refFetchTimeout)
	defer cancel()
	e := Event{TenantID: w.TenantID, Seq: w.Seq}
	err := b.db.QueryRowContext(ctx,
		`SELECT type, subject, data, at FROM realtime_events WHERE tenant_id = $1 AND seq = $2`,
		w.TenantID, int64(w.Seq),
	).Scan(&e.Type, &e.Subject, &e.Data, &e.At)
	if err != nil {
		return Event{TenantID: w.TenantID}, fmt.Errorf("read event %d of %s: %w", w.Seq, w.TenantID, err)
	}
	e.At = e.At.UTC()
	return e, nil
}

func (b *postgresBus) logListenerEvent(ev pq.ListenerEventType, err error) {
	switch ev {
	case pq.ListenerEventDisconnected:
		b.logger.Warn("realtime: listener disconnected; subscribers will resync", "channel", b.channel, "err", err)
	case pq.ListenerEventConnectionAttemptFailed:
		b.logger.Warn("realtime: listener cannot connect", "channel", b.channel, "err", err)
	case pq.ListenerEventReconnected:
		b.logger.Info("realtime: listener reconnected", "channel", b.channel)
	}
}

// checkChannelName accepts what needs no quoting in LISTEN and fits
// PostgreSQL's 63-byte identifiers.
func checkChannelName(name string) error {
	ok := name != "" && len(name) <= 63 && strings.IndexFunc(name, func(r rune) bool {
		return !(r == '_' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9')
	}) < 0
	if !ok {
		return fmt.Errorf("realtime: %q is not a usable NOTIFY channel name", name)
	}
	return nil
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}
