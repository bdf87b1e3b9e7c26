// Package broadcast sends one message to an audience of contacts: templates
// synced from the provider, broadcasts planned into one recipient row each
// (with the reason of every skip), dispatched at the provider's pace by
// durable jobs, under the tenant's frequency cap, with their outcomes (sent,
// delivered, read, replied, failed) and rates.
//
// A broadcast moves DRAFT → SCHEDULED → PLANNING → SENDING → DONE; PAUSED and
// CANCELLED on request. Planning (PlanArgs) and dispatch (DispatchArgs, one
// job per broadcast and sending number) are River jobs: an instance that dies
// leaves them to be rescued, and they resume from the recipients' states.
package broadcast

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/clock"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/broadcast"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/messagetemplate"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/tenant"
	"github.com/switchboard-dev/switchboard/hours"
	"github.com/switchboard-dev/switchboard/job"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/segment"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// Audit actions.
const (
	ActionCreated         = "broadcast.create"
	ActionScheduled       = "broadcast.schedule"
	ActionPaused          = "broadcast.pause"
	ActionResumed         = "broadcast.resume"
	ActionCancelled       = "broadcast.cancel"
	ActionPolicySet       = "broadcast.policy"
	ActionTemplatesSynced = "template.sync"
)

// Skip reasons of a recipient.
const (
	SkipOptedOut      = "OPTED_OUT"
	SkipCapped        = "CAPPED"
	SkipNoNumber      = "NO_NUMBER"
	SkipOutsideWindow = "OUTSIDE_WINDOW"
	SkipDuplicate     = "DUPLICATE"
	SkipCancelled     = "CANCELLED"
)

// Service keeps broadcasts and templates.
type Service struct {
	client   *ent.Client
	pub      *realtime.Publisher
	jobs     *job.Client
	clock    clock.Clock
	log      *slog.Logger
	segments *segment.Service // resolves an audience given as a saved segment
}

// New returns a Service.
func New(client *ent.Client, pub *realtime.Publisher, jobs *job.Client, segments *segment.Service, clk clock.Clock, log *slog.Logger) *Service {
	return &Service{client: client, pub: pub, jobs: jobs, segments: segments, clock: clk, log: log}
}

// Input is a broadcast as a marketer prepares it.
type Input struct {
	Name        string
	TemplateID  *string // nil: Text, sent only to contacts inside their 24-hour window
	Text        string
	HeaderImage string
	Variables   []string // one per body variable: contact.name, contact.phone, attr:<key>, text:<literal>
	Audience    schematype.BroadcastAudience
	Sender      broadcast.Sender
	NumberID    *string
	QuietStart  string
	QuietEnd    string
}

// Create prepares a broadcast (DRAFT); Schedule starts it.
func (s *Service) Create(ctx context.Context, in Input) (*ent.Broadcast, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Broadcast, error) {
		c := tx.Broadcast.Create().SetName(strings.TrimSpace(in.Name)).SetAudience(in.Audience).SetSender(in.Sender).
			SetNillableNumberID(in.NumberID).SetVariables(in.Variables).SetQuietStart(in.QuietStart).SetQuietEnd(in.QuietEnd).
			SetHeaderImage(in.HeaderImage)
		if err := validate(in); err != nil {
			return nil, err
		}
		if in.TemplateID != nil {
			t, err := tx.MessageTemplate.Get(ctx, *in.TemplateID)
			if ent.IsNotFound(err) {
				return nil, apperr.New(apperr.NotFound, "template not found")
			}
			if err != nil {
				return nil, err
			}
			if t.Status != "APPROVED" {
				return nil, apperr.Invalid("templateID", "template %s (%s) is %s, not approved", t.Name, t.Language, t.Status)
			}
			if len(in.Variables) != t.BodyVariables {
				return nil, apperr.Invalid("variables", "template %s has %d variables, %d given", t.Name, t.BodyVariables, len(in.Variables))
			}
			if t.HeaderFormat == "IMAGE" && in.HeaderImage == "" {
				return nil, apperr.Invalid("headerImage", "template %s has an image header: give its link", t.Name)
			}
			c.SetTemplateID(t.ID).SetTemplateName(t.Name).SetTemplateLanguage(t.Language).SetCategory(string(t.Category))
		} else {
			if strings.TrimSpace(in.Text) == "" {
				return nil, apperr.Invalid("text", "a broadcast sends a template or a text")
			}
			c.SetText(in.Text)
		}
		if in.NumberID != nil {
			if _, err := tx.Number.Query().Where(number.ID(*in.NumberID), number.UnlinkedAtIsNil()).Only(ctx); err != nil {
				return nil, apperr.New(apperr.NotFound, "number not found")
			}
		}
		if id := in.Audience.SegmentID; id != "" {
			if _, err := tx.Segment.Get(ctx, id); err != nil {
				return nil, apperr.New(apperr.NotFound, "segment not found")
			}
		}
		for _, id := range in.Audience.NumberIDs {
			if ok, err := tx.Number.Query().Where(number.ID(id)).Exist(ctx); err != nil || !ok {
				return nil, apperr.New(apperr.NotFound, "number not found")
			}
		}
		b, err := c.Save(ctx)
		if err != nil {
			return nil, err
		}
		return b, audit.Record(ctx, tx, audit.Event{Action: ActionCreated, TargetID: b.ID, Summary: "created broadcast " + b.Name})
	})
}

func validate(in Input) error {
	if strings.TrimSpace(in.Name) == "" {
		return apperr.Invalid("name", "a broadcast needs a name")
	}
	if in.Sender == broadcast.SenderFIXED && in.NumberID == nil {
		return apperr.Invalid("numberID", "a fixed sender needs the number")
	}
	if (in.QuietStart == "") != (in.QuietEnd == "") {
		return apperr.Invalid("quietStart", "quiet hours need a start and an end")
	}
	for _, hhmm := range []string{in.QuietStart, in.QuietEnd} {
		if hhmm == "" {
			continue
		}
		if _, err := hours.MinuteOfDay(hhmm); err != nil {
			return apperr.Invalid("quietStart", "quiet hours are HH:MM: %v", err)
		}
	}
	for _, v := range in.Variables {
		if !validSource(v) {
			return apperr.Invalid("variables", "variable source %q is not contact.name, contact.phone, attr:<key> or text:<literal>", v)
		}
	}
	if len(in.Audience.TagsAll)+len(in.Audience.TagsAny) == 0 && in.Audience.SegmentID == "" {
		return apperr.Invalid("audience", "an audience needs tags (all or any) or a segment")
	}
	return nil
}

func validSource(v string) bool {
	return v == "contact.name" || v == "contact.phone" || strings.HasPrefix(v, "attr:") || strings.HasPrefix(v, "text:")
}

// Location is the tenant's time zone.
func Location(ctx context.Context, tx *ent.Tx) (*time.Location, error) {
	t, err := tx.Tenant.Query().Where(tenant.ID(viewer.FromContext(ctx).TenantID)).Only(viewer.Platform(ctx))
	if err != nil {
		return nil, err
	}
	return time.LoadLocation(t.Timezone)
}

// Schedule starts a DRAFT broadcast at local, a wall-clock time in the
// tenant's time zone ("2026-12-04T20:00"); empty starts it now.
func (s *Service) Schedule(ctx context.Context, id, local string) (*ent.Broadcast, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Broadcast, error) {
		b, err := get(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if b.State != broadcast.StateDRAFT {
			return nil, apperr.New(apperr.Conflict, "broadcast %s is %s: only a draft is scheduled", id, b.State)
		}
		at := s.clock.Now()
		if local != "" {
			loc, err := Location(ctx, tx)
			if err != nil {
				return nil, err
			}
			if at, err = time.ParseInLocation("2006-01-02T15:04", local, loc); err != nil {
				return nil, apperr.Invalid("startAt", "start is a tenant-time YYYY-MM-DDTHH:MM: %v", err)
			}
		}
		b, err = b.Update().SetState(broadcast.StateSCHEDULED).SetScheduledAt(at).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.enqueue(ctx, tx, PlanArgs{TenantID: b.TenantID, BroadcastID: b.ID}, at); err != nil {
			return nil, err
		}
		s.pub.OnCommit(tx, realtime.BroadcastEvent(b.TenantID, b.ID))
		return b, audit.Record(ctx, tx, audit.Event{Action: ActionScheduled, TargetID: b.ID,
			Summary: fmt.Sprintf("scheduled broadcast %s for %s", b.Name, at.UTC().Format(time.RFC3339))})
	})
}

// Pause stops a sending broadcast after the sends in flight.
func (s *Service) Pause(ctx context.Context, id string) (*ent.Broadcast, error) {
	return s.move(ctx, id, ActionPaused, broadcast.StatePAUSED, broadcast.StateSENDING, broadcast.StateSCHEDULED, broadcast.StatePLANNING)
}

// Resume starts a paused broadcast again where it stopped.
func (s *Service) Resume(ctx context.Context, id string) (*ent.Broadcast, error) {
	return s.move(ctx, id, ActionResumed, broadcast.StateSENDING, broadcast.StatePAUSED)
}

// Cancel ends a broadcast: recipients not sent yet are skipped (CANCELLED).
func (s *Service) Cancel(ctx context.Context, id string) (*ent.Broadcast, error) {
	return s.move(ctx, id, ActionCancelled, broadcast.StateCANCELLED,
		broadcast.StateDRAFT, broadcast.StateSCHEDULED, broadcast.StatePLANNING, broadcast.StateSENDING, broadcast.StatePAUSED)
}

func (s *Service) move(ctx context.Context, id, action string, to broadcast.State, from ...broadcast.State) (*ent.Broadcast, error) {
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.Broadcast, error) {
		b, err := get(ctx, tx, id)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(from, b.State) {
			return nil, apperr.New(apperr.Conflict, "broadcast %s is %s", id, b.State)
		}
		u := b.Update().SetState(to)
		switch {
		case to == broadcast.StateCANCELLED:
			u.SetFinishedAt(s.clock.Now())
			if _, err := tx.BroadcastRecipient.Update().Where(broadcastrecipient.BroadcastID(id),
				broadcastrecipient.StateEQ(broadcastrecipient.StatePENDING)).
				SetState(broadcastrecipient.StateSKIPPED).SetSkipReason(SkipCancelled).Save(ctx); err != nil {
				return nil, err
			}
		case to == broadcast.StateSENDING && b.StartedAt == nil:
			u.SetState(broadcast.StateSCHEDULED) // paused before planning: plan first
			if err := s.enqueue(ctx, tx, PlanArgs{TenantID: b.TenantID, BroadcastID: b.ID}, s.clock.Now()); err != nil {
				return nil, err
			}
		case to == broadcast.StateSENDING:
			if err := s.dispatchAll(ctx, tx, b); err != nil {
				return nil, err
			}
		}
		if b, err = u.Save(ctx); err != nil {
			return nil, err
		}
		changed := realtime.BroadcastEvent(b.TenantID, b.ID)
		if to == broadcast.StateCANCELLED {
			changed = realtime.BroadcastFinishedEvent(b.TenantID, b.ID)
		}
		s.pub.OnCommit(tx, changed)
		return b, audit.Record(ctx, tx, audit.Event{Action: action, TargetID: b.ID, Summary: action + " " + b.Name})
	})
}

func get(ctx context.Context, tx *ent.Tx, id string) (*ent.Broadcast, error) {
	b, err := tx.Broadcast.Get(ctx, id)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "broadcast not found")
	}
	return b, err
}

// Policy is the tenant's frequency cap and messaging limit.
type Policy struct {
	MarketingCap, MarketingCapDays, MessagingLimit int
}

// SetPolicy sets the tenant's frequency cap ("at most MarketingCap marketing
// messages per contact per rolling MarketingCapDays", 0: none) and its
// portfolio messaging limit (0: unlimited).
func (s *Service) SetPolicy(ctx context.Context, p Policy) (Policy, error) {
	if p.MarketingCap < 0 || p.MessagingLimit < 0 || (p.MarketingCap > 0 && (p.MarketingCapDays < 1 || p.MarketingCapDays > 366)) {
		return p, apperr.Invalid("marketingCapDays", "a cap counts over 1 to 366 days; caps and limits are not negative")
	}
	return p, store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		id := viewer.FromContext(ctx).TenantID
		t, err := tx.Tenant.Get(viewer.Platform(ctx), id)
		if err != nil {
			return err
		}
		set := t.Settings
		set.MarketingCap, set.MarketingCapDays, set.MessagingLimit = p.MarketingCap, p.MarketingCapDays, p.MessagingLimit
		if err := tx.Tenant.UpdateOneID(id).SetSettings(set).Exec(viewer.Platform(ctx)); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{Action: ActionPolicySet, TargetID: id,
			Summary: fmt.Sprintf("broadcast policy: at most %d marketing messages per contact per %d days, messaging limit %d",
				p.MarketingCap, p.MarketingCapDays, p.MessagingLimit), After: p})
	})
}

// PolicyOf reads the tenant's policy.
func (s *Service) PolicyOf(ctx context.Context) (Policy, error) {
	t, err := s.client.Tenant.Get(viewer.Platform(ctx), viewer.FromContext(ctx).TenantID)
	if err != nil {
		return Policy{}, err
	}
	return Policy{t.Settings.MarketingCap, t.Settings.MarketingCapDays, t.Settings.MessagingLimit}, nil
}

// templateOf is the template a broadcast sends, if any.
func templateOf(ctx context.Context, client *ent.Client, b *ent.Broadcast) (*ent.MessageTemplate, error) {
	if b.TemplateID == nil {
		return nil, nil
	}
	return client.MessageTemplate.Query().Where(messagetemplate.ID(*b.TemplateID)).Only(ctx)
}
