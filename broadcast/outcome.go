package broadcast

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/broadcastrecipient"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/pricing"
)

// Outcomes of a recipient, furthest first.
const (
	OutcomeSkipped   = "SKIPPED"
	OutcomeQueued    = "QUEUED"
	OutcomeSent      = "SENT"
	OutcomeDelivered = "DELIVERED"
	OutcomeRead      = "READ"
	OutcomeReplied   = "REPLIED"
	OutcomeFailed    = "FAILED"
)

// replyWindow is how long after delivery an answer counts as a reply.
const replyWindow = 24 * time.Hour

// Row is one recipient's outcome.
type Row struct {
	RecipientID, ContactID, WaID, NumberID string
	Outcome                                string
	SkipReason                             string
	ErrorCode                              int
	PricingCategory                        string
	Billable                               bool
	SentAt, DeliveredAt, ReadAt, RepliedAt *time.Time
}

// Count is a key and how many.
type Count struct {
	Key   string
	Count int
}

// Stats are a broadcast's figures.
type Stats struct {
	Planned, Queued, Skipped int
	// Sent counts every recipient the provider accepted; Delivered those
	// whose message reached the phone (read ones included); Read those who
	// read it; Replied those who wrote back within 24 h of delivery.
	Sent, Delivered, Read, Replied, Failed int
	ReadRate, ReplyRate                    float64 // of Delivered
	SkippedBy, FailedBy                    []Count
	// Cost by pricing category, from the status webhooks' pricing, at the
	// tenant's rates; Currency empty when no rate applies.
	Costs    []pricing.CategoryCost
	Currency string
}

// Outcomes reads every recipient's outcome, in dispatch order.
func (s *Service) Outcomes(ctx context.Context, broadcastID string) ([]Row, error) {
	recipients, err := s.client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(broadcastID)).
		Order(ent.Asc(broadcastrecipient.FieldPosition)).All(ctx)
	if err != nil {
		return nil, err
	}
	return s.outcomesOf(ctx, recipients)
}

// outcomePage is how many recipients EachOutcome holds at once.
const outcomePage = 1000

// EachOutcome calls fn with every recipient's outcome in dispatch order,
// reading a page of recipients at a time: an export of any size holds one
// page.
func (s *Service) EachOutcome(ctx context.Context, broadcastID string, fn func(Row) error) error {
	after := -1
	for {
		page, err := s.client.BroadcastRecipient.Query().Where(broadcastrecipient.BroadcastID(broadcastID),
			broadcastrecipient.PositionGT(after)).Order(ent.Asc(broadcastrecipient.FieldPosition)).Limit(outcomePage).All(ctx)
		if err != nil {
			return err
		}
		rows, err := s.outcomesOf(ctx, page)
		if err != nil {
			return err
		}
		for _, r := range rows {
			if err := fn(r); err != nil {
				return err
			}
		}
		if len(page) < outcomePage {
			return nil
		}
		after = page[len(page)-1].Position
	}
}

// outcomesOf reads the outcomes of recipients, in their order.
func (s *Service) outcomesOf(ctx context.Context, recipients []*ent.BroadcastRecipient) ([]Row, error) {
	var msgIDs, contactIDs []string
	for _, r := range recipients {
		contactIDs = append(contactIDs, r.ContactID)
		if r.MessageID != nil {
			msgIDs = append(msgIDs, *r.MessageID)
		}
	}
	msgs := map[string]*ent.Message{}
	convs := []string{}
	var since time.Time
	for chunk := range slices.Chunk(msgIDs, 5000) {
		list, err := s.client.Message.Query().Where(message.IDIn(chunk...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, m := range list {
			msgs[m.ID] = m
			convs = append(convs, m.ConversationID)
			if since.IsZero() || m.CreatedAt.Before(since) {
				since = m.CreatedAt
			}
		}
	}
	answers := map[string][]time.Time{} // conversation → inbound message times
	for chunk := range slices.Chunk(convs, 5000) {
		var in []struct {
			ConversationID string    `json:"conversation_id"`
			CreatedAt      time.Time `json:"created_at"`
		}
		if err := s.client.Message.Query().Where(message.ConversationIDIn(chunk...), message.DirectionEQ(message.DirectionINBOUND),
			message.CreatedAtGTE(since.Add(-time.Hour))).
			Select(message.FieldConversationID, message.FieldCreatedAt).Scan(ctx, &in); err != nil {
			return nil, err
		}
		for _, a := range in {
			answers[a.ConversationID] = append(answers[a.ConversationID], a.CreatedAt)
		}
	}
	waIDs := map[string]string{}
	for chunk := range slices.Chunk(contactIDs, 5000) {
		var cs []struct {
			ID   string `json:"id"`
			WaID string `json:"wa_id"`
		}
		if err := s.client.Contact.Query().Where(contact.IDIn(chunk...)).Select(contact.FieldID, contact.FieldWaID).Scan(ctx, &cs); err != nil {
			return nil, err
		}
		for _, c := range cs {
			waIDs[c.ID] = c.WaID
		}
	}
	out := make([]Row, len(recipients))
	for i, r := range recipients {
		row := Row{RecipientID: r.ID, ContactID: r.ContactID, WaID: waIDs[r.ContactID], SkipReason: r.SkipReason}
		if r.NumberID != nil {
			row.NumberID = *r.NumberID
		}
		if r.ErrorCode != nil {
			row.ErrorCode = *r.ErrorCode
		}
		var m *ent.Message
		if r.MessageID != nil {
			m = msgs[*r.MessageID]
		}
		row.Outcome = outcomeOf(r, m)
		if m != nil {
			row.SentAt, row.DeliveredAt, row.ReadAt = m.SentAt, m.DeliveredAt, m.ReadAt
			if m.ErrorCode != nil {
				row.ErrorCode = *m.ErrorCode
			}
			if m.PricingCategory != nil {
				row.PricingCategory = *m.PricingCategory
			}
			row.Billable = m.Billable != nil && *m.Billable
			if from := reachedAt(m); from != nil {
				for _, at := range answers[m.ConversationID] {
					if !at.Before(*from) && at.Sub(*from) <= replyWindow && (row.RepliedAt == nil || at.Before(*row.RepliedAt)) {
						at := at
						row.RepliedAt = &at
					}
				}
				if row.RepliedAt != nil {
					row.Outcome = OutcomeReplied
				}
			}
		}
		out[i] = row
	}
	return out, nil
}

// reachedAt is when a message reached the phone: delivered, else read
// (a read status can come without a delivered one).
func reachedAt(m *ent.Message) *time.Time {
	if m.DeliveredAt != nil {
		return m.DeliveredAt
	}
	return m.ReadAt
}

func outcomeOf(r *ent.BroadcastRecipient, m *ent.Message) string {
	switch r.State {
	case broadcastrecipient.StateSKIPPED:
		return OutcomeSkipped
	case broadcastrecipient.StateFAILED:
		return OutcomeFailed
	}
	if m == nil {
		return OutcomeQueued
	}
	switch m.Status {
	case message.StatusFAILED:
		return OutcomeFailed
	case message.StatusREAD:
		return OutcomeRead
	case message.StatusDELIVERED:
		return OutcomeDelivered
	case message.StatusSENT:
		return OutcomeSent
	}
	if r.State == broadcastrecipient.StateSENT {
		return OutcomeSent
	}
	return OutcomeQueued
}

// Stats sums a broadcast's outcomes.
func (s *Service) Stats(ctx context.Context, broadcastID string) (*Stats, error) {
	rows, err := s.Outcomes(ctx, broadcastID)
	if err != nil {
		return nil, err
	}
	st := &Stats{Planned: len(rows)}
	skipped, failed := map[string]int{}, map[string]int{}
	type key struct{ category, phone string }
	billed := map[key]int{}
	cats := map[string]*pricing.CategoryCost{}
	for _, r := range rows {
		switch r.Outcome {
		case OutcomeSkipped:
			st.Skipped++
			skipped[r.SkipReason]++
			continue
		case OutcomeQueued:
			st.Queued++
			continue
		case OutcomeFailed:
			st.Failed++
			failed[strconv.Itoa(r.ErrorCode)]++
		}
		if r.Outcome != OutcomeFailed || r.SentAt != nil {
			st.Sent++
		}
		if r.DeliveredAt != nil || r.ReadAt != nil {
			st.Delivered++
		}
		if r.ReadAt != nil {
			st.Read++
		}
		if r.RepliedAt != nil {
			st.Replied++
		}
		if r.PricingCategory != "" {
			c := cats[r.PricingCategory]
			if c == nil {
				c = &pricing.CategoryCost{Category: r.PricingCategory}
				cats[r.PricingCategory] = c
			}
			c.Messages++
			if r.Billable {
				c.Billable++
				billed[key{r.PricingCategory, "+" + r.WaID}]++
			}
		}
	}
	if st.Delivered > 0 {
		st.ReadRate = float64(st.Read) / float64(st.Delivered)
		st.ReplyRate = float64(st.Replied) / float64(st.Delivered)
	}
	st.SkippedBy, st.FailedBy = counts(skipped), counts(failed)
	card, err := pricing.NewService(s.client).Rates(ctx)
	if err != nil {
		return nil, err
	}
	for k, n := range billed {
		c := cats[k.category]
		if rate, ok := pricing.Card(card).Rate(k.category, k.phone); ok {
			c.CostMicro += rate.PriceMicros * int64(n)
			st.Currency = rate.Currency
		} else {
			c.Unrated += n
		}
	}
	for _, c := range cats {
		st.Costs = append(st.Costs, *c)
	}
	slices.SortFunc(st.Costs, func(a, b pricing.CategoryCost) int { return strings.Compare(a.Category, b.Category) })
	return st, nil
}

func counts(m map[string]int) []Count {
	out := make([]Count, 0, len(m))
	for k, n := range m {
		out = append(out, Count{k, n})
	}
	slices.SortFunc(out, func(a, b Count) int { return strings.Compare(a.Key, b.Key) })
	return out
}
