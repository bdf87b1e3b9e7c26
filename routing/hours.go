package routing

import (
	"cmp"
	"context"
	"encoding/json"

	"entgo.io/ent/dialect/sql"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/ent/tenant"
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
	return hoursOf(num, t.Timezone, t.Settings)
}

// hoursOf are NumberHours with the tenant's time zone and settings read.
func hoursOf(num *ent.Number, timezone string, settings schematype.TenantSettings) (Hours, error) {
	weekly, closed := settings.BusinessHours, settings.Holidays
	if num.BusinessHours != nil && len(num.BusinessHours.Weekly) > 0 {
		weekly, closed = num.BusinessHours.Weekly, num.BusinessHours.Closed
	}
	return hours.New(timezone, weekly, closed)
}

// HoursOfNumber are NumberHours of the number numberID, read with its
// tenant's time zone and hours in one statement.
func HoursOfNumber(ctx context.Context, tx *ent.Tx, numberID string) (Hours, error) {
	var rows []struct {
		TenantID      string `json:"tenant_id"`
		BusinessHours []byte `json:"business_hours"`
		Timezone      string `json:"timezone"`
		Settings      []byte `json:"settings"`
	}
	err := tx.Number.Query().Where(number.ID(numberID)).Modify(func(s *sql.Selector) {
		t := sql.Table(tenant.Table)
		s.Join(t).On(s.C(number.FieldTenantID), t.C(tenant.FieldID))
		s.Select(s.C(number.FieldTenantID), s.C(number.FieldBusinessHours), t.C(tenant.FieldTimezone), t.C(tenant.FieldSettings))
	}).Scan(ctx, &rows)
	if err != nil {
		return Hours{}, err
	}
	if len(rows) == 0 { // ent's own error (not found, or not the viewer's to see)
		_, err := tx.Number.Get(ctx, numberID)
		return Hours{}, cmp.Or(err, error(&ent.NotFoundError{}))
	}
	r := rows[0]
	num := &ent.Number{ID: numberID, TenantID: r.TenantID}
	var settings schematype.TenantSettings
	if err := unmarshalJSON(r.BusinessHours, &num.BusinessHours); err != nil {
		return Hours{}, err
	}
	if err := unmarshalJSON(r.Settings, &settings); err != nil {
		return Hours{}, err
	}
	return hoursOf(num, r.Timezone, settings)
}

// unmarshalJSON decodes a JSON column read by hand; NULL leaves v as is.
func unmarshalJSON(raw []byte, v any) error {
	if len(raw) == 0 {
		return nil
	}
	return json.Unmarshal(raw, v)
}
