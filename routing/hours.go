package routing

import (
	"context"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/hours"
)

// Hours are opening hours in one time zone (package hours).
type Hours = hours.Hours

// NewHours reads weekly windows and closed dates in the time zone named tz.
func NewHours(tz string, weekly []schematype.BusinessHours, closed []string) (Hours, error) {
	return hours.New(tz, weekly, closed)
}

// ValidWindow checks a weekly window (hours.ValidWindow).
func ValidWindow(w schematype.BusinessHours) error { return hours.ValidWindow(w) }

func minuteOfDay(hhmm string) (int, error) { return hours.MinuteOfDay(hhmm) }

// NumberHours are the business hours of num: its own when it has weekly
// windows, else the tenant's, in the tenant's time zone. No weekly window
// at all means open around the clock (Hours.Weekly is then empty).
func NumberHours(ctx context.Context, tx *ent.Tx, num *ent.Number) (Hours, error) {
	t, err := tx.Tenant.Get(ctx, num.TenantID)
	if err != nil {
		return Hours{}, err
	}
	weekly, closed := t.Settings.BusinessHours, t.Settings.Holidays
	if num.BusinessHours != nil && len(num.BusinessHours.Weekly) > 0 {
		weekly, closed = num.BusinessHours.Weekly, num.BusinessHours.Closed
	}
	return hours.New(t.Timezone, weekly, closed)
}
