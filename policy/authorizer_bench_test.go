package policy

import (
	"testing"

	"github.com/switchboard-dev/switchboard/viewer"
)

// BenchmarkDecisionField is the cost of one cached field decision: what the
// field guard pays per field once a role set's decisions are computed.
func BenchmarkDecisionField(b *testing.B) {
	d := &Decisions{perms: map[Permission]bool{}, fields: map[string]map[string]Effect{}, scope: viewer.Scope{}}
	for c, r := range FieldRules {
		d.set(c, r.Otherwise) // as for a role holding none of the switches
	}
	fields := []Coordinate{{"Contact", "phone"}, {"Conversation", "status"}, {"Agent", "name"}, {"Message", "body"}}
	var sink Effect
	for i := 0; b.Loop(); i++ {
		c := fields[i%len(fields)]
		sink += d.Field(c.Type, c.Field)
	}
	_ = sink
}
