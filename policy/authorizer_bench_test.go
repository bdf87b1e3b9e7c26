package policy

import (
	"testing"

	"github.com/switchboard-dev/switchboard/viewer"
)

// BenchmarkDecisionField is the cost of one cached field decision: what the
// field guard pays per field once a role set's decisions are computed.
func BenchmarkDecisionField(b *testing.B) {
	d := &Decisions{perms: map[Permission]bool{}, fields: map[Coordinate]Effect{}, scope: viewer.Scope{}}
	for c := range FieldRules {
		d.fields[c] = Allow
	}
	fields := []Coordinate{{"Contact", "phone"}, {"Conversation", "status"}, {"Agent", "name"}, {"Message", "body"}}
	var sink Effect
	for i := 0; b.Loop(); i++ {
		c := fields[i%len(fields)]
		sink += d.Field(c.Type, c.Field)
	}
	_ = sink
}
