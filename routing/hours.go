package routing

import (
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
