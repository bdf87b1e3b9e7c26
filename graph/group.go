package graph

import (
	"fmt"
	"time"

	"github.com/switchboard-dev/switchboard/group"
)

// localTime is t as wall-clock time in the time zone tz (a schedule's
// window as it was given).
func localTime(t time.Time, tz string) (string, error) {
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return "", fmt.Errorf("time zone %q: %w", tz, err)
	}
	return t.In(loc).Format(group.LocalLayout), nil
}
