package graph

import (
	"context"
	"time"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/broadcast"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/graph/model"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/realtime"
)

// broadcastInput turns createBroadcast's input into the service's.
func broadcastInput(in model.BroadcastInput) broadcast.Input {
	out := broadcast.Input{
		Name: in.Name, TemplateID: in.TemplateID, Text: in.Text, HeaderImage: in.HeaderImage, Variables: in.Variables,
		Audience: schematype.BroadcastAudience{TagsAll: in.TagsAll, TagsAny: in.TagsAny, TagsNone: in.TagsNone,
			NumberIDs: in.NumberIDs},
		Sender: in.Sender, NumberID: in.NumberID, QuietStart: in.QuietStart, QuietEnd: in.QuietEnd,
	}
	if in.SegmentID != nil {
		out.Audience.SegmentID = *in.SegmentID
	}
	return out
}

// mayViewBroadcasts refuses a viewer without broadcast.view_stats.
func mayViewBroadcasts(ctx context.Context) error {
	if !policy.Can(ctx, policy.BroadcastViewStats) {
		return apperr.New(apperr.Forbidden, "your role may not see broadcasts")
	}
	return nil
}

func statsModel(st *broadcast.Stats) *model.BroadcastStats {
	out := &model.BroadcastStats{
		Planned: st.Planned, Queued: st.Queued, Skipped: st.Skipped, Sent: st.Sent, Delivered: st.Delivered,
		Read: st.Read, Replied: st.Replied, Failed: st.Failed, ReadRate: st.ReadRate, ReplyRate: st.ReplyRate,
		Currency: st.Currency, SkippedBy: []*model.BroadcastCount{}, FailedBy: []*model.BroadcastCount{}, Costs: []*model.BroadcastCost{},
	}
	for _, c := range st.SkippedBy {
		out.SkippedBy = append(out.SkippedBy, &model.BroadcastCount{Key: c.Key, Count: c.Count})
	}
	for _, c := range st.FailedBy {
		out.FailedBy = append(out.FailedBy, &model.BroadcastCount{Key: c.Key, Count: c.Count})
	}
	for _, c := range st.Costs {
		out.Costs = append(out.Costs, &model.BroadcastCost{Category: c.Category, Messages: c.Messages, Billable: c.Billable,
			CostMicros: int(c.CostMicro), Unrated: c.Unrated})
	}
	return out
}

func policyModel(p broadcast.Policy) *model.BroadcastPolicy {
	return &model.BroadcastPolicy{MarketingCap: p.MarketingCap, MarketingCapDays: p.MarketingCapDays, MessagingLimit: p.MessagingLimit}
}

// broadcastProgress streams a broadcast's figures: a snapshot at once, then
// one per broadcast.changed event of it.
func (r *subscriptionResolver) broadcastProgress(ctx context.Context, id string) (<-chan *model.BroadcastProgress, error) {
	if err := mayViewBroadcasts(ctx); err != nil {
		return nil, err
	}
	if _, err := r.client.Broadcast.Get(ctx, id); err != nil {
		return nil, err
	}
	progress := func(ctx context.Context, seq uint64, kind model.EventKind, at time.Time) (*model.BroadcastProgress, error) {
		b, err := r.client.Broadcast.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		st, err := r.casts.Stats(ctx, id)
		if err != nil {
			return nil, err
		}
		return &model.BroadcastProgress{Seq: int(seq), Kind: kind, At: at, Broadcast: b, Stats: statsModel(st)}, nil
	}
	first, err := progress(ctx, 0, model.EventKindUpdated, time.Now())
	if err != nil {
		return nil, err
	}
	live, err := stream(ctx, r.bus, nil, []string{realtime.BroadcastChanged},
		func(ctx context.Context, e realtime.Event) (*model.BroadcastProgress, bool, error) {
			if e.Subject != id {
				return nil, false, nil
			}
			p, err := progress(ctx, e.Seq, model.EventKind(e.Change().Kind), e.At)
			return p, err == nil, err
		},
		func(seq uint64) *model.BroadcastProgress {
			return &model.BroadcastProgress{Seq: int(seq), Kind: model.EventKindResync, At: time.Now()}
		})
	if err != nil {
		return nil, err
	}
	out := make(chan *model.BroadcastProgress, 1)
	out <- first
	go func() {
		defer close(out)
		for p := range live {
			select {
			case out <- p:
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

var _ = ent.IsNotFound
