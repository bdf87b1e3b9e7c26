package outhook

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookendpoint"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/pulid"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Event types an endpoint can subscribe to.
const (
	ConversationCreated       = "conversation.created"
	ConversationAssigned      = "conversation.assigned"
	ConversationQueued        = "conversation.queued"
	ConversationResolved      = "conversation.resolved"
	ConversationStatusChanged = "conversation.status_changed"
	MessageReceived           = "message.received"
	MessageSent               = "message.sent"
	MessageStatus             = "message.status"
	MessageDeleted            = "message.deleted"
	NumberStatus              = "number.status"
	ContactCreated            = "contact.created"
	ContactUpdated            = "contact.updated"
	// BroadcastFinished: a broadcast ended (DONE or CANCELLED), with its
	// counts; for roles with broadcast.view_stats.
	BroadcastFinished = "broadcast.finished"
	// AgentOffboarded: an agent was offboarded (offboardAgent).
	AgentOffboarded = "agent.offboarded"
)

// EventTypes are the event types, in the order a console lists them.
var EventTypes = []string{
	ConversationCreated, ConversationAssigned, ConversationQueued, ConversationResolved,
	ConversationStatusChanged, MessageReceived, MessageSent, MessageStatus, MessageDeleted, NumberStatus,
	ContactCreated, ContactUpdated, BroadcastFinished, AgentOffboarded,
}

// Config tunes delivery. The zero value of a field takes its default.
type Config struct {
	// AllowPrivate lets endpoints point at loopback and private addresses
	// (tests, a CRM on the same network). Off by default: SSRF.
	AllowPrivate bool
	// Poll is how often an instance looks for due deliveries besides being
	// woken by an event (default 1 s).
	Poll time.Duration
	// Lease is how long a claimed delivery is its instance's before another
	// may send it again (default 1 min; longer than Timeout).
	Lease time.Duration
	// Timeout bounds one attempt (default 10 s).
	Timeout time.Duration
	// GiveUpAfter is how long a delivery is retried (default 24 h).
	GiveUpAfter time.Duration
	// DisableAfter disables an endpoint that has had no success for this long
	// (default 24 h).
	DisableAfter time.Duration
	// KeepDelivered is how long the log keeps delivered rows (default 7 days).
	KeepDelivered time.Duration
}

func (c Config) withDefaults() Config {
	def := func(d *time.Duration, v time.Duration) {
		if *d <= 0 {
			*d = v
		}
	}
	def(&c.Poll, time.Second)
	def(&c.Timeout, 10*time.Second)
	def(&c.Lease, time.Minute)
	if c.Lease < 2*c.Timeout {
		c.Lease = 2 * c.Timeout
	}
	def(&c.GiveUpAfter, 24*time.Hour)
	def(&c.DisableAfter, 24*time.Hour)
	def(&c.KeepDelivered, 7*24*time.Hour)
	return c
}

// Service manages a tenant's endpoints (the webhook.manage mutations),
// writes deliveries with the changes they report (Enqueue) and sends them
// (Run, DispatchOnce).
type Service struct {
	client *ent.Client
	box    *credential.Box
	authz  *policy.Authorizer
	pub    *realtime.Publisher
	clock  clock.Clock
	log    *slog.Logger
	cfg    Config
	http   *http.Client

	lastSeq  atomic.Int64
	wake     chan struct{}
	inFlight sync.WaitGroup
}

// New returns the Service. Hand it to the Publisher (SetOutbox) before any
// transaction publishes, and Run it.
func New(client *ent.Client, box *credential.Box, authz *policy.Authorizer, pub *realtime.Publisher, c clock.Clock, log *slog.Logger, cfg Config) *Service {
	cfg = cfg.withDefaults()
	return &Service{
		client: client, box: box, authz: authz, pub: pub, clock: c, log: log, cfg: cfg,
		http: newHTTPClient(cfg.Timeout, cfg.AllowPrivate),
		wake: make(chan struct{}, 1),
	}
}

// classified is what an event means to webhooks.
type classified struct {
	typ, orderKey string
}

// Enqueue writes, through tx, one delivery per event and endpoint of the
// event's tenant subscribed to its type. It is the realtime.Outbox the
// Publisher calls just before tx commits.
func (s *Service) Enqueue(ctx context.Context, tx *ent.Tx, events []realtime.Event) error {
	byTenant := map[string][]realtime.Event{}
	var tenants []string
	for _, e := range events {
		if !relevant(e) {
			continue
		}
		if _, ok := byTenant[e.TenantID]; !ok {
			tenants = append(tenants, e.TenantID)
		}
		byTenant[e.TenantID] = append(byTenant[e.TenantID], e)
	}
	for _, tenantID := range tenants {
		if err := s.enqueueTenant(viewer.System(ctx, tenantID), tx, byTenant[tenantID]); err != nil {
			return err
		}
	}
	return nil
}

// relevant reports whether e may become a webhook event, before any query.
func relevant(e realtime.Event) bool {
	switch e.Type {
	case realtime.ConversationChanged, realtime.MessageChanged, realtime.NumberStatusChanged, realtime.ContactChanged:
		return e.TenantID != ""
	case realtime.BroadcastChanged:
		return e.TenantID != "" && e.Change().Finished
	case realtime.AgentChanged:
		return e.TenantID != "" && e.Change().Offboarded
	}
	return false
}

func (s *Service) enqueueTenant(ctx context.Context, tx *ent.Tx, events []realtime.Event) error {
	eps, err := tx.WebhookEndpoint.Query().Where(webhookendpoint.Enabled(true)).All(ctx)
	if err != nil || len(eps) == 0 {
		return err
	}
	now := s.clock.Now().UTC()
	var rows []*ent.OutboundDeliveryCreate
	for _, e := range events {
		c, err := classify(ctx, tx, e)
		if err != nil {
			return err
		}
		if c.typ == "" {
			continue
		}
		eventID := pulid.New("evt")
		seq := s.nextSeq(now)
		for _, ep := range eps {
			if !slices.Contains(ep.Events, c.typ) {
				continue
			}
			rows = append(rows, tx.OutboundDelivery.Create().
				SetEndpointID(ep.ID).SetEventID(eventID).SetEventType(c.typ).
				SetSubjectID(e.Subject).SetOrderKey(c.orderKey).SetSeq(seq).
				SetOccurredAt(now).SetNextAttemptAt(now))
		}
	}
	if len(rows) == 0 {
		return nil
	}
	if err := tx.OutboundDelivery.CreateBulk(rows...).Exec(ctx); err != nil {
		return fmt.Errorf("outbound deliveries: %w", err)
	}
	return nil
}

// nextSeq orders deliveries: nanoseconds of now, strictly increasing in this
// process even when the clock stands still or steps back.
func (s *Service) nextSeq(now time.Time) int64 {
	for {
		last := s.lastSeq.Load()
		next := max(now.UnixNano(), last+1)
		if s.lastSeq.CompareAndSwap(last, next) {
			return next
		}
	}
}

// classify names the webhook event type of e ("" when it has none) and its
// order key, reading through tx what the bus event does not say.
func classify(ctx context.Context, tx *ent.Tx, e realtime.Event) (classified, error) {
	change := e.Change()
	kind := change.Kind
	switch e.Type {
	case realtime.ConversationChanged:
		c := classified{orderKey: e.Subject}
		switch kind {
		case realtime.KindCreated:
			c.typ = ConversationCreated
		case realtime.KindAssigned, realtime.KindTransferred:
			c.typ = ConversationAssigned
		case realtime.KindQueued:
			c.typ = ConversationQueued
		case realtime.KindStatusChanged:
			st, err := tx.Conversation.Query().Where(conversation.ID(e.Subject)).Select(conversation.FieldStatus).String(ctx)
			if ent.IsNotFound(err) {
				return classified{}, nil
			}
			if err != nil {
				return classified{}, err
			}
			c.typ = ConversationStatusChanged
			if st == conversation.StatusRESOLVED.String() {
				c.typ = ConversationResolved
			}
		}
		return c, nil
	case realtime.MessageChanged:
		c := classified{orderKey: change.ConversationID}
		if c.orderKey == "" {
			c.orderKey = e.Subject
		}
		switch kind {
		case realtime.KindAdded:
			dir, err := tx.Message.Query().Where(message.ID(e.Subject)).Select(message.FieldDirection).String(ctx)
			if ent.IsNotFound(err) {
				return classified{}, nil
			}
			if err != nil {
				return classified{}, err
			}
			c.typ = MessageSent
			if dir == message.DirectionINBOUND.String() {
				c.typ = MessageReceived
			}
		case realtime.KindStatusChanged:
			c.typ = MessageStatus
		case realtime.KindDeleted:
			c.typ = MessageDeleted
		}
		return c, nil
	case realtime.NumberStatusChanged:
		return classified{typ: NumberStatus, orderKey: e.Subject}, nil
	case realtime.ContactChanged:
		c := classified{typ: ContactUpdated, orderKey: e.Subject}
		if kind == realtime.KindCreated {
			c.typ = ContactCreated
		}
		return c, nil
	case realtime.BroadcastChanged:
		if change.Finished {
			return classified{typ: BroadcastFinished, orderKey: e.Subject}, nil
		}
	case realtime.AgentChanged:
		if change.Offboarded {
			return classified{typ: AgentOffboarded, orderKey: e.Subject}, nil
		}
	}
	return classified{}, nil
}
