package connector

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// SendArgs is the durable job that sends one QUEUED message.
type SendArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
}

// Kind names the job.
func (SendArgs) Kind() string { return "whatsapp.send" }

// QueueSend is the queue of sends, so that a burst of them never delays
// other jobs.
const QueueSend = "send"

// InsertOpts: sends have their own queue; a message keeps trying through an
// outage (with backoff) before it is given up.
func (SendArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSend, MaxAttempts: 30}
}

// Outbound is what a queued message asks to send, in Message.content.
type Outbound struct {
	Template    *whatsapp.Template      `json:"template,omitempty"`
	Media       *whatsapp.OutgoingMedia `json:"media,omitempty"`
	Interactive *whatsapp.Interactive   `json:"interactive,omitempty"`
}

// Sender sends queued messages through the provider. A message is sent at
// most once per successful attempt: one whose send succeeded but whose
// instance died before recording it may be sent again (the Cloud API has no
// idempotency key), which bounds duplicates by the sends in flight.
type Sender struct {
	river.WorkerDefaults[SendArgs]
	Client *ent.Client
	API    Providers
	Clock  clock.Clock // when a message was sent; pacing (Limits) is the machine's time
	Box    *credential.Box
	Pub    *realtime.Publisher
	Limits *Limits
	Log    *slog.Logger
}

// Work sends one message.
func (s *Sender) Work(ctx context.Context, j *river.Job[SendArgs]) error {
	ctx = viewer.System(ctx, j.Args.TenantID)
	m, err := s.Client.Message.Query().Where(message.ID(j.Args.MessageID)).
		WithNumber().
		WithConversation(func(q *ent.ConversationQuery) { q.WithContact().WithGroup() }).
		WithReplyTo().
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if m.Status != message.StatusQUEUED {
		return nil // sent (or failed) already: a retried job does nothing
	}
	if m.DeletedAt != nil {
		return s.fail(ctx, m, 0, 0, "deleted before it was sent")
	}
	num, to := m.Edges.Number, m.Edges.Conversation.Edges.Contact.WaID
	if g := m.Edges.Conversation.Edges.Group; g != nil {
		if g.ProviderGroupID == nil {
			return s.fail(ctx, m, 0, 0, "the group is not created at the provider")
		}
		to = whatsapp.GroupTo(*g.ProviderGroupID) // sent with recipient_type group
	}
	if num.UnlinkedAt != nil || num.PhoneNumberID == nil {
		return s.fail(ctx, m, 0, 0, "the number is unlinked")
	}
	api, err := s.API.For(num)
	if err != nil {
		s.Log.Warn("whatsapp: message kept queued", "message", m.ID, "err", err)
		s.attention(ctx, num, "NO_SIMULATOR")
		return river.JobSnooze(time.Minute) // kept queued until a simulator is configured
	}
	creds, err := s.Box.Open(num.Credentials, num.ID)
	if err != nil {
		s.attention(ctx, num, "NO_CREDENTIALS")
		return river.JobSnooze(time.Minute)
	}
	if wait := s.Limits.Reserve(num.ID, num.Throughput, to, time.Now()); wait > 0 {
		return river.JobSnooze(wait)
	}
	// From here the send counts as an attempt: sent and fail record it with
	// the outcome, the paths that keep the message queued on their own.
	wamid, err := s.send(ctx, api, *num.PhoneNumberID, creds.AccessToken, to, m)
	var apiErr *whatsapp.APIError
	switch {
	case err == nil:
		return s.sent(ctx, m, wamid)
	case errors.As(err, &apiErr) && apiErr.TokenExpired():
		s.countAttempt(ctx, m)
		s.attention(ctx, num, "TOKEN_EXPIRED")
		return river.JobSnooze(time.Minute) // kept queued until the token is renewed
	case errors.As(err, &apiErr) && apiErr.Permanent():
		return s.fail(ctx, m, 1, apiErr.Code, apiErr.Message)
	case whatsapp.IsRetryable(err) && m.Attempts+1 >= MaxSendAttempts:
		return s.fail(ctx, m, 1, code(apiErr), fmt.Sprintf("gave up after %d attempts: %v", m.Attempts+1, err))
	case whatsapp.IsRetryable(err):
		// Throughput, pair rate, 5xx, network: wait and try again, sooner
		// than River's own schedule, so an outage of a minute costs about a
		// minute.
		s.countAttempt(ctx, m)
		return river.JobSnooze(backoff(m.Attempts + 1))
	default:
		return s.fail(ctx, m, 1, code(apiErr), err.Error())
	}
}

// MaxSendAttempts bounds how often a message is tried before it fails.
const MaxSendAttempts = 200

func code(e *whatsapp.APIError) int {
	if e == nil {
		return 0
	}
	return e.Code
}

// backoff is 250 ms doubling per attempt, up to 30 s.
func backoff(attempt int) time.Duration {
	return min(time.Duration(1<<min(attempt, 10))*125*time.Millisecond, 30*time.Second)
}

// send calls the provider for the message's kind.
func (s *Sender) send(ctx context.Context, api *whatsapp.Client, phoneNumberID, token, to string, m *ent.Message) (string, error) {
	replyTo := ""
	if r := m.Edges.ReplyTo; r != nil && r.ProviderMessageID != nil {
		replyTo = *r.ProviderMessageID
	}
	var out Outbound
	if len(m.Content) > 0 {
		if err := json.Unmarshal(m.Content, &out); err != nil {
			return "", fmt.Errorf("message %s: content: %w", m.ID, err)
		}
	}
	switch {
	case out.Template != nil:
		return api.SendTemplate(ctx, phoneNumberID, token, to, *out.Template, replyTo)
	case out.Media != nil:
		return api.SendMedia(ctx, phoneNumberID, token, to, *out.Media, replyTo)
	case out.Interactive != nil:
		return api.SendInteractive(ctx, phoneNumberID, token, to, *out.Interactive, replyTo)
	}
	return api.SendText(ctx, phoneNumberID, token, to, m.Body, replyTo)
}

// sent records the send that got wamid: the message is SENT and the attempt counted.
func (s *Sender) sent(ctx context.Context, m *ent.Message, wamid string) error {
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Tx) error {
		m, err := tx.Message.UpdateOneID(m.ID).Where(message.StatusEQ(message.StatusQUEUED)).
			SetStatus(message.StatusSENT).SetProviderMessageID(wamid).SetSentAt(s.Clock.Now()).AddAttempts(1).Save(ctx)
		if err != nil {
			return err
		}
		s.Pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindStatusChanged))
		return nil
	})
	if ent.IsNotFound(err) {
		s.countAttempt(ctx, m) // a status webhook got there first; the send still counts
		return nil
	}
	return err
}

// fail gives a message up with the provider's reason; nothing retries it.
// attempts is the sends to count with it: 1 after a send, 0 when the message
// is given up before one.
func (s *Sender) fail(ctx context.Context, m *ent.Message, attempts, code int, reason string) error {
	return store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Tx) error {
		u := tx.Message.UpdateOneID(m.ID).SetStatus(message.StatusFAILED).SetErrorText(reason)
		if attempts != 0 {
			u.AddAttempts(attempts)
		}
		if code != 0 {
			u.SetErrorCode(code)
		}
		m, err := u.Save(ctx)
		if err != nil {
			return err
		}
		s.Pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindStatusChanged))
		return nil
	})
}

// countAttempt records a send that left the message queued.
func (s *Sender) countAttempt(ctx context.Context, m *ent.Message) {
	if err := s.Client.Message.UpdateOneID(m.ID).AddAttempts(1).Exec(ctx); err != nil {
		s.Log.Error("whatsapp: count attempt", "message", m.ID, "err", err)
	}
}

// attention flags a number whose credentials need someone.
func (s *Sender) attention(ctx context.Context, num *ent.Number, reason string) {
	if num.Attention == reason {
		return
	}
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Tx) error {
		if err := tx.Number.UpdateOneID(num.ID).SetAttention(reason).Exec(ctx); err != nil {
			return err
		}
		s.Pub.OnCommit(tx, numberEvent(num))
		return nil
	})
	if err != nil {
		s.Log.Error("whatsapp: flag number", "number", num.ID, "err", err)
	}
}

// Limits paces sends: a token bucket per number (its throughput, messages a
// second, with half a second of burst) and a minimum interval per (number, customer) pair. They hold per
// instance; with several instances each paces its own share.
type Limits struct {
	PairInterval time.Duration

	mu      sync.Mutex
	buckets map[string]*bucket
	pairs   map[string]time.Time // pair → when it may send again
	sweepAt int                  // len(pairs) at which lapsed pairs are dropped
}

// NewLimits returns Limits with the given pair interval (0: none).
func NewLimits(pairInterval time.Duration) *Limits {
	return &Limits{PairInterval: pairInterval, buckets: map[string]*bucket{}, pairs: map[string]time.Time{}}
}

type bucket struct {
	tokens float64
	last   time.Time
}

// Reserve takes a send slot for (number, to) at now, or says how long to wait.
func (l *Limits) Reserve(numberID string, perSecond int, to string, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	pair := numberID + "\x00" + to
	if next, ok := l.pairs[pair]; ok && now.Before(next) {
		return next.Sub(now)
	}
	rate := float64(max(perSecond, 1))
	// Half a second of burst where the provider allows a second: sends
	// reach it with jitter, and a bucket as deep as the provider's keeps
	// the provider's near empty at full pace, so that a send arriving a
	// little early is refused (130429) and waits its retry. The half
	// second left over absorbs the jitter.
	burst := max(rate/2, 1)
	b := l.buckets[numberID]
	if b == nil {
		b = &bucket{tokens: burst, last: now}
		l.buckets[numberID] = b
	}
	b.tokens = min(burst, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / rate * float64(time.Second))
	}
	b.tokens--
	if l.PairInterval > 0 {
		if len(l.pairs) >= l.sweepAt {
			// every customer ever written to would stay otherwise; sweeping
			// when the map doubles keeps the cost constant per send
			for p, next := range l.pairs {
				if !now.Before(next) {
					delete(l.pairs, p)
				}
			}
			l.sweepAt = max(1024, 2*len(l.pairs))
		}
		l.pairs[pair] = now.Add(l.PairInterval)
	}
	return 0
}

// MarkReadArgs is the durable job that sends a read receipt.
type MarkReadArgs struct {
	TenantID  string `json:"tenant_id"`
	MessageID string `json:"message_id"`
}

// Kind names the job.
func (MarkReadArgs) Kind() string { return "whatsapp.mark_read" }

// InsertOpts puts receipts on the send queue.
func (MarkReadArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: QueueSend, MaxAttempts: 10}
}

// Reader sends read receipts.
type Reader struct {
	river.WorkerDefaults[MarkReadArgs]
	Client *ent.Client
	API    Providers
	Box    *credential.Box
}

// Work sends one read receipt; a permanent refusal is not worth retrying.
func (r *Reader) Work(ctx context.Context, j *river.Job[MarkReadArgs]) error {
	ctx = viewer.System(ctx, j.Args.TenantID)
	m, err := r.Client.Message.Query().Where(message.ID(j.Args.MessageID)).WithNumber().Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	num := m.Edges.Number
	api, err := r.API.For(num)
	if err != nil {
		return nil // a receipt is not worth keeping until a simulator is configured
	}
	creds, err := r.Box.Open(num.Credentials, num.ID)
	if err != nil || num.PhoneNumberID == nil || m.ProviderMessageID == nil {
		return nil
	}
	err = api.MarkRead(ctx, *num.PhoneNumberID, creds.AccessToken, *m.ProviderMessageID)
	var apiErr *whatsapp.APIError
	if errors.As(err, &apiErr) && !apiErr.Retryable() {
		return nil
	}
	return err
}
