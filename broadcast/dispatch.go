package broadcast

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/riverqueue/river"

	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
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
	// Parallel is how many sends are in flight per number (8 when zero).
	Parallel int
}

// Timeout: a run bounds itself by Slice.
func (d *Dispatcher) Timeout(*river.Job[DispatchArgs]) time.Duration { return -1 }

// Work sends the number's recipients, batch by batch, until they are all
// sent, the broadcast is paused or cancelled, quiet hours start, or the
// slice ends.
func (d *Dispatcher) Work(ctx context.Context, j *river.Job[DispatchArgs]) error {
	ctx = viewer.System(ctx, j.Args.TenantID)
	start := time.Now()
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
	send := sender{d: d, api: api, phoneNumberID: *num.PhoneNumberID, token: creds.AccessToken, throughput: num.Throughput, numberID: num.ID}
	for time.Since(start) < slice {
		b, err := d.Client.Broadcast.Get(ctx, j.Args.BroadcastID)
		if err != nil {
			return err
		}
		if b.State != broadcast.StateSENDING {
			return nil // paused or cancelled: resume starts a new run
		}
		if wait, err := d.quiet(ctx, b); err != nil || wait > 0 {
			if err != nil {
				return err
			}
			return river.JobSnooze(wait)
		}
		waiting, err := d.reconcile(ctx, b.ID, num.ID, start, horizon)
		if err != nil {
			return err
		}
		room, err := d.room(ctx, b)
		if err != nil {
			return err
		}
		if room == 0 {
			return river.JobSnooze(time.Minute) // the portfolio's messaging limit: wait for the 24 h to roll
		}
		batch, err := d.Client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(b.ID),
			broadcastrecipient.NumberID(num.ID), broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
			Order(ent.Asc(broadcastrecipient.FieldPosition)).Limit(min(room, max(num.Throughput, 10), 200)).All(ctx)
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			if waiting > 0 {
				time.Sleep(250 * time.Millisecond) // statuses of lost outcomes may still come
				continue
			}
			return d.finish(ctx, b.ID)
		}
		if err := send.batch(ctx, b, batch); err != nil {
			return err
		}
	}
	return river.JobSnooze(0) // the slice ended: continue in a new run
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
// the status failed it), PENDING again once the horizon passed since the
// attempt (or since this run started) without any status. It returns how many still wait.
func (d *Dispatcher) reconcile(ctx context.Context, broadcastID, numberID string, runStart time.Time, horizon time.Duration) (int, error) {
	rows, err := d.Client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(broadcastID),
		broadcastrecipient.NumberID(numberID), broadcastrecipient.StateEQ(broadcastrecipient.StateSENDING)).All(ctx)
	if err != nil || len(rows) == 0 {
		return 0, err
	}
	waiting := 0
	for _, r := range rows {
		m, err := d.Client.Message.Get(ctx, *r.MessageID)
		if err != nil {
			return 0, err
		}
		u := d.Client.BroadcastRecipient.UpdateOneID(r.ID).Where(broadcastrecipient.StateEQ(broadcastrecipient.StateSENDING))
		switch {
		case m.Status == message.StatusFAILED:
			u.SetState(broadcastrecipient.StateFAILED).SetError(m.ErrorText).SetNillableErrorCode(m.ErrorCode)
		case m.ProviderMessageID != nil:
			u.SetState(broadcastrecipient.StateSENT)
		case d.Clock.Now().Sub(*r.AttemptedAt) >= horizon || time.Since(runStart) >= horizon:
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

// sender sends batches from one number.
type sender struct {
	d                              *Dispatcher
	api                            *whatsapp.Client
	phoneNumberID, token, numberID string
	throughput                     int
}

// outcome is what the provider answered one send.
type outcome struct {
	wamid string
	err   error
}

// batch records the attempts of a batch, sends them, and records what the
// provider answered.
func (s sender) batch(ctx context.Context, b *ent.Broadcast, batch []*ent.BroadcastRecipient) error {
	tmpl, err := templateOf(ctx, s.d.Client, b)
	if err != nil {
		return err
	}
	claimed, err := s.claim(ctx, b, tmpl, batch)
	if err != nil {
		return err
	}
	results := make([]outcome, len(claimed))
	parallel := s.d.Parallel
	if parallel <= 0 {
		parallel = 8
	}
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	for i, c := range claimed {
		for {
			wait := s.d.Limits.Reserve(s.numberID, s.throughput, c.to, time.Now())
			if wait == 0 {
				break
			}
			time.Sleep(wait)
		}
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			wamid, err := s.api.SendTracked(ctx, s.phoneNumberID, s.token, c.to, c.messageID, c.template, c.text)
			results[i] = outcome{wamid, err}
		}()
	}
	wg.Wait()
	return s.record(ctx, b, claimed, results)
}

// claimed is a recipient whose attempt is recorded: what to send it.
type claimed struct {
	recipientID, messageID, to string
	template                   *whatsapp.Template
	text                       string
}

// claim marks each recipient SENDING with a new QUEUED message in its
// conversation (created, resolved, when it has none on the number), in one
// transaction, before anything is sent. A row another run claimed first is
// left to it.
func (s sender) claim(ctx context.Context, b *ent.Broadcast, tmpl *ent.MessageTemplate, batch []*ent.BroadcastRecipient) ([]claimed, error) {
	ids := make([]string, len(batch))
	for i, r := range batch {
		ids[i] = r.ContactID
	}
	var out []claimed
	err := store.WithTx(ctx, s.d.Client, func(ctx context.Context, tx *ent.Tx) error {
		out = nil
		var err error
		out, err = s.claimTx(ctx, tx, b, tmpl, batch, ids)
		return err
	})
	return out, err
}

func (s sender) claimTx(ctx context.Context, tx *ent.Tx, b *ent.Broadcast, tmpl *ent.MessageTemplate, batch []*ent.BroadcastRecipient, ids []string) ([]claimed, error) {
	{
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
		out := make([]claimed, 0, len(batch))
		for _, r := range batch {
			c := byID[r.ContactID]
			if c == nil { // erased since planning
				if err := tx.BroadcastRecipient.UpdateOneID(r.ID).SetState(broadcastrecipient.StateSKIPPED).SetSkipReason("ERASED").Exec(ctx); err != nil {
					return nil, err
				}
				continue
			}
			conv, ok := convOf[c.ID]
			if !ok {
				cv, err := tx.Conversation.Create().SetNumberID(s.numberID).SetContactID(c.ID).
					SetStatus(conversation.StatusRESOLVED).SetResolvedAt(now).Save(ctx)
				if err != nil {
					return nil, err
				}
				conv, convOf[c.ID] = cv.ID, cv.ID
			}
			cl := claimed{recipientID: r.ID, to: c.WaID}
			if tmpl != nil {
				cl.template = &whatsapp.Template{Name: tmpl.Name, Language: tmpl.Language, BodyParams: values(b.Variables, c),
					HeaderImage: b.HeaderImage}
			} else {
				cl.text = render(b.Text, values(b.Variables, c))
			}
			if r.MessageID != nil {
				// tried before and refused for now, or never answered: the
				// same message, so a late status still finds it
				n, err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.ID(r.ID), broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
					SetState(broadcastrecipient.StateSENDING).SetAttemptedAt(now).Save(ctx)
				if err != nil {
					return nil, err
				}
				if n == 0 {
					return nil, fmt.Errorf("broadcast %s: recipient %s claimed by another run", b.ID, r.ID)
				}
				if err := tx.Message.UpdateOneID(*r.MessageID).AddAttempts(1).Exec(ctx); err != nil {
					return nil, err
				}
				cl.messageID = *r.MessageID
				out = append(out, cl)
				continue
			}
			mc := tx.Message.Create().SetConversationID(conv).SetNumberID(s.numberID).SetDirection(message.DirectionOUTBOUND).
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
			m, err := mc.Save(ctx)
			if err != nil {
				return nil, err
			}
			n, err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.ID(r.ID), broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
				SetState(broadcastrecipient.StateSENDING).SetMessageID(m.ID).SetAttemptedAt(now).Save(ctx)
			if err != nil {
				return nil, err
			}
			if n == 0 {
				return nil, fmt.Errorf("broadcast %s: recipient %s claimed by another run", b.ID, r.ID)
			}
			cl.messageID = m.ID
			out = append(out, cl)
		}
		return out, nil
	}
}

// record writes what the provider answered: SENT with the wamid, FAILED with
// a permanent refusal, PENDING again when the provider refused for now
// (throughput, pair rate, an outage answer). A send with no answer (the
// connection broke) stays SENDING: its statuses will tell.
func (s sender) record(ctx context.Context, b *ent.Broadcast, claimed []claimed, results []outcome) error {
	return store.WithTx(ctx, s.d.Client, func(ctx context.Context, tx *ent.Tx) error {
		now := s.d.Clock.Now()
		for i, c := range claimed {
			res := results[i]
			var apiErr *whatsapp.APIError
			switch {
			case res.err == nil:
				// a status webhook may have set the wamid first: only a message still without one is updated
				if _, err := tx.Message.Update().Where(message.ID(c.messageID), message.StatusEQ(message.StatusQUEUED)).
					SetStatus(message.StatusSENT).SetProviderMessageID(res.wamid).SetSentAt(now).Save(ctx); err != nil {
					return err
				}
				if err := tx.BroadcastRecipient.UpdateOneID(c.recipientID).SetState(broadcastrecipient.StateSENT).Exec(ctx); err != nil {
					return err
				}
			case errors.As(res.err, &apiErr) && apiErr.Retryable():
				if err := tx.BroadcastRecipient.UpdateOneID(c.recipientID).SetState(broadcastrecipient.StatePENDING).Exec(ctx); err != nil {
					return err
				}
			case errors.As(res.err, &apiErr):
				if err := tx.Message.UpdateOneID(c.messageID).SetStatus(message.StatusFAILED).SetErrorCode(apiErr.Code).
					SetErrorText(apiErr.Message).Exec(ctx); err != nil {
					return err
				}
				if err := tx.BroadcastRecipient.UpdateOneID(c.recipientID).SetState(broadcastrecipient.StateFAILED).
					SetErrorCode(apiErr.Code).SetError(apiErr.Message).Exec(ctx); err != nil {
					return err
				}
			case errors.Is(res.err, whatsapp.ErrInvalidRequest):
				if err := tx.BroadcastRecipient.UpdateOneID(c.recipientID).SetState(broadcastrecipient.StateFAILED).
					SetError(res.err.Error()).Exec(ctx); err != nil {
					return err
				}
			default:
				s.d.Log.Warn("broadcast: send outcome unknown, waiting for its statuses", "recipient", c.recipientID, "err", res.err)
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
