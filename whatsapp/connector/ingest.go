package connector

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/groupwebhookevent"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/report"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Ingester turns stored webhook deliveries into messages, statuses and
// number health. Processing is idempotent: a delivery processed twice, or a
// webhook Meta delivered twice, changes nothing the second time; statuses only
// move forward.
type Ingester struct {
	client *ent.Client
	pub    *realtime.Publisher
	clock  clock.Clock
	log    *slog.Logger

	dropped       atomic.Int64 // deliveries whose statuses were given up
	batched       atomic.Int64 // deliveries ingested in a batch of several
	batchFailures atomic.Int64

	// postgres: the database is Postgres. Two things follow from it:
	//   - a delivery with statuses is ingested in its own transaction (on
	//     SQLite, one writer, a batch's are one commit instead of one per
	//     webhook): a transaction holding several messages' row locks
	//     deadlocked (40P01) with the broadcast recorder's bulk UPDATE of the
	//     same messages. Deliveries without statuses are batched either way
	//     (ingestBatch);
	//   - batches of one tenant write agents' rows one at a time across
	//     instances (an advisory lock per tenant, lockTenant); SQLite's one
	//     writer already serialises them.
	postgres bool
	// Arrivals, when set, is told of every new customer message.
	Arrivals Arrivals
	// Templates, when set, applies a message_template_status_update of a
	// business account to one tenant holding it (broadcast.TemplateUpdated).
	Templates func(ctx context.Context, tx *ent.Tx, wabaID string, u *whatsapp.TemplateUpdate, at time.Time) error
}

// Arrivals is told of every new customer message inside the transaction that
// records it: routing assigns the conversation when nobody holds it. conv's
// Edges.Number is the number the message came on, as tx read it (routing
// reads nothing more for a number routed by hand).
type Arrivals interface {
	Arrived(ctx context.Context, tx *ent.Tx, conv *ent.Conversation, msg *ent.Message, created bool) error
}

// NewIngester returns an Ingester over client, a database of dialect d, that
// publishes what changed.
func NewIngester(client *ent.Client, d string, pub *realtime.Publisher, clk clock.Clock, log *slog.Logger) *Ingester {
	return &Ingester{client: client, postgres: d == dialect.Postgres, pub: pub, clock: clk, log: log}
}

// ErrStatusBeforeSend is returned when a status names a message not yet
// recorded as sent (the provider can report before the sender has written
// the message id): the delivery is retried later.
var ErrStatusBeforeSend = errors.New("connector: status for a message not yet recorded")

// Process ingests one stored delivery, whoever holds it (a test, an
// operator's tool): its outcome is recorded whatever claim it is under.
func (in *Ingester) Process(ctx context.Context, deliveryID string) error {
	d, err := in.client.WebhookDelivery.Get(viewer.Platform(ctx), deliveryID)
	if err != nil {
		return fmt.Errorf("delivery %s: %w", deliveryID, err)
	}
	return in.process(ctx, parse(d), "")
}

// delivery is a stored delivery and its body, parsed once: for its
// partition (shareKey) and its ingest.
type delivery struct {
	*ent.WebhookDelivery
	n   *whatsapp.Notification
	err error // the body is malformed
}

func parse(d *ent.WebhookDelivery) delivery {
	n, err := whatsapp.Parse(d.Body)
	return delivery{WebhookDelivery: d, n: n, err: err}
}

func parseAll(ds []*ent.WebhookDelivery) []delivery {
	out := make([]delivery, len(ds))
	for i, d := range ds {
		out[i] = parse(d)
	}
	return out
}

// ingestClaimed ingests d, held under claim. When that fails, d goes back
// to the sweep, to be taken again after a backoff, or is FAILED after
// maxAttempts; when the claim was lost (a sweep took d, the lease having
// passed), the ingest that holds it now records the outcome.
func (in *Ingester) ingestClaimed(ctx context.Context, d delivery, claim string) {
	err := in.process(ctx, d, claim)
	switch {
	case err == nil || errors.Is(err, ErrStatusBeforeSend):
	case errors.Is(err, errClaimLost):
		in.log.Warn("whatsapp: a delivery's claim passed before its ingest ended; ingested again by its new holder",
			"delivery", d.ID)
	default:
		in.release(ctx, d.WebhookDelivery, claim, err)
	}
}

// errClaimLost: the delivery is no longer held by the claim its ingest ran
// under.
var errClaimLost = errors.New("connector: delivery claimed by another ingest")

// maxAttempts bounds how often a delivery whose ingest fails is taken
// again before it is FAILED; between attempts it waits 1 s doubling up to
// about 4 min.
const maxAttempts = 25

// release hands a delivery whose ingest failed with cause back to the
// sweep. If release itself fails, the claim's lease passes and a sweep takes
// the delivery all the same.
func (in *Ingester) release(ctx context.Context, d *ent.WebhookDelivery, claim string, cause error) {
	u := outcome(in.client, d, claim).AddAttempts(1).SetError(cause.Error())
	if d.Attempts+1 >= maxAttempts {
		u.SetState(webhookdelivery.StateFAILED).SetProcessedAt(in.clock.Now())
		in.log.Error("whatsapp: delivery given up", "delivery", d.ID, "attempts", d.Attempts+1, "err", cause)
	} else {
		u.SetDueAt(in.clock.Now().Add(time.Second << min(d.Attempts, 8)).UTC())
		in.log.Warn("whatsapp: ingest failed; the sweep retries", "delivery", d.ID, "attempts", d.Attempts+1, "err", cause)
	}
	if err := record(ctx, u, claim); err != nil && !errors.Is(err, errClaimLost) {
		in.log.Error("whatsapp: failed ingest not recorded; retried when its claim passes", "delivery", d.ID, "err", err)
	}
}

// outcome is the update, through c, that records what ingesting d came to,
// releasing it: only while claim holds d (whatever holds it when claim is
// empty). It is one UPDATE that does not read the row back.
func outcome(c *ent.Client, d *ent.WebhookDelivery, claim string) *ent.WebhookDeliveryUpdate {
	u := c.WebhookDelivery.Update().Where(webhookdelivery.ID(d.ID)).ClearClaim()
	if claim != "" {
		u.Where(webhookdelivery.Claim(claim))
	}
	return u
}

// record runs u, telling errClaimLost when claim no longer holds the
// delivery.
func record(ctx context.Context, u *ent.WebhookDeliveryUpdate, claim string) error {
	n, err := u.Save(viewer.Platform(ctx))
	switch {
	case err != nil:
		return err
	case n == 0 && claim != "":
		return errClaimLost
	case n == 0:
		return errors.New("connector: delivery not found")
	}
	return nil
}

// ingestBatch ingests deliveries, each held under its own claim, in their
// order (an eager ingest's or a sweep's batch). Runs of deliveries without
// statuses (of any delivery on SQLite) are ingested in one
// transaction (ingestTogether); a delivery with statuses on Postgres is
// ingested alone, after what came before it: a transaction holding several
// messages' row locks deadlocked (40P01) with the broadcast recorder's bulk
// UPDATE of the same messages. A delivery whose claim's lease passed while
// it waited is left to the sweep that may already hold it.
func (in *Ingester) ingestBatch(ctx context.Context, ds []delivery) {
	now := in.clock.Now()
	var run []delivery
	for _, d := range ds {
		if d.State == webhookdelivery.StatePROCESSED || d.State == webhookdelivery.StateUNROUTED ||
			(d.Claim != "" && d.DueAt != nil && !now.Before(*d.DueAt)) {
			continue
		}
		if d.err != nil || (in.postgres && hasStatuses(d.n)) {
			in.ingestTogether(ctx, run)
			run = nil
			in.ingestClaimed(ctx, d, d.Claim) // a malformed body is recorded FAILED there
			continue
		}
		run = append(run, d)
	}
	in.ingestTogether(ctx, run)
}

// ingestTogether ingests ds in one transaction: one
// commit, each number and the customers' contacts read once, the report's
// facts summed, the deliveries marked together (batch.go), instead of a
// transaction and a dozen statements a message. Their events are published
// in the deliveries' order. Batches ingested at once hold different
// customers (the eager ingest's partitions, the sweep's shares: shareKey),
// so their contacts and conversations never wait for each other; what they
// share, the agents' rows (routing claims an agent; a conversation reopened
// or routed changes its agent's load), is written after a lock of the
// tenant on Postgres (lockTenant, at schema.TouchAgents). When the batch fails, it is rolled back,
// said, and each delivery is ingested alone, so that a failure is recorded
// on its own delivery only.
func (in *Ingester) ingestTogether(ctx context.Context, ds []delivery) {
	switch len(ds) {
	case 0:
		return
	case 1:
		in.ingestClaimed(ctx, ds[0], ds[0].Claim)
		return
	}
	// the batch's caches are the batch's alone: the fallback below, after
	// its rollback, must not see them (it would take the batch's messages
	// for stored ones, and defer its outcomes to a mark that never runs)
	bctx, b := withBatch(viewer.Platform(ctx), ds)
	err := store.WithTx(bctx, in.client, func(ctx context.Context, tx *ent.Tx) error {
		if in.postgres {
			ctx = schema.BeforeAgents(ctx, func(ctx context.Context) error {
				return b.lockTenant(ctx, tx, viewer.FromContext(ctx).TenantID)
			})
		}
		for _, d := range ds {
			in.pub.Segment(tx) // published after the deliveries before it
			if _, err := in.ingest(ctx, tx, d.WebhookDelivery, d.Claim, d.n); err != nil {
				return err
			}
		}
		return b.mark(ctx, tx, in.clock.Now())
	})
	if err == nil {
		in.batched.Add(int64(len(ds)))
		return
	}
	if n := in.batchFailures.Add(1); n&(n-1) == 0 { // the 1st, 2nd, 4th…: said, not flooded
		in.log.Warn("whatsapp: a batch of webhooks failed; each is ingested alone", "deliveries", len(ds), "failures", n, "err", err)
	}
	for _, d := range ds {
		in.ingestClaimed(ctx, d, d.Claim)
	}
}

// BatchFailures counts the batches rolled back and ingested one by one.
func (in *Ingester) BatchFailures() int64 { return in.batchFailures.Load() }

// hasStatuses tells whether n carries statuses of sent messages.
func hasStatuses(n *whatsapp.Notification) bool {
	for _, ch := range n.Changes {
		if len(ch.Statuses) > 0 {
			return true
		}
	}
	return false
}

// Batched counts the deliveries ingested in a batch of several.
func (in *Ingester) Batched() int64 { return in.batched.Load() }

// process ingests d under claim (none: whatever holds it), in one
// transaction with its outcome: a delivery is ingested and marked at once
// (one commit), and an ingest whose claim was lost leaves nothing behind.
func (in *Ingester) process(ctx context.Context, d delivery, claim string) error {
	if d.State == webhookdelivery.StatePROCESSED || d.State == webhookdelivery.StateUNROUTED {
		return nil
	}
	if d.err != nil {
		// Malformed bodies are kept, marked, and never retried.
		return record(ctx, outcome(in.client, d.WebhookDelivery, claim).SetState(webhookdelivery.StateFAILED).SetError(d.err.Error()), claim)
	}
	waits := false
	err := store.WithTx(viewer.Platform(ctx), in.client, func(ctx context.Context, tx *ent.Tx) error {
		var err error
		waits, err = in.ingest(ctx, tx, d.WebhookDelivery, claim, d.n)
		return err
	})
	if err == nil && waits {
		return ErrStatusBeforeSend
	}
	return err
}

// ingest applies the changes of n, the body of d, in tx and records the
// outcome; waits tells that a status waits for its message (d is taken
// again after a wait).
func (in *Ingester) ingest(ctx context.Context, tx *ent.Tx, d *ent.WebhookDelivery, claim string, n *whatsapp.Notification) (waits bool, err error) {
	var ids, unrouted []string
	routed, retry := false, false
	for _, ch := range n.Changes {
		if ch.PhoneNumberID != "" {
			ids = append(ids, ch.PhoneNumberID)
		}
		ok, err := in.change(ctx, tx, ch)
		switch {
		case errors.Is(err, ErrStatusBeforeSend):
			retry = true
		case err != nil:
			return false, fmt.Errorf("delivery %s: %w", d.ID, err)
		}
		routed = routed || ok
		if !ok && ch.PhoneNumberID != "" && !slices.Contains(unrouted, ch.PhoneNumberID) {
			unrouted = append(unrouted, ch.PhoneNumberID)
		}
	}
	// The ids no number had: linking one of them replays the delivery
	// (Replayer.NumberLinked), whether the rest of it was routed or not.
	u := outcome(tx.Client(), d, claim).SetPhoneNumberIds(ids).SetUnroutedPhoneNumberIds(unrouted).AddAttempts(1)
	var notes []string
	if len(n.Problems) > 0 {
		// Each item that could not be read is left out with its reason; the
		// rest of the delivery is ingested.
		reasons := make([]string, len(n.Problems))
		for i, p := range n.Problems {
			reasons[i] = p.String()
		}
		notes = append(notes, fmt.Sprintf("%d item(s) left out: %s", len(n.Problems), strings.Join(reasons, "; ")))
		if d.Attempts == 0 {
			in.log.Warn("whatsapp: webhook items left out", "delivery", d.ID, "problems", reasons)
		}
	}
	if retry && d.Attempts < maxStatusWaits {
		if len(notes) > 0 {
			u.SetError(strings.Join(notes, "; "))
		}
		// the sweep takes it again once the wait is over
		return true, record(ctx, u.SetDueAt(in.clock.Now().Add(statusWait(d.Attempts)).UTC()), claim)
	}
	if retry {
		// The horizon passed: what was applied stays, the statuses whose
		// message never appeared are given up, counted and said.
		in.dropped.Add(1)
		in.log.Warn("whatsapp: statuses for messages never recorded, given up", "delivery", d.ID, "waits", d.Attempts)
		notes = append(notes, fmt.Sprintf("statuses for messages never recorded, given up after %d waits", d.Attempts))
	}
	state := webhookdelivery.StatePROCESSED
	switch {
	case !routed:
		state = webhookdelivery.StateUNROUTED
		in.log.Warn("whatsapp: webhook for no known number, kept", "delivery", d.ID, "phone_number_ids", ids)
	case len(unrouted) > 0:
		in.log.Warn("whatsapp: webhook partly for no known number, kept for when it is linked", "delivery", d.ID, "unrouted", unrouted)
	}
	if b := batchOf(ctx); b != nil && claim != "" && len(notes) == 0 {
		b.processed(d, claim, state, ids, unrouted) // marked with the rest of the batch
		return false, nil
	}
	if len(notes) > 0 {
		u.SetError(strings.Join(notes, "; "))
	}
	return false, record(ctx, u.SetState(state).SetProcessedAt(in.clock.Now()).ClearDueAt(), claim)
}

// maxStatusWaits bounds how often a delivery waits for its message to be
// recorded before its statuses are given up (the horizon).
const maxStatusWaits = 8

// statusWait is how long a delivery waits for its message after it has
// waited waits times: 1 s doubling up to 32 s.
func statusWait(waits int) time.Duration { return time.Second << min(waits, 5) }

// DroppedStatuses counts the deliveries whose statuses were given up because
// their message never appeared within the horizon.
func (in *Ingester) DroppedStatuses() int64 { return in.dropped.Load() }

// change applies one change of a notification in tx; false when it concerns
// no number of any tenant.
func (in *Ingester) change(ctx context.Context, tx *ent.Tx, ch whatsapp.Change) (bool, error) {
	var nums []*ent.Number
	var err error
	switch {
	// Only to verified numbers: a tenant that links someone else's phone
	// number id, phone or business account receives nothing of it.
	case ch.PhoneNumberID != "":
		nums, err = numbersOf(ctx, tx, ch.PhoneNumberID)
	case ch.Quality != nil && ch.DisplayPhone != "":
		nums, err = tx.Number.Query().Where(number.Phone("+"+strings.TrimPrefix(ch.DisplayPhone, "+")), number.VerifiedAtNotNil()).All(viewer.Platform(ctx))
	case (ch.Account != nil || ch.Template != nil) && ch.WABAID != "":
		nums, err = tx.Number.Query().Where(number.WabaID(ch.WABAID), number.VerifiedAtNotNil()).All(viewer.Platform(ctx))
	}
	if err != nil || len(nums) == 0 {
		return false, err
	}
	waiting := false               // a status whose message is not recorded yet
	templated := map[string]bool{} // tenants whose templates this change updated
	for _, num := range nums {
		if ch.Template != nil && in.Templates != nil {
			if templated[num.TenantID] {
				continue // a business account's numbers share its templates
			}
			templated[num.TenantID] = true
			err := store.WithTx(viewer.System(ctx, num.TenantID), in.client, func(ctx context.Context, tx *ent.Tx) error {
				return in.Templates(ctx, tx, ch.WABAID, ch.Template, in.clock.Now())
			})
			if err != nil {
				return true, err
			}
			continue
		}
		tctx := viewer.System(ctx, num.TenantID)
		err := store.WithTx(tctx, in.client, func(ctx context.Context, tx *ent.Tx) error {
			stored, err := storedOf(ctx, tx, num, ch)
			if err != nil {
				return err
			}
			for _, m := range ch.Messages {
				if err := in.inbound(ctx, tx, num, m, stored); err != nil {
					return err
				}
			}
			for _, m := range ch.Echoes {
				if err := in.echo(ctx, tx, num, m, stored); err != nil {
					return err
				}
			}
			for _, st := range ch.Statuses {
				err := in.status(ctx, tx, num, st)
				switch {
				case errors.Is(err, ErrStatusBeforeSend):
					// the rest of the change commits; the delivery is
					// processed again, and what is applied stays so
					waiting = true
				case err != nil:
					return err
				}
			}
			for _, m := range ch.History {
				if err := in.history(ctx, tx, num, m, stored); err != nil {
					return err
				}
			}
			for _, g := range ch.Groups {
				if err := in.groupEvent(ctx, tx, num, ch, g); err != nil {
					return err
				}
			}
			return in.health(ctx, tx, num, ch)
		})
		if err != nil {
			return true, err
		}
	}
	if waiting {
		return true, ErrStatusBeforeSend
	}
	return true, nil
}

// storedIDs are the provider ids of the messages already stored on a
// number, among those a change brings (storedOf).
type storedIDs map[string]bool

// inbound records a customer's message, creating or reopening its
// conversation and contact.
func (in *Ingester) inbound(ctx context.Context, tx *ent.Tx, num *ent.Number, m whatsapp.Message, stored storedIDs) error {
	switch {
	case m.OriginalID != "" && m.Type == "revoke", m.Type == "deleted":
		return in.revoke(ctx, tx, num, m.OriginalID)
	case m.Edited != nil && m.OriginalID != "":
		return in.edit(ctx, tx, num, m)
	}
	if stored[m.ID] {
		// Meta redelivers, and its examples reuse ids across types: say so,
		// so an operator sees why nothing appeared.
		in.log.Info("whatsapp: duplicate message, already stored", "wamid", m.ID, "number", num.ID, "type", m.Type)
		return nil // a duplicate delivery: nothing to do
	}
	c, newContact, err := in.contact(ctx, tx, customerOf(m, m.From))
	if err != nil {
		return err
	}
	conv, created, err := in.conversationOf(ctx, tx, num, c, newContact, m.GroupID)
	if err != nil {
		return err
	}
	create := in.inboundMessage(tx, conv, num, m)
	if m.GroupID != "" {
		create.SetAuthorID(c.ID) // a member writing in the group
	}
	var target *ent.Message
	if m.Type == "reaction" {
		at := m.Timestamp
		if at.IsZero() {
			at = in.clock.Now()
		}
		if target, err = in.react(ctx, tx, num, conv, create, m, at); err != nil {
			return err
		}
	}
	if m.Context != nil && m.Context.MessageID != "" {
		if orig, err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageID(m.Context.MessageID)).
			Only(ctx); err == nil && orig.ConversationID == conv.ID {
			create.SetReplyToID(orig.ID)
		}
	}
	msg, err := create.Save(report.Holding(ctx, conv)) // the report's facts need not read conv again
	if err != nil {
		return err
	}
	stored[m.ID] = true
	if sys := m.System; sys != nil && sys.Type == "user_changed_number" && sys.NewWAID != "" && sys.NewWAID != c.WaID {
		if err := in.changedNumber(ctx, tx, c, sys.NewWAID); err != nil {
			return err
		}
	}
	// Clocks only move forward: a message arriving late (its provider
	// timestamp older than what the conversation has seen) neither shortens
	// the customer's window nor becomes the last message. A reaction is not
	// a message to read: it raises no unread count and is never the last
	// message.
	reaction := msg.Kind == message.KindREACTION
	if !reaction && (conv.Status == conversation.StatusRESOLVED || conv.Status == conversation.StatusSNOOZED) {
		// reopened: through the row, whose status change the hooks follow
		// (agent load, reports)
		if err := conv.Update().SetStatus(conversation.StatusOPEN).ClearResolvedAt().ClearSnoozedUntil().Exec(ctx); err != nil {
			return err
		}
	}
	// The clocks and the count in one UPDATE, without reading the row back.
	u := tx.Conversation.Update().Where(conversation.ID(conv.ID))
	if !reaction && latest(conv.LastMessageAt, msg.CreatedAt) {
		u.SetLastMessageID(msg.ID).SetLastMessageAt(msg.CreatedAt)
	}
	if latest(conv.LastCustomerMessageAt, msg.CreatedAt) {
		u.SetLastCustomerMessageAt(msg.CreatedAt)
	}
	if !reaction {
		u.AddUnreadCount(1)
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	if in.Arrivals != nil {
		conv.Edges.Number = num
		// before this change's own events: commit hooks registered later publish first
		if err := in.Arrivals.Arrived(ctx, tx, conv, msg, created); err != nil {
			return err
		}
	}
	kind := realtime.KindMessageAdded
	if created {
		kind = realtime.KindCreated
	}
	in.pub.OnCommit(tx, messageEvent(ctx, msg, realtime.KindAdded), conversationEvent(ctx, conv.ID, kind))
	if target != nil {
		in.pub.OnCommit(tx, messageEvent(ctx, target, realtime.KindUpdated)) // its reactions changed
	}
	return nil
}

// groupEvent keeps one event of a group webhook on its number, once: a
// redelivered event (same field, same bytes) is stored once.
func (in *Ingester) groupEvent(ctx context.Context, tx *ent.Tx, num *ent.Number, ch whatsapp.Change, g whatsapp.GroupEvent) error {
	sum := sha256.Sum256(append([]byte(ch.Field+"\x00"), g.Raw...))
	digest := hex.EncodeToString(sum[:])
	exists, err := tx.GroupWebhookEvent.Query().Where(groupwebhookevent.NumberID(num.ID), groupwebhookevent.Digest(digest)).Exist(ctx)
	if err != nil || exists {
		return err
	}
	at := g.Timestamp
	if at.IsZero() {
		at = ch.Time
	}
	if at.IsZero() {
		at = in.clock.Now()
	}
	err = tx.GroupWebhookEvent.Create().SetNumberID(num.ID).SetField(ch.Field).SetType(g.Type).SetGroupID(g.GroupID).
		SetRequestID(g.RequestID).SetOccurredAt(at).SetDigest(digest).SetPayload(g.Raw).Exec(ctx)
	if err != nil {
		return err
	}
	return in.reflectGroup(ctx, tx, num, g.Raw)
}

// react links a reaction to the message it is on. A customer has one
// reaction per message: a newer one replaces the older (which becomes a
// tombstone), an empty emoji removes it (the removal is stored as a
// tombstone too), and a reaction delivered late after a newer one is stored
// already replaced. It returns the target, nil when it is not recorded.
func (in *Ingester) react(ctx context.Context, tx *ent.Tx, num *ent.Number, conv *ent.Conversation, create *ent.MessageCreate, m whatsapp.Message, at time.Time) (*ent.Message, error) {
	if m.Reaction == nil || m.Reaction.MessageID == "" {
		return nil, nil
	}
	target, err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageID(m.Reaction.MessageID),
		message.ConversationID(conv.ID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	create.SetReactionToID(target.ID)
	current, err := tx.Message.Query().Where(message.ReactionToID(target.ID), message.DirectionEQ(message.DirectionINBOUND),
		message.DeletedAtIsNil()).All(ctx)
	if err != nil {
		return nil, err
	}
	superseded := m.Reaction.Emoji == ""
	for _, r := range current {
		if r.CreatedAt.After(at) {
			superseded = true // a newer reaction is already there
			continue
		}
		if err := r.Update().SetDeletedAt(in.clock.Now()).Exec(ctx); err != nil {
			return nil, err
		}
	}
	if superseded {
		create.SetDeletedAt(in.clock.Now())
	}
	return target, nil
}

// inboundMessage maps a provider message onto a Message.
func (in *Ingester) inboundMessage(tx *ent.Tx, conv *ent.Conversation, num *ent.Number, m whatsapp.Message) *ent.MessageCreate {
	at := m.Timestamp
	if at.IsZero() {
		at = in.clock.Now()
	}
	create := tx.Message.Create().
		SetConversationID(conv.ID).SetNumberID(num.ID).SetDirection(message.DirectionINBOUND).
		SetStatus(message.StatusRECEIVED).SetProviderMessageID(m.ID).SetCreatedAt(at).
		SetContent(m.Raw)
	kind, body := message.KindUNSUPPORTED, ""
	switch m.Type {
	case "text":
		kind, body = message.KindTEXT, m.Text
	case "image", "video", "audio", "voice", "document", "sticker":
		kind = map[string]message.Kind{
			"image": message.KindIMAGE, "video": message.KindVIDEO, "audio": message.KindAUDIO, "voice": message.KindAUDIO,
			"document": message.KindDOCUMENT, "sticker": message.KindSTICKER,
		}[m.Type]
		if m.Media != nil {
			body = m.Media.Caption
			create.SetMedia(mediaRef(m.Media))
		}
	case "location":
		kind = message.KindLOCATION
		if l := m.Location; l != nil {
			body = strings.TrimSpace(fmt.Sprintf("%s %s (%.6f, %.6f)", l.Name, l.Address, l.Latitude, l.Longitude))
		}
	case "contacts":
		kind = message.KindCONTACTS
		var names []string
		for _, c := range m.Contacts {
			names = append(names, c.Name.Formatted)
		}
		body = strings.Join(names, ", ")
	case "interactive":
		kind = message.KindINTERACTIVE
		if r := m.Interactive; r != nil {
			body = r.Title
		}
	case "button":
		kind = message.KindINTERACTIVE
		if m.Button != nil {
			body = m.Button.Text
		}
	case "reaction":
		kind = message.KindREACTION
		if m.Reaction != nil {
			body = m.Reaction.Emoji
		}
	case "system":
		kind = message.KindSYSTEM
		if m.System != nil {
			body = m.System.Body
		}
	case "order":
		kind = message.KindORDER
		if o := m.Order; o != nil {
			body = o.Text
			if body == "" {
				body = fmt.Sprintf("%d item(s)", len(o.Items))
			}
		}
	}
	return create.SetKind(kind).SetBody(body)
}

// history records a past message of a chat the number had in the WhatsApp
// Business app before it was onboarded (coexistence): the customer's as
// inbound, the business's as outbound with the status the app knew. History
// is the past: it raises no unread count, reopens and routes nothing, and
// moves the conversation's clocks only forward, like a late message.
func (in *Ingester) history(ctx context.Context, tx *ent.Tx, num *ent.Number, m whatsapp.Message, stored storedIDs) error {
	if stored[m.ID] {
		return nil
	}
	outbound, customer := m.To != "", m.From
	if outbound {
		customer = m.To
	}
	c, newContact, err := in.contact(ctx, tx, customerOf(m, customer))
	if err != nil {
		return err
	}
	conv, created, err := in.conversation(ctx, tx, num, c, newContact)
	if err != nil {
		return err
	}
	create := in.inboundMessage(tx, conv, num, m)
	if outbound {
		create.SetDirection(message.DirectionOUTBOUND).SetStatus(historyStatus(m.Raw))
	}
	msg, err := create.Save(ctx)
	if err != nil {
		return err
	}
	stored[m.ID] = true
	u, moved := conv.Update(), false
	if msg.Kind != message.KindREACTION && latest(conv.LastMessageAt, msg.CreatedAt) {
		u.SetLastMessageID(msg.ID).SetLastMessageAt(msg.CreatedAt)
		moved = true
	}
	if !outbound && latest(conv.LastCustomerMessageAt, msg.CreatedAt) {
		u.SetLastCustomerMessageAt(msg.CreatedAt)
		moved = true
	}
	if moved {
		if err := u.Exec(ctx); err != nil {
			return err
		}
	}
	events := []realtime.Event{messageEvent(ctx, msg, realtime.KindAdded)}
	if created {
		events = append(events, conversationEvent(ctx, conv.ID, realtime.KindCreated))
	} else if moved {
		events = append(events, conversationEvent(ctx, conv.ID, realtime.KindMessageAdded))
	}
	in.pub.OnCommit(tx, events...)
	return nil
}

// historyStatus maps the status a history message had in the app
// (history_context.status) onto ours.
func historyStatus(raw []byte) message.Status {
	var v struct {
		HistoryContext struct {
			Status string `json:"status"`
		} `json:"history_context"`
	}
	_ = json.Unmarshal(raw, &v)
	switch strings.ToUpper(v.HistoryContext.Status) {
	case "READ", "PLAYED":
		return message.StatusREAD
	case "DELIVERED":
		return message.StatusDELIVERED
	case "ERROR":
		return message.StatusFAILED
	}
	return message.StatusSENT
}

// echo records a message the business sent from elsewhere (the phone app).
func (in *Ingester) echo(ctx context.Context, tx *ent.Tx, num *ent.Number, m whatsapp.Message, stored storedIDs) error {
	if stored[m.ID] {
		return nil
	}
	c, newContact, err := in.contact(ctx, tx, customerOf(m, m.To))
	if err != nil {
		return err
	}
	conv, _, err := in.conversation(ctx, tx, num, c, newContact)
	if err != nil {
		return err
	}
	create := in.inboundMessage(tx, conv, num, m).SetDirection(message.DirectionOUTBOUND).SetStatus(message.StatusSENT)
	msg, err := create.Save(ctx)
	if err != nil {
		return err
	}
	stored[m.ID] = true
	if !latest(conv.LastMessageAt, msg.CreatedAt) {
		in.pub.OnCommit(tx, messageEvent(ctx, msg, realtime.KindAdded))
		return nil
	}
	if err := conv.Update().SetLastMessageID(msg.ID).SetLastMessageAt(msg.CreatedAt).Exec(ctx); err != nil {
		return err
	}
	in.pub.OnCommit(tx, messageEvent(ctx, msg, realtime.KindAdded), conversationEvent(ctx, conv.ID, realtime.KindMessageAdded))
	return nil
}

// revoke tombstones a message the customer deleted; the original is kept.
func (in *Ingester) revoke(ctx context.Context, tx *ent.Tx, num *ent.Number, providerID string) error {
	m, err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageID(providerID)).Only(ctx)
	if ent.IsNotFound(err) || (err == nil && m.DeletedAt != nil) {
		return nil
	}
	if err != nil {
		return err
	}
	if m, err = m.Update().SetDeletedAt(in.clock.Now()).Save(ctx); err != nil {
		return err
	}
	in.pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindDeleted))
	return nil
}

// edit replaces the text of a message the customer edited.
func (in *Ingester) edit(ctx context.Context, tx *ent.Tx, num *ent.Number, m whatsapp.Message) error {
	orig, err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageID(m.OriginalID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if orig, err = orig.Update().SetBody(m.Edited.Text).Save(ctx); err != nil {
		return err
	}
	in.pub.OnCommit(tx, messageEvent(ctx, orig, realtime.KindUpdated))
	return nil
}

// statusRank orders delivery statuses: a status only ever moves up.
var statusRank = map[message.Status]int{
	message.StatusQUEUED: 0, message.StatusSENT: 1, message.StatusDELIVERED: 2, message.StatusREAD: 3,
}

// status applies a delivery status to a sent message, forward only: a late
// "delivered" after "read" changes nothing, and "failed" only fails a message
// not yet delivered.
func (in *Ingester) status(ctx context.Context, tx *ent.Tx, num *ent.Number, st whatsapp.Status) error {
	// The row is locked (Postgres) until the transaction ends: the
	// statuses of one message are ingested concurrently (sent, delivered
	// and read can arrive together), and each computes its move from the
	// status it read; without the lock a sent ingested last would write
	// SENT over READ.
	m, err := tx.Message.Query().Where(message.NumberID(num.ID), message.ProviderMessageID(st.MessageID), schema.LockRow).
		Unique(false).Only(ctx)
	// what the status changes, written by one UPDATE that does not read the
	// row back (the event needs only the message's id and conversation)
	u, changed := tx.Message.Update(), false
	if ent.IsNotFound(err) && strings.HasPrefix(st.BizOpaqueCallbackData, "msg_") {
		// A send whose answer was lost (the sender died, the connection
		// broke) named its message in the callback data: the status gives
		// it its wamid, so it is not sent again. The wamid may also be
		// being written at this moment (the sender's record holds the
		// row): the first query did not see it, this one waits for the
		// lock and finds the row with or without it.
		m, err = tx.Message.Query().Where(message.NumberID(num.ID), message.ID(st.BizOpaqueCallbackData),
			message.Or(message.ProviderMessageIDIsNil(), message.ProviderMessageID(st.MessageID)), schema.LockRow).
			Unique(false).Only(ctx)
		if err == nil && m.ProviderMessageID == nil {
			u.SetProviderMessageID(st.MessageID)
			changed = true
		}
	}
	if ent.IsNotFound(err) {
		return ErrStatusBeforeSend
	}
	if err != nil {
		return err
	}
	u.Where(message.ID(m.ID))
	at := st.Timestamp
	if at.IsZero() {
		at = in.clock.Now()
	}
	if err := in.recipientKnown(ctx, tx, m, st); err != nil {
		return err
	}
	if p := st.Pricing; p != nil && p.Category != "" && m.PricedAt == nil {
		// How the message is billed, from the first status that says it
		// (sent, delivered and read repeat it), whatever order they come in.
		u.SetPricingCategory(p.Category).SetPricingModel(p.Model).SetPricingType(p.Type).SetBillable(charged(p)).SetPricedAt(at)
		changed = true
	}
	moved := in.statusChange(u, m, st, at)
	if !changed && !moved {
		return nil
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	if moved {
		in.pub.OnCommit(tx, messageEvent(ctx, m, realtime.KindStatusChanged))
	}
	return nil
}

// statusChange adds to u what st changes of m's status, forward only, and
// says whether it changes anything.
func (in *Ingester) statusChange(u *ent.MessageUpdate, m *ent.Message, st whatsapp.Status, at time.Time) bool {
	cur, ok := statusRank[m.Status]
	switch st.Status {
	case whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead, "played":
		next := map[string]message.Status{
			whatsapp.StatusSent: message.StatusSENT, whatsapp.StatusDelivered: message.StatusDELIVERED,
			whatsapp.StatusRead: message.StatusREAD, "played": message.StatusREAD,
		}[st.Status]
		if !ok || statusRank[next] <= cur {
			return false
		}
		u.SetStatus(next)
		switch next {
		case message.StatusSENT:
			u.SetSentAt(at)
		case message.StatusDELIVERED:
			u.SetDeliveredAt(at)
		case message.StatusREAD:
			u.SetReadAt(at)
		}
		if m.SentAt == nil {
			u.SetSentAt(at)
		}
	case whatsapp.StatusFailed:
		if !ok || cur > statusRank[message.StatusSENT] {
			return false
		}
		u.SetStatus(message.StatusFAILED)
		if len(st.Errors) > 0 {
			u.SetErrorCode(st.Errors[0].Code).SetErrorText(errorText(st.Errors[0]))
		}
	default:
		return false
	}
	return true
}

// recipientKnown learns the customer's business-scoped id from a status of
// a message sent to them (Meta adds recipient_user_id to statuses): a
// contact known by phone, a broadcast recipient say, is found by its BSUID
// from then on, and merged with a contact that had only the BSUID.
func (in *Ingester) recipientKnown(ctx context.Context, tx *ent.Tx, m *ent.Message, st whatsapp.Status) error {
	if st.RecipientUserID == "" || st.RecipientType == "group" {
		return nil
	}
	c, err := tx.Conversation.Query().Where(conversation.ID(m.ConversationID)).QueryContact().Only(ctx)
	if err != nil || (c.UserID != nil && *c.UserID == st.RecipientUserID) {
		return err
	}
	if st.RecipientID == "" || st.RecipientID != c.WaID {
		return nil // only a contact the status names by its phone learns the BSUID
	}
	_, _, err = in.contact(ctx, tx, customer{waID: st.RecipientID, userID: st.RecipientUserID})
	return err
}

// charged tells whether a message priced p is billed: Meta's billable flag,
// or, under per-message pricing where that flag is deprecated, a "regular"
// (not free_customer_service or free_entry_point) message.
func charged(p *whatsapp.Pricing) bool {
	return p.Billable || (strings.EqualFold(p.Model, "PMP") && p.Type == "regular")
}

func errorText(e whatsapp.Error) string {
	s := strings.TrimSpace(e.Title)
	if e.Details != "" {
		s = strings.TrimSpace(s + ": " + e.Details)
	}
	return s
}

// health applies account and quality updates to the number.
func (in *Ingester) health(ctx context.Context, tx *ent.Tx, num *ent.Number, ch whatsapp.Change) error {
	u := tx.Number.UpdateOneID(num.ID)
	changed := false
	if a := ch.Account; a != nil {
		if st, ok := accountStatus(a); ok && st != num.Status {
			u.SetStatus(st)
			changed = true
		}
	}
	if q := ch.Quality; q != nil {
		if q.CurrentLimit != "" && q.CurrentLimit != num.MessagingTier {
			u.SetMessagingTier(q.CurrentLimit)
			changed = true
		}
		if ql, ok := map[string]number.Quality{"FLAGGED": number.QualityRED, "UNFLAGGED": number.QualityGREEN}[q.Event]; ok && ql != num.Quality {
			u.SetQuality(ql)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	if err := u.Exec(ctx); err != nil {
		return err
	}
	in.pub.OnCommit(tx, numberEvent(num))
	return nil
}

// accountStatus maps an account_update to a number status.
func accountStatus(a *whatsapp.AccountUpdate) (number.Status, bool) {
	switch a.Event {
	case "ACCOUNT_RESTRICTION", "ACCOUNT_VIOLATION":
		return number.StatusRESTRICTED, true
	case "DISABLED_UPDATE":
		if a.BanState == "REINSTATE" {
			return number.StatusCONNECTED, true
		}
		return number.StatusBANNED, true
	case "ACCOUNT_DELETED", "ACCOUNT_OFFBOARDED", "PARTNER_REMOVED":
		return number.StatusDISCONNECTED, true
	case "ACCOUNT_RECONNECTED":
		return number.StatusCONNECTED, true
	}
	return "", false
}

// conversation returns the contact's latest conversation on the number, or
// a new one (at once for a new contact, which has none).
func (in *Ingester) conversation(ctx context.Context, tx *ent.Tx, num *ent.Number, c *ent.Contact, newContact bool) (*ent.Conversation, bool, error) {
	if !newContact {
		conv, err := tx.Conversation.Query().
			Where(conversation.NumberID(num.ID), conversation.ContactID(c.ID)).
			Order(ent.Desc(conversation.FieldCreatedAt)).
			First(ctx)
		if !ent.IsNotFound(err) {
			return conv, false, err
		}
	}
	conv, err := tx.Conversation.Create().SetNumberID(num.ID).SetContactID(c.ID).Save(ctx)
	return conv, true, err
}

func mediaRef(m *whatsapp.Media) *schematype.MediaRef {
	return &schematype.MediaRef{ID: m.ID, Link: m.URL, MimeType: m.MimeType, Filename: m.Filename, Caption: m.Caption, SHA256: m.SHA256}
}

// latest tells whether at is not older than the clock cur (nil: never set).
func latest(cur *time.Time, at time.Time) bool {
	return cur == nil || !at.Before(*cur)
}
