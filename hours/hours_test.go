package hours_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/hours"
)

// OpenBetween counts wall-clock opening time, so a 09:00–18:00 day is nine
// hours on both sides of a daylight-saving change, and the night between
// counts nothing even when it is 23 or 25 hours long.
func TestOpenBetweenAcrossDaylightSaving(t *testing.T) {
	t.Parallel()
	var weekly []schematype.BusinessHours
	for d := 0; d <= 6; d++ {
		weekly = append(weekly, schematype.BusinessHours{Weekday: d, Open: "09:00", Close: "18:00"})
	}
	weekly = append(weekly, schematype.BusinessHours{Weekday: 1, Open: "17:00", Close: "19:00"}) // overlaps Monday's
	h, err := hours.New("Europe/Berlin", weekly, []string{"2026-10-27"})
	require.NoError(t, err)
	at := func(m time.Month, d, hh, mm int) time.Time { return time.Date(2026, m, d, hh, mm, 0, 0, h.Loc) }
	tests := []struct {
		name     string
		from, to time.Time
		want     time.Duration
	}{
		{"inside one window", at(3, 28, 10, 0), at(3, 28, 10, 30), 30 * time.Minute},
		{"over the spring night (23 h)", at(3, 28, 17, 0), at(3, 29, 10, 0), 2 * time.Hour},
		{"over the autumn night (25 h)", at(10, 24, 17, 0), at(10, 25, 10, 0), 2 * time.Hour},
		{"whole autumn Sunday", at(10, 25, 0, 0), at(10, 26, 0, 0), 9 * time.Hour},
		{"Monday's overlapping windows count once", at(10, 26, 8, 0), at(10, 26, 20, 0), 10 * time.Hour},
		{"a closed date", at(10, 27, 0, 0), at(10, 28, 0, 0), 0},
		{"closed at night", at(10, 28, 19, 0), at(10, 29, 8, 59), 0},
		{"empty", at(10, 28, 12, 0), at(10, 28, 12, 0), 0},
		{"backwards", at(10, 28, 13, 0), at(10, 28, 12, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, h.OpenBetween(tt.from, tt.to))
		})
	}
	never, err := hours.New("Europe/Berlin", nil, nil)
	require.NoError(t, err)
	require.Zero(t, never.OpenBetween(at(3, 1, 0, 0), at(4, 1, 0, 0)), "no windows: never open")
}
