package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// A field's own ALLOW wins over its type's DENY whatever order the rules
// come in; fields of types with no rule are allowed.
func TestDecisionsFieldLookup(t *testing.T) {
	t.Parallel()
	for _, order := range [][]Coordinate{
		{{"Agent", "*"}, {"Agent", "name"}},
		{{"Agent", "name"}, {"Agent", "*"}},
	} {
		effects := map[Coordinate]Effect{{"Agent", "*"}: Deny, {"Agent", "name"}: Allow}
		d := &Decisions{fields: map[string]map[string]Effect{}}
		sorted := append([]Coordinate(nil), order...)
		if sorted[0].Field != "*" {
			sorted[0], sorted[1] = sorted[1], sorted[0] // what compute does
		}
		for _, c := range sorted {
			d.set(c, effects[c])
		}
		require.Equal(t, Allow, d.Field("Agent", "name"))
		require.Equal(t, Deny, d.Field("Agent", "email"))
		require.Equal(t, Allow, d.Field("Conversation", "status"))
	}
	d := &Decisions{fields: map[string]map[string]Effect{}}
	d.set(Coordinate{"Contact", "phone"}, Mask)
	d.set(Coordinate{"Contact", "id"}, Allow)
	require.Equal(t, Mask, d.Field("Contact", "phone"))
	require.Equal(t, Allow, d.Field("Contact", "id"))
	require.Len(t, d.fields["Contact"], 1, "plain ALLOWs are not stored")
}
