package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/riverqueue/river"
	"github.com/riverqueue/river/rivertype"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/webhookdelivery"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/connector"
)

// DispatchArgs is the durable job that sends a broadcast's recipients on
// one number. It runs for a slice of time and then continues as a new run,
// so no run outlives River's rescue of stuck jobs.
type DispatchArgs struct {
	TenantID    string `json:"tenant_id"`
	BroadcastID string `json:"broadcast_id"`
	NumberID    string `json:"number_id"`
}

// Kind names the job.
func (DispatchArgs) Kind() string { return "broadcast.dispatch" }

// InsertOpts: on the broadcast queue; a run that fails is retried.
func (DispatchArgs) InsertOpts() river.InsertOpts {
	return river.InsertOpts{Queue: Queue, MaxAttempts: 25}
}

// Dispatcher sends broadcasts at the provider's pace: the number's
// throughput and the pair rate through the outbox's Limits (shared with the
// inbox's sends), and the portfolio's messaging limit.
//
// A recipient is sent at most once per provider acceptance: its row is
// marked SENDING with its message (the attempt recorded) before the provider
// is called, and the message's id travels as biz_opaque_callback_data. A run
// that finds a SENDING row from a run that died waits for its statuses,
// which name the message and give it its wamid; only when none came within
// Reconcile (the provider posts "sent" within seconds and retries its
// webhooks) is the recipient taken as never accepted and sent again.
type Dispatcher struct {
	river.WorkerDefaults[DispatchArgs]
	Client *ent.Client
	API    connector.Providers
	Box    *credential.Box
	Limits *connector.Limits
	Pub    *realtime.Publisher
	Clock  clock.Clock // stamps and tenant time; pacing is the machine's time
	Log    *slog.Logger
	// Slice bounds a run (30 s when zero); Reconcile is how long a send
	// whose outcome was lost waits for its statuses (2 minutes when zero).
	Slice, Reconcile time.Duration
	// Parallel is how many sends are in flight per number (when zero, the
	// number's throughput for 200 ms answers, at least 16).
	Parallel int

	once  sync.Once
	since time.Time // the first run of this process
}

// listening is when this process's first run started: statuses of sends
// made before it (by a process that died) could not be received before
// then, however old the attempt.
func (d *Dispatcher) listening() time.Time {
	d.once.Do(func() { d.since = time.Now() })
	return d.since
}

// Timeout: a run bounds itself by Slice.
func (d *Dispatcher) Timeout(*river.Job[DispatchArgs]) time.Duration { return -1 }

// Work sends the number's recipients until they are all sent, the
// broadcast is paused or cancelled, quiet hours start, or the slice ends.
func (d *Dispatcher) Work(ctx context.Context, j *river.Job[DispatchArgs]) error {
	ctx = viewer.System(ctx, j.Args.TenantID)
	start := time.Now()
	d.listening()
	slice, horizon := d.Slice, d.Reconcile
	if slice <= 0 {
		slice = 30 * time.Second
	}
	if horizon <= 0 {
		horizon = 2 * time.Minute
	}
	num, err := d.Client.Number.Get(ctx, j.Args.NumberID)
	if err != nil {
		return err
	}
	api, err := d.API.For(num)
	if err != nil {
		return river.JobSnooze(time.Minute)
	}
	creds, err := d.Box.Open(num.Credentials, num.ID)
	if err != nil || num.PhoneNumberID == nil {
		return river.JobSnooze(time.Minute)
	}
	send := &sender{d: d, api: api, phoneNumberID: *num.PhoneNumberID, token: creds.AccessToken, throughput: max(num.Throughput, 1),
		numberID: num.ID, broadcastID: j.Args.BroadcastID, until: start.Add(slice)}
	for time.Since(start) < slice {
		b, stop, err := d.check(ctx, j.Args.BroadcastID)
		if err != nil || stop {
			return err
		}
		// nothing of this run is in flight here: the SENDING rows are
		// those of a run that died, or sends whose answer was lost
		waiting, err := d.reconcile(ctx, b.ID, num.ID, horizon)
		if err != nil {
			return err
		}
		drained, err := send.pump(ctx, b)
		if err != nil {
			return err
		}
		if drained {
			if waiting > 0 {
				time.Sleep(250 * time.Millisecond) // statuses of lost outcomes may still come
				continue
			}
			if _, stop, err := d.check(ctx, b.ID); err != nil || stop {
				return err
			}
			return d.finish(ctx, b.ID)
		}
	}
	return river.JobSnooze(0) // the slice ended: continue in a new run
}

// check reads the broadcast and says whether the run must stop now: it is
// no longer SENDING (paused or cancelled: resume starts a new run), its
// quiet hours started, or the portfolio's messaging limit is reached. The
// error then carries the job's outcome (nil, or a snooze).
func (d *Dispatcher) check(ctx context.Context, id string) (*ent.Broadcast, bool, error) {
	b, err := d.Client.Broadcast.Get(ctx, id)
	if err != nil {
		return nil, true, err
	}
	if b.State != broadcast.StateSENDING {
		return b, true, nil
	}
	wait, err := d.quiet(ctx, b)
	if err != nil {
		return b, true, err
	}
	if wait > 0 {
		return b, true, river.JobSnooze(wait)
	}
	return b, false, nil
}

// quiet says how long until the broadcast's quiet hours end, 0 outside them.
func (d *Dispatcher) quiet(ctx context.Context, b *ent.Broadcast) (time.Duration, error) {
	if b.QuietStart == "" {
		return 0, nil
	}
	t, err := d.Client.Tenant.Get(viewer.Platform(ctx), b.TenantID)
	if err != nil {
		return 0, err
	}
	loc, err := time.LoadLocation(t.Timezone)
	if err != nil {
		return 0, err
	}
	return quietWait(d.Clock.Now().In(loc), b.QuietStart, b.QuietEnd), nil
}

// quietWait is how long from now (in tenant time) until quiet hours
// [from, to) end; 0 outside them. Quiet hours may span midnight.
func quietWait(now time.Time, from, to string) time.Duration {
	f, err1 := hours.MinuteOfDay(from)
	t, err2 := hours.MinuteOfDay(to)
	if err1 != nil || err2 != nil || f == t {
		return 0
	}
	m := now.Hour()*60 + now.Minute()
	in := (f < t && m >= f && m < t) || (f > t && (m >= f || m < t))
	if !in {
		return 0
	}
	end := time.Date(now.Year(), now.Month(), now.Day(), t/60, t%60, 0, 0, now.Location())
	if !end.After(now) {
		end = end.AddDate(0, 0, 1)
	}
	return end.Sub(now)
}

// room is how many more customers the portfolio may reach now: its
// messaging limit minus the unique contacts sent a broadcast template in the
// last 24 hours (a text goes only to contacts inside their window, which the
// limit does not count). Unlimited is a large number.
func (d *Dispatcher) room(ctx context.Context, b *ent.Broadcast) (int, error) {
	const unlimited = 1 << 30
	if b.TemplateID == nil {
		return unlimited, nil
	}
	t, err := d.Client.Tenant.Get(viewer.Platform(ctx), b.TenantID)
	if err != nil || t.Settings.MessagingLimit == 0 {
		return unlimited, err
	}
	var reached []string
	if err := d.Client.BroadcastRecipient.Query().Where(
		broadcastrecipient.StateIn(broadcastrecipient.StateSENDING, broadcastrecipient.StateSENT),
		broadcastrecipient.AttemptedAtGTE(d.Clock.Now().Add(-24*time.Hour))).
		GroupBy(broadcastrecipient.FieldContactID).Scan(ctx, &reached); err != nil {
		return 0, err
	}
	return max(t.Settings.MessagingLimit-len(reached), 0), nil
}

// reconcile settles SENDING rows of the number a previous run left: SENT
// when their message learnt its wamid from a status webhook (FAILED when
// the status failed it), PENDING again once the horizon passed without any
// status both since the attempt and since this process could hear statuses
// (the provider retries its webhooks while a process is down, but only
// from when it is back are they heard). It returns how many still wait.
func (d *Dispatcher) reconcile(ctx context.Context, broadcastID, numberID string, horizon time.Duration) (int, error) {
	listening := time.Since(d.listening())
	rows, err := d.Client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(broadcastID),
		broadcastrecipient.NumberID(numberID), broadcastrecipient.StateEQ(broadcastrecipient.StateSENDING)).All(ctx)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	ids := make([]string, len(rows))
	for i, r := range rows {
		ids[i] = *r.MessageID
	}
	msgs, err := d.Client.Message.Query().Where(message.IDIn(ids...)).All(ctx)
	if err != nil {
		return 0, err
	}
	byID := make(map[string]*ent.Message, len(msgs))
	for _, m := range msgs {
		byID[m.ID] = m
	}
	waiting := 0
	var backlog *time.Time // the oldest delivery received and not yet ingested
	backlogRead := false
	for _, r := range rows {
		m := byID[*r.MessageID]
		if m == nil {
			return 0, fmt.Errorf("broadcast %s: message %s of recipient %s is missing", broadcastID, *r.MessageID, r.ID)
		}
		u := d.Client.BroadcastRecipient.UpdateOneID(r.ID).Where(broadcastrecipient.StateEQ(broadcastrecipient.StateSENDING))
		since := min(d.Clock.Now().Sub(*r.AttemptedAt), listening)
		switch {
		case m.Status == message.StatusFAILED:
			u.SetState(broadcastrecipient.StateFAILED).SetError(m.ErrorText).SetNillableErrorCode(m.ErrorCode)
		case m.ProviderMessageID != nil:
			u.SetState(broadcastrecipient.StateSENT)
		case since >= horizon:
			// The horizon passed; but statuses heard before it may still
			// wait in the ingest's backlog (stored, not yet ingested):
			// wait for those first.
			if !backlogRead {
				if backlog, err = d.backlog(ctx); err != nil {
					return 0, err
				}
				backlogRead = true
			}
			if due := time.Now().Add(horizon - since); backlog != nil && backlog.Before(due) {
				waiting++
				continue
			}
			d.Log.Warn("broadcast: no status for a send whose outcome was lost, sending again",
				"recipient", r.ID, "message", m.ID, "waited", horizon)
			u.SetState(broadcastrecipient.StatePENDING)
		default:
			waiting++
			continue
		}
		if err := u.Exec(ctx); err != nil && !ent.IsNotFound(err) {
			return 0, err
		}
	}
	return waiting, nil
}

// backlog is when the oldest webhook delivery still waiting for its first
// ingest was received (nil when none waits): a status that arrived before
// a lost send's horizon but is not ingested yet must be waited for, or the
// recipient is sent twice.
func (d *Dispatcher) backlog(ctx context.Context) (*time.Time, error) {
	oldest, err := d.Client.WebhookDelivery.Query().
		Where(webhookdelivery.StateEQ(webhookdelivery.StateRECEIVED), webhookdelivery.Attempts(0)).
		Order(ent.Asc(webhookdelivery.FieldCreatedAt)).Select(webhookdelivery.FieldCreatedAt).First(viewer.Platform(ctx))
	if ent.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	return &oldest.CreatedAt, nil
}

// finish marks the broadcast DONE when no recipient of any number is left.
func (d *Dispatcher) finish(ctx context.Context, id string) error {
	return store.WithTx(ctx, d.Client, func(ctx context.Context, tx *ent.Tx) error {
		left, err := tx.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(id),
			broadcastrecipient.StateIn(broadcastrecipient.StatePENDING, broadcastrecipient.StateSENDING)).Exist(ctx)
		if err != nil || left {
			return err
		}
		n, err := tx.Broadcast.Update().Where(broadcast.ID(id), broadcast.StateEQ(broadcast.StateSENDING)).
			SetState(broadcast.StateDONE).SetFinishedAt(d.Clock.Now()).Save(ctx)
		if err == nil && n > 0 {
			d.Pub.OnCommit(tx, realtime.BroadcastFinishedEvent(viewer.FromContext(ctx).TenantID, id))
		}
		return err
	})
}

// sender sends one broadcast's recipients from one number.
type sender struct {
	d                              *Dispatcher
	api                            *whatsapp.Client
	phoneNumberID, token, numberID string
	broadcastID                    string
	throughput                     int
	until                          time.Time // the run's slice ends
	stages                         *stages
	requeued                       bool // a pump made a refused recipient PENDING again
}

// stages is where one pump's time went, logged when it ends: what holds the
// pace when the process is not short of CPU.
type stages struct {
	sends, refused, claims, records                       atomic.Int64
	waitInput, waitLimit, waitSlot, claimTime, recordTime atomic.Int64 // nanoseconds
	sendTime                                              atomic.Int64 // summed over sends
}

func (st *stages) log(l *slog.Logger, numberID string, took time.Duration) {
	ms := func(v *atomic.Int64) int64 { return v.Load() / 1e6 }
	l.Info("broadcast: dispatch stages", "number", numberID, "took_ms", took.Milliseconds(),
		"sends", st.sends.Load(), "refused", st.refused.Load(), "claims", st.claims.Load(), "records", st.records.Load(),
		"wait_input_ms", ms(&st.waitInput), "wait_limit_ms", ms(&st.waitLimit), "wait_slot_ms", ms(&st.waitSlot),
		"claim_ms", ms(&st.claimTime), "record_ms", ms(&st.recordTime), "send_ms_sum", ms(&st.sendTime))
}

// outcome is what the provider answered one send.
type outcome struct {
	claimed
	wamid string
	err   error
}

// pump sends recipients as a pipeline, so that the database's round trips
// never hold the provider's pace: a claimer records attempts a chunk at a
// time (at most about a second of sends ahead), a pacer sends each claimed
// recipient as soon as the number's throughput and the pair rate allow
// (several in flight), and a recorder writes the answers in batches. It
// stops claiming when no recipient is left, the slice ends, or the
// broadcast must stop (paused, cancelled, quiet hours, messaging limit),
// and returns once every claimed recipient is sent and its answer
// recorded, saying whether it stopped because no PENDING recipient was
// left. A job outcome (a snooze) comes back as the error.
func (s *sender) pump(ctx context.Context, b *ent.Broadcast) (bool, error) {
	tmpl, err := templateOf(ctx, s.d.Client, b)
	if err != nil {
		return false, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	began := time.Now()
	s.stages, s.requeued = &stages{}, false
	defer func() { s.stages.log(s.d.Log, s.numberID, time.Since(began)) }()
	chunk := min(max(s.throughput/4, 20), maxClaim) // a quarter of a second of sends
	toSend := make(chan claimed, max(s.throughput, 2*chunk))
	answers := make(chan outcome, s.throughput+chunk)
	var claimErr, recordErr error
	drained := false
	go func() {
		defer close(toSend)
		drained, claimErr = s.claimAll(ctx, b, tmpl, chunk, toSend)
		if claimErr != nil && !isJobOutcome(claimErr) {
			cancel()
		}
	}()
	recorded := make(chan struct{})
	go func() {
		defer close(recorded)
		if recordErr = s.recordAll(ctx, b, answers); recordErr != nil {
			cancel()
		}
	}()
	s.sendAll(ctx, toSend, answers)
	close(answers)
	<-recorded
	if recordErr != nil {
		return false, recordErr
	}
	// A send the provider refused for now was made PENDING again after the
	// claimer found none left: not drained, or the job would complete
	// with it never sent.
	return drained && !s.requeued, claimErr
}

// isJobOutcome: the error is a snooze River understands, not a failure.
func isJobOutcome(err error) bool {
	var snooze *rivertype.JobSnoozeError
	return errors.As(err, &snooze)
}

// claimAll claims chunks of PENDING recipients and queues them to be sent,
// until none is left, the slice ends or the broadcast must stop. It says
// whether none was left.
//
// A chunk is what the queue lacks of a second of sends (at least chunk,
// at most maxClaim): a claim waits for the database's writer (on SQLite,
// behind every status webhook's ingest), so a claimer that fell behind
// catches up in one claim instead of falling further behind a fixed small
// chunk at a time; when the queue is full it waits for room.
func (s *sender) claimAll(ctx context.Context, b *ent.Broadcast, tmpl *ent.MessageTemplate, chunk int, out chan<- claimed) (bool, error) {
	for first := true; time.Now().Before(s.until); first = false {
		for cap(out)-len(out) < chunk {
			select {
			case <-ctx.Done():
				return false, ctx.Err()
			case <-time.After(time.Second * time.Duration(chunk) / time.Duration(4*s.throughput)):
			}
		}
		if !first {
			var stop bool
			var err error
			if b, stop, err = s.d.check(ctx, s.broadcastID); err != nil || stop {
				return false, err
			}
		}
		room, err := s.d.room(ctx, b)
		if err != nil {
			return false, err
		}
		if room == 0 {
			return false, river.JobSnooze(time.Minute) // the portfolio's messaging limit: wait for the 24 h to roll
		}
		t0 := time.Now()
		claimed, left, err := s.claim(ctx, b, tmpl, min(room, max(chunk, cap(out)-len(out)), maxClaim))
		s.stages.claims.Add(1)
		s.stages.claimTime.Add(int64(time.Since(t0)))
		if err != nil || !left {
			return err == nil, err
		}
		for _, c := range claimed {
			select {
			case out <- c:
			case <-ctx.Done():
				return false, ctx.Err()
			}
		}
	}
	return false, nil
}

// maxClaim bounds the recipients one claim takes: its bulk INSERTs and
// UPDATE stay a few hundred rows.
const maxClaim = 250

// sendAll sends each claimed recipient when the number's throughput and the
// pair rate allow, with up to Parallel sends in flight, and passes on what
// the provider answered. Every recipient claimed is sent, even after the
// claimer stopped: its attempt is recorded, and a send the provider never
// saw would only be sent again after Reconcile.
func (s *sender) sendAll(ctx context.Context, in <-chan claimed, answers chan<- outcome) {
	parallel := s.d.Parallel
	if parallel <= 0 {
		parallel = max(16, s.throughput/5) // the rate for 200 ms answers
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	defer wg.Wait()
	st := s.stages
	t0 := time.Now()
	for c := range in {
		t1 := time.Now()
		st.waitInput.Add(int64(t1.Sub(t0)))
		for {
			wait := s.d.Limits.Reserve(s.numberID, s.throughput, c.to, time.Now())
			if wait == 0 {
				break
			}
			time.Sleep(wait)
		}
		t2 := time.Now()
		st.waitLimit.Add(int64(t2.Sub(t1)))
		sem <- struct{}{}
		t0 = time.Now()
		st.waitSlot.Add(int64(t0.Sub(t2)))
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			began := time.Now()
			wamid, err := s.api.SendTracked(ctx, s.phoneNumberID, s.token, c.to, c.messageID, c.template, c.text)
			st.sendTime.Add(int64(time.Since(began)))
			st.sends.Add(1)
			if err != nil {
				st.refused.Add(1)
			}
			answers <- outcome{c, wamid, err}
		}()
	}
}

// recordAll writes the answers in batches: whatever arrived within 100 ms
// of the first unwritten one, or 500 answers, in one transaction.
func (s *sender) recordAll(ctx context.Context, b *ent.Broadcast, answers <-chan outcome) error {
	const most, every = 500, 100 * time.Millisecond
	var pending []outcome
	var due <-chan time.Time
	for {
		select {
		case a, ok := <-answers:
			if !ok {
				if len(pending) == 0 {
					return nil
				}
				return s.record(ctx, b, pending)
			}
			pending = append(pending, a)
			if len(pending) == 1 {
				due = time.After(every)
			}
			if len(pending) < most {
				continue
			}
		case <-due:
		}
		if err := s.record(ctx, b, pending); err != nil {
			for range answers { // let the senders finish; their rows stay SENDING
			}
			return err
		}
		pending, due = nil, nil
	}
}

// claimed is a recipient whose attempt is recorded: what to send it.
type claimed struct {
	recipientID, messageID, to string
	template                   *whatsapp.Template
	text                       string
}

// claim marks each recipient SENDING with a QUEUED message in its
// conversation (created, resolved, when it has none on the number), in one
// transaction, before anything is sent: the conversations and messages are
// inserted in bulk and the recipients updated by one statement. A
// recipient tried before (refused for now, or never answered) keeps its
// message, so that a late status still finds it. A row another run claimed
// first fails the claim. It claims the next n PENDING recipients of the
// number, read in the same transaction, and says whether there were any.
func (s *sender) claim(ctx context.Context, b *ent.Broadcast, tmpl *ent.MessageTemplate, n int) ([]claimed, bool, error) {
	var out []claimed
	left := false
	err := store.WithTx(ctx, s.d.Client, func(ctx context.Context, tx *ent.Tx) error {
		batch, err := tx.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(b.ID),
			broadcastrecipient.NumberID(s.numberID), broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
			Order(ent.Asc(broadcastrecipient.FieldPosition)).Limit(n).All(ctx)
		if err != nil || len(batch) == 0 {
			return err
		}
		left = true
		out, err = s.claimTx(ctx, tx, b, tmpl, batch)
		return err
	})
	return out, left, err
}

func (s *sender) claimTx(ctx context.Context, tx *ent.Tx, b *ent.Broadcast, tmpl *ent.MessageTemplate, batch []*ent.BroadcastRecipient) ([]claimed, error) {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.ContactID
	}
	contacts, err := tx.Contact.Query().Where(contact.IDIn(ids...)).All(ctx)
	if err != nil {
		return nil, err
	}
	byID := make(map[string]*ent.Contact, len(contacts))
	for _, c := range contacts {
		byID[c.ID] = c
	}
	convs, err := tx.Conversation.Query().Where(conversation.NumberID(s.numberID), conversation.ContactIDIn(ids...),
		conversation.GroupIDIsNil()).Order(ent.Asc(conversation.FieldCreatedAt)).All(ctx)
	if err != nil {
		return nil, err
	}
	convOf := map[string]string{}
	for _, c := range convs {
		convOf[c.ContactID] = c.ID // the latest wins
	}
	now := s.d.Clock.Now()
	var erased, retried []string
	var newConvs []*ent.ConversationCreate
	var live []*ent.BroadcastRecipient
	for _, r := range batch {
		c := byID[r.ContactID]
		switch {
		case c == nil: // erased since planning
			erased = append(erased, r.ID)
			continue
		case convOf[c.ID] == "":
			convOf[c.ID] = "new"
			newConvs = append(newConvs, tx.Conversation.Create().SetNumberID(s.numberID).SetContactID(c.ID).
				SetStatus(conversation.StatusRESOLVED).SetResolvedAt(now))
		}
		live = append(live, r)
	}
	if len(erased) > 0 {
		if err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.IDIn(erased...)).
			SetState(broadcastrecipient.StateSKIPPED).SetSkipReason("ERASED").Exec(ctx); err != nil {
			return nil, err
		}
	}
	if len(newConvs) > 0 {
		created, err := tx.Conversation.CreateBulk(newConvs...).Save(ctx)
		if err != nil {
			return nil, err
		}
		for _, cv := range created {
			convOf[cv.ContactID] = cv.ID
		}
	}
	out := make([]claimed, len(live))
	var newMsgs []*ent.MessageCreate
	var newOf []int // the index in out of each new message
	for i, r := range live {
		c := byID[r.ContactID]
		cl := claimed{recipientID: r.ID, to: c.WaID}
		if tmpl != nil {
			cl.template = &whatsapp.Template{Name: tmpl.Name, Language: tmpl.Language, BodyParams: values(b.Variables, c),
				HeaderImage: b.HeaderImage}
		} else {
			cl.text = render(b.Text, values(b.Variables, c))
		}
		if r.MessageID != nil {
			cl.messageID = *r.MessageID
			retried = append(retried, cl.messageID)
			out[i] = cl
			continue
		}
		mc := tx.Message.Create().SetConversationID(convOf[c.ID]).SetNumberID(s.numberID).SetDirection(message.DirectionOUTBOUND).
			SetStatus(message.StatusQUEUED).SetAttempts(1)
		if tmpl != nil {
			content, err := json.Marshal(connector.Outbound{Template: cl.template})
			if err != nil {
				return nil, err
			}
			mc.SetKind(message.KindTEMPLATE).SetBody(render(tmpl.Body, cl.template.BodyParams)).SetContent(content)
		} else {
			mc.SetKind(message.KindTEXT).SetBody(cl.text)
		}
		newMsgs, newOf = append(newMsgs, mc), append(newOf, i)
		out[i] = cl
	}
	if len(newMsgs) > 0 {
		created, err := tx.Message.CreateBulk(newMsgs...).Save(ctx)
		if err != nil {
			return nil, err
		}
		for k, m := range created {
			out[newOf[k]].messageID = m.ID
		}
	}
	if len(retried) > 0 {
		if err := tx.Message.Update().Where(message.IDIn(retried...)).AddAttempts(1).Exec(ctx); err != nil {
			return nil, err
		}
	}
	if len(out) == 0 {
		return out, nil
	}
	recipients := make([]string, len(out))
	messageOf := make(map[string]string, len(out))
	for i, c := range out {
		recipients[i], messageOf[c.recipientID] = c.recipientID, c.messageID
	}
	n, err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.IDIn(recipients...), broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
		SetState(broadcastrecipient.StateSENDING).SetAttemptedAt(now).
		Modify(func(u *sql.UpdateBuilder) {
			u.Set(broadcastrecipient.FieldMessageID, caseOf(broadcastrecipient.FieldID, messageOf))
		}).
		Save(ctx)
	if err != nil {
		return nil, err
	}
	if n != len(out) {
		return nil, fmt.Errorf("broadcast %s: %d of %d recipients claimed by another run", b.ID, len(out)-n, len(out))
	}
	return out, nil
}

// caseOf is the SQL expression that maps each key of column to its value:
// one UPDATE gives many rows each their own value.
func caseOf(column string, values map[string]string) sql.Querier {
	keys := slices.Sorted(maps.Keys(values))
	return sql.ExprFunc(func(b *sql.Builder) {
		b.WriteString("CASE ").Ident(column)
		for _, k := range keys {
			b.WriteString(" WHEN ").Arg(k).WriteString(" THEN ").Arg(values[k])
		}
		b.WriteString(" END")
	})
}

// record writes what the provider answered: SENT with the wamid, FAILED with
// a permanent refusal, PENDING again when the provider refused for now
// (throughput, pair rate, an outage answer) or the send never left
// (whatsapp.NotSent). A send with no answer (the connection broke after the request
// went out) stays SENDING: its statuses will tell. The common answers cost
// one statement each for the whole batch.
func (s *sender) record(ctx context.Context, b *ent.Broadcast, answers []outcome) error {
	defer func(t0 time.Time) {
		s.stages.records.Add(1)
		s.stages.recordTime.Add(int64(time.Since(t0)))
	}(time.Now())
	ctx = context.WithoutCancel(ctx) // what the provider answered is kept, even when the run is ending
	return store.WithTx(ctx, s.d.Client, func(ctx context.Context, tx *ent.Tx) error {
		now := s.d.Clock.Now()
		wamidOf := map[string]string{}
		var sent, again []string
		for _, a := range answers {
			var apiErr *whatsapp.APIError
			switch {
			case a.err == nil:
				sent, wamidOf[a.messageID] = append(sent, a.recipientID), a.wamid
			case errors.As(a.err, &apiErr) && apiErr.Retryable():
				again = append(again, a.recipientID)
			case errors.As(a.err, &apiErr):
				if err := tx.Message.UpdateOneID(a.messageID).SetStatus(message.StatusFAILED).SetErrorCode(apiErr.Code).
					SetErrorText(apiErr.Message).Exec(ctx); err != nil {
					return err
				}
				if err := tx.BroadcastRecipient.UpdateOneID(a.recipientID).SetState(broadcastrecipient.StateFAILED).
					SetErrorCode(apiErr.Code).SetError(apiErr.Message).Exec(ctx); err != nil {
					return err
				}
			case whatsapp.NotSent(a.err):
				// the connection was never made: nothing reached the provider
				again = append(again, a.recipientID)
			case errors.Is(a.err, whatsapp.ErrInvalidRequest):
				if err := tx.BroadcastRecipient.UpdateOneID(a.recipientID).SetState(broadcastrecipient.StateFAILED).
					SetError(a.err.Error()).Exec(ctx); err != nil {
					return err
				}
			default:
				s.d.Log.Warn("broadcast: send outcome unknown, waiting for its statuses", "recipient", a.recipientID, "err", a.err)
			}
		}
		if len(sent) > 0 {
			// a status webhook may have set the wamid first: only a message still without one is updated
			if err := tx.Message.Update().Where(message.IDIn(slices.Collect(maps.Keys(wamidOf))...), message.StatusEQ(message.StatusQUEUED)).
				SetStatus(message.StatusSENT).SetSentAt(now).
				Modify(func(u *sql.UpdateBuilder) { u.Set(message.FieldProviderMessageID, caseOf(message.FieldID, wamidOf)) }).
				Exec(ctx); err != nil {
				return err
			}
			if err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.IDIn(sent...)).
				SetState(broadcastrecipient.StateSENT).Exec(ctx); err != nil {
				return err
			}
		}
		if len(again) > 0 {
			s.requeued = true
			if err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.IDIn(again...)).
				SetState(broadcastrecipient.StatePENDING).Exec(ctx); err != nil {
				return err
			}
		}
		s.d.Pub.OnCommit(tx, realtime.BroadcastEvent(b.TenantID, b.ID))
		return nil
	})
}

// values are a contact's values of a broadcast's variable sources.
func values(sources []string, c *ent.Contact) []string {
	out := make([]string, len(sources))
	for i, src := range sources {
		switch {
		case src == "contact.name":
			out[i] = c.ProfileName
		case src == "contact.phone":
			out[i] = c.Phone
		case strings.HasPrefix(src, "attr:"):
			for _, a := range c.Attributes {
				if a.Key == src[len("attr:"):] {
					out[i] = a.Value
				}
			}
		case strings.HasPrefix(src, "text:"):
			out[i] = src[len("text:"):]
		}
		if out[i] == "" {
			out[i] = "-" // the provider refuses an empty parameter
		}
	}
	return out
}

// render fills {{1}}, {{2}}… of body with vals.
func render(body string, vals []string) string {
	for i, v := range vals {
		body = strings.ReplaceAll(body, fmt.Sprintf("{{%d}}", i+1), v)
	}
	return body
}
