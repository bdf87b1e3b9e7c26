package pricing_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/pricing"
)

// A billable message costs the rate of its category whose market is the
// longest dialling prefix of the recipient's phone, else the category's "*"
// line; a customer known by business-scoped id only gets the "*" line.
func TestCardRate(t *testing.T) {
	t.Parallel()
	card := pricing.Card{
		{ID: "any", Category: "marketing", Market: "*", PriceMicros: 50_000},
		{ID: "uk", Category: "marketing", Market: "44", PriceMicros: 52_900},
		{ID: "us", Category: "marketing", Market: "1", PriceMicros: 25_000},
		{ID: "jm", Category: "marketing", Market: "1876", PriceMicros: 60_000},
		{ID: "util-uk", Category: "utility", Market: "44", PriceMicros: 22_000},
	}
	for _, c := range []struct {
		category, phone, want string
	}{
		{"marketing", "+447700900123", "uk"},
		{"marketing", "+16505551234", "us"},
		{"marketing", "+18765550100", "jm"},
		{"marketing", "+33612345678", "any"},
		{"marketing", "", "any"},
		{"utility", "+447700900123", "util-uk"},
		{"utility", "+33612345678", ""},
		{"authentication", "+447700900123", ""},
	} {
		r, ok := card.Rate(c.category, c.phone)
		if c.want == "" {
			require.False(t, ok, "%s to %s", c.category, c.phone)
			continue
		}
		require.True(t, ok, "%s to %s", c.category, c.phone)
		require.Equal(t, c.want, r.ID, "%s to %s", c.category, c.phone)
	}
	require.Equal(t, int64(52_900), pricing.Micros(0.0529))
	require.InDelta(t, 0.0529, pricing.Units(52_900), 1e-12)
}
