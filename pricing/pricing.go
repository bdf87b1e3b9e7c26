// Package pricing keeps a tenant's rate card and computes what its numbers'
// messages cost: how each message was billed comes from the provider's status
// webhooks (category, billable; stored per message by the connector), what a
// billable message costs comes from the rate card the tenant keeps (copied
// from Meta's published rates or its partner's invoice).
package pricing

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"sort"
	"strings"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/apperr"
	"github.com/switchboard-dev/switchboard/audit"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/contact"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/message"
	"github.com/switchboard-dev/switchboard/ent/messagerate"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/viewer"
)

// AnyMarket is the market of a rate that applies to every recipient no
// longer prefix matches.
const AnyMarket = "*"

// Service keeps rate cards and computes costs.
type Service struct {
	client *ent.Client
}

// NewService returns a Service over client.
func NewService(client *ent.Client) *Service { return &Service{client: client} }

// RateInput is one line of a rate card to set.
type RateInput struct {
	Category string
	Market   string  // a dialling prefix, or AnyMarket
	Currency string  // ISO 4217
	Price    float64 // per billable message, in currency units
}

var (
	categoryPattern = regexp.MustCompile(`^[a-z][a-z_]{0,63}$`)
	marketPattern   = regexp.MustCompile(`^(\*|[1-9][0-9]{0,5})$`)
	currencyPattern = regexp.MustCompile(`^[A-Z]{3}$`)
)

// maxPrice bounds a price per message (a typo guard: Meta's dearest is cents).
const maxPrice = 1000

// Micros is a price in millionths of the currency unit.
func Micros(price float64) int64 { return int64(math.Round(price * 1e6)) }

// Units is micros in currency units.
func Units(micros int64) float64 { return float64(micros) / 1e6 }

// SetRate creates or replaces the tenant's rate for a category and market,
// audited. A tenant's rate card has one currency.
func (s *Service) SetRate(ctx context.Context, in RateInput) (*ent.MessageRate, error) {
	in.Category = strings.ToLower(strings.TrimSpace(in.Category))
	in.Market = strings.TrimPrefix(strings.TrimSpace(in.Market), "+")
	if in.Market == "" {
		in.Market = AnyMarket
	}
	in.Currency = strings.ToUpper(strings.TrimSpace(in.Currency))
	if in.Currency == "" {
		in.Currency = "USD"
	}
	switch {
	case !categoryPattern.MatchString(in.Category):
		return nil, apperr.New(apperr.InvalidInput, "category: a pricing category such as marketing, utility, authentication or service")
	case !marketPattern.MatchString(in.Market):
		return nil, apperr.New(apperr.InvalidInput, `market: an international dialling prefix such as "44", or "*"`)
	case !currencyPattern.MatchString(in.Currency):
		return nil, apperr.New(apperr.InvalidInput, "currency: an ISO 4217 code such as USD")
	case math.IsNaN(in.Price) || in.Price < 0 || in.Price > maxPrice:
		return nil, apperr.New(apperr.InvalidInput, "price: between 0 and %d per message", maxPrice)
	}
	return store.InTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) (*ent.MessageRate, error) {
		other, err := tx.MessageRate.Query().Where(messagerate.CurrencyNEQ(in.Currency)).Exist(ctx)
		if err != nil {
			return nil, err
		}
		if other {
			return nil, apperr.New(apperr.Conflict, "the rate card is in another currency: change or remove its lines first")
		}
		r, err := tx.MessageRate.Query().Where(messagerate.Category(in.Category), messagerate.Market(in.Market)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			r, err = tx.MessageRate.Create().SetCategory(in.Category).SetMarket(in.Market).SetCurrency(in.Currency).
				SetPriceMicros(Micros(in.Price)).Save(ctx)
		case err == nil:
			r, err = r.Update().SetCurrency(in.Currency).SetPriceMicros(Micros(in.Price)).Save(ctx)
		}
		if err != nil {
			return nil, err
		}
		return r, audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionMessageRateSet, TargetID: r.ID,
			Summary: fmt.Sprintf("rate for %s messages to market %s: %s %.6f", r.Category, r.Market, r.Currency, Units(r.PriceMicros)),
			After:   r,
		})
	})
}

// DeleteRate removes a line of the tenant's rate card, audited.
func (s *Service) DeleteRate(ctx context.Context, id string) error {
	return store.WithTx(ctx, s.client, func(ctx context.Context, tx *ent.Tx) error {
		r, err := tx.MessageRate.Get(ctx, id)
		if err != nil {
			return err
		}
		if err := tx.MessageRate.DeleteOne(r).Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Event{
			Action: audit.ActionMessageRateDeleted, TargetID: r.ID,
			Summary: fmt.Sprintf("removed the rate for %s messages to market %s", r.Category, r.Market), Before: r,
		})
	})
}

// Rates is the viewer's tenant's rate card, by category then market.
func (s *Service) Rates(ctx context.Context) ([]*ent.MessageRate, error) {
	return s.client.MessageRate.Query().Order(ent.Asc(messagerate.FieldCategory), ent.Asc(messagerate.FieldMarket)).All(ctx)
}

// Card finds the rate of a message.
type Card []*ent.MessageRate

// Rate is the rate of a billable message of category to phone (E.164, or
// empty for a customer known by business-scoped id only): the longest
// market prefix of the phone, else the category's AnyMarket line.
func (c Card) Rate(category, phone string) (*ent.MessageRate, bool) {
	digits := strings.TrimPrefix(phone, "+")
	var best *ent.MessageRate
	for _, r := range c {
		if r.Category != category {
			continue
		}
		switch {
		case r.Market == AnyMarket:
			if best == nil {
				best = r
			}
		case digits != "" && strings.HasPrefix(digits, r.Market):
			if best == nil || best.Market == AnyMarket || len(r.Market) > len(best.Market) {
				best = r
			}
		}
	}
	return best, best != nil
}

// Costs are a number's messaging costs of a month.
type Costs struct {
	Month      string
	Currency   string
	TotalMicro int64
	Categories []CategoryCost
	// Service messages (answers inside the customer's window) of the month,
	// and how many of them the provider billed: beyond the monthly free
	// tier, service messages are billed since October 2026.
	ServiceMessages, BilledServiceMessages int
}

// CategoryCost is one category of Costs.
type CategoryCost struct {
	Category  string
	Messages  int   // priced messages
	Billable  int   // of which billed
	CostMicro int64 // the billed ones' cost at the rates
	Unrated   int   // billed messages no rate matches (not in CostMicro)
}

// CategoryService is the pricing category of answers inside the customer's
// window.
const CategoryService = "service"

// ParseMonth reads "YYYY-MM" as the month's first instant in loc.
func ParseMonth(month string, loc *time.Location) (time.Time, error) {
	t, err := time.ParseInLocation("2006-01", month, loc)
	if err != nil {
		return time.Time{}, apperr.New(apperr.InvalidInput, "month: YYYY-MM, such as 2026-11")
	}
	return t, nil
}

// NumberCosts computes the costs of the messages of number priced in month
// ("YYYY-MM", in the tenant's time zone), at the tenant's current rates. The
// caller has checked the viewer may see the number and its costs; every
// message of the number counts, whoever can read it.
func (s *Service) NumberCosts(ctx context.Context, num *ent.Number, month string) (*Costs, error) {
	sctx := viewer.System(ctx, num.TenantID)
	tz, err := s.client.Tenant.Get(sctx, num.TenantID)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation(tz.Timezone)
	if err != nil {
		loc = time.UTC
	}
	from, err := ParseMonth(month, loc)
	if err != nil {
		return nil, err
	}
	card, err := s.client.MessageRate.Query().All(sctx)
	if err != nil {
		return nil, err
	}
	var rows []struct {
		Category string         `sql:"pricing_category"`
		Billable bool           `sql:"billable"`
		Phone    sql.NullString `sql:"phone"`
		Count    int            `sql:"count"`
	}
	err = s.client.Message.Query().
		Where(message.NumberID(num.ID), message.PricedAtGTE(from), message.PricedAtLT(from.AddDate(0, 1, 0)),
			message.PricingCategoryNotNil()).
		Modify(func(sel *sql.Selector) {
			conv, ct := sql.Table(conversation.Table), sql.Table(contact.Table)
			sel.Join(conv).On(sel.C(message.FieldConversationID), conv.C(conversation.FieldID)).
				Join(ct).On(conv.C(conversation.FieldContactID), ct.C(contact.FieldID)).
				Select(sql.As(sel.C(message.FieldPricingCategory), "pricing_category"), sql.As(sel.C(message.FieldBillable), "billable"),
					sql.As(ct.C(contact.FieldPhone), "phone"), sql.As(sql.Count("*"), "count")).
				GroupBy(sel.C(message.FieldPricingCategory), sel.C(message.FieldBillable), ct.C(contact.FieldPhone))
		}).Scan(sctx, &rows)
	if err != nil {
		return nil, fmt.Errorf("costs of %s in %s: %w", num.ID, month, err)
	}
	out := &Costs{Month: month, Currency: "USD"}
	if len(card) > 0 {
		out.Currency = card[0].Currency
	}
	by := map[string]*CategoryCost{}
	for _, r := range rows {
		c := by[r.Category]
		if c == nil {
			c = &CategoryCost{Category: r.Category}
			by[r.Category] = c
		}
		c.Messages += r.Count
		if r.Category == CategoryService {
			out.ServiceMessages += r.Count
		}
		if !r.Billable {
			continue
		}
		c.Billable += r.Count
		if r.Category == CategoryService {
			out.BilledServiceMessages += r.Count
		}
		rate, ok := Card(card).Rate(r.Category, r.Phone.String)
		if !ok {
			c.Unrated += r.Count
			continue
		}
		c.CostMicro += int64(r.Count) * rate.PriceMicros
	}
	for _, c := range by {
		out.Categories = append(out.Categories, *c)
		out.TotalMicro += c.CostMicro
	}
	sort.Slice(out.Categories, func(i, j int) bool { return out.Categories[i].Category < out.Categories[j].Category })
	return out, nil
}
