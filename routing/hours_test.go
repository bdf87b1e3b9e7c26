package routing_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
	"github.com/switchboard-dev/switchboard/routing"
)

func weekdays(open, close string) []schematype.BusinessHours {
	var w []schematype.BusinessHours
	for d := 1; d <= 5; d++ {
		w = append(w, schematype.BusinessHours{Weekday: d, Open: open, Close: close})
	}
	return w
}

func TestHours(t *testing.T) {
	t.Parallel()
	h, err := routing.NewHours("Europe/Paris", weekdays("09:00", "18:00"), []string{"2026-12-25"})
	require.NoError(t, err)
	paris := h.Loc
	at := func(y int, m time.Month, d, hh, mm int) time.Time { return time.Date(y, m, d, hh, mm, 0, 0, paris) }
	tests := []struct {
		name string
		now  time.Time
		open bool
		next time.Time
	}{
		{"Monday morning", at(2026, 11, 30, 10, 0), true, at(2026, 12, 1, 9, 0)},
		{"Monday 20:00", at(2026, 11, 30, 20, 0), false, at(2026, 12, 1, 9, 0)},
		{"the closing minute is closed", at(2026, 11, 30, 18, 0), false, at(2026, 12, 1, 9, 0)},
		{"Friday evening: Monday", at(2026, 11, 27, 19, 0), false, at(2026, 11, 30, 9, 0)},
		{"Christmas Eve evening skips Christmas", at(2026, 12, 24, 20, 0), false, at(2026, 12, 28, 9, 0)},
		{"Christmas Day", at(2026, 12, 25, 10, 0), false, at(2026, 12, 28, 9, 0)},
		// DST ends on Sunday 2026-10-25 in Paris: Friday 20:00 CEST to Monday 09:00 CET
		{"across the end of summer time", at(2026, 10, 23, 20, 0), false, at(2026, 10, 26, 9, 0)},
		// DST starts on Sunday 2026-03-29: Friday 20:00 CET to Monday 09:00 CEST
		{"across the start of summer time", at(2026, 3, 27, 20, 0), false, at(2026, 3, 30, 9, 0)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.open, h.OpenAt(tt.now))
			next, ok := h.NextOpening(tt.now)
			require.True(t, ok)
			require.True(t, tt.next.Equal(next), "next opening %s, want %s", next, tt.next)
			require.Equal(t, 9, next.In(paris).Hour(), "09:00 local whatever the offset")
		})
	}
	// 63 hours of wall clock are 64 real hours when the clocks go back
	next, _ := h.NextOpening(at(2026, 10, 23, 18, 0))
	require.Equal(t, 64*time.Hour, next.Sub(at(2026, 10, 23, 18, 0)))

	_, err = routing.NewHours("Europe/Paris", []schematype.BusinessHours{{Weekday: 1, Open: "18:00", Close: "09:00"}}, nil)
	require.Error(t, err)
	_, err = routing.NewHours("Mars/Olympus", nil, nil)
	require.Error(t, err)
}
