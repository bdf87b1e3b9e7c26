// Package hours reads opening hours (weekly windows and closed dates in a time
// zone) and answers when a business is open: routing uses them for queues and
// auto-replies, reports to count time only while open.
package hours

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-dev/switchboard/ent/schema/schematype"
)

// Hours are opening hours in one time zone: weekly windows and closed dates.
// Every computation happens in local wall-clock time, so a window opening at
// 09:00 opens at 09:00 on both sides of a daylight-saving change.
type Hours struct {
	Loc    *time.Location
	Weekly []schematype.BusinessHours
	Closed map[string]bool // "2026-12-25"
}

// locations caches time zones by name: time.LoadLocation reads the zone
// database from disk on every call, and rules and reports read hours on
// every message.
var locations sync.Map

func location(tz string) (*time.Location, error) {
	if loc, ok := locations.Load(tz); ok {
		return loc.(*time.Location), nil
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return nil, err
	}
	locations.Store(tz, loc)
	return loc, nil
}

// New reads weekly windows and closed dates in the time zone named tz.
func New(tz string, weekly []schematype.BusinessHours, closed []string) (Hours, error) {
	loc, err := location(tz)
	if err != nil {
		return Hours{}, fmt.Errorf("time zone %q: %w", tz, err)
	}
	for _, w := range weekly {
		if err := ValidWindow(w); err != nil {
			return Hours{}, err
		}
	}
	h := Hours{Loc: loc, Weekly: weekly, Closed: map[string]bool{}}
	for _, d := range closed {
		h.Closed[d] = true
	}
	return h, nil
}

// ValidWindow checks a weekly window: weekday 0–6, "HH:MM" times, opening
// before closing (a window ends the day it starts).
func ValidWindow(w schematype.BusinessHours) error {
	o, errO := MinuteOfDay(w.Open)
	c, errC := MinuteOfDay(w.Close)
	switch {
	case w.Weekday < 0 || w.Weekday > 6:
		return fmt.Errorf("weekday %d: 0 (Sunday) to 6", w.Weekday)
	case errO != nil:
		return errO
	case errC != nil:
		return errC
	case o >= c:
		return fmt.Errorf("%s–%s: opening must come before closing", w.Open, w.Close)
	}
	return nil
}

// MinuteOfDay reads an "HH:MM" time as minutes since midnight.
func MinuteOfDay(hhmm string) (int, error) {
	h, m, ok := strings.Cut(hhmm, ":")
	hh, err1 := strconv.Atoi(h)
	mm, err2 := strconv.Atoi(m)
	if !ok || err1 != nil || err2 != nil || hh < 0 || hh > 24 || mm < 0 || mm > 59 || (hh == 24 && mm != 0) || len(m) != 2 {
		return 0, fmt.Errorf("%q is not an HH:MM time", hhmm)
	}
	return hh*60 + mm, nil
}

// at is the instant of minute-of-day min on the local date of day.
func (h Hours) at(day time.Time, hhmm string) time.Time {
	min, _ := MinuteOfDay(hhmm)
	y, m, d := day.Date()
	return time.Date(y, m, d, min/60, min%60, 0, 0, h.Loc)
}

// windows returns the opening windows of the local date of day.
func (h Hours) windows(day time.Time) [][2]time.Time {
	if h.Closed[day.Format(time.DateOnly)] {
		return nil
	}
	var out [][2]time.Time
	for _, w := range h.Weekly {
		if time.Weekday(w.Weekday) == day.Weekday() {
			out = append(out, [2]time.Time{h.at(day, w.Open), h.at(day, w.Close)})
		}
	}
	return out
}

// OpenAt tells whether t falls in an opening window.
func (h Hours) OpenAt(t time.Time) bool {
	local := t.In(h.Loc)
	for _, w := range h.windows(local) {
		if !t.Before(w[0]) && t.Before(w[1]) {
			return true
		}
	}
	return false
}

// NextOpening is the first opening strictly after t, looking up to a year
// ahead; false when nothing opens in that time.
func (h Hours) NextOpening(t time.Time) (time.Time, bool) {
	local := t.In(h.Loc)
	y, m, d := local.Date()
	for i := range 366 {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, h.Loc)
		var best time.Time
		for _, w := range h.windows(day) {
			if w[0].After(t) && (best.IsZero() || w[0].Before(best)) {
				best = w[0]
			}
		}
		if !best.IsZero() {
			return best, true
		}
	}
	return time.Time{}, false
}

// OpenBetween is how much of [from, to) falls in opening windows: the time
// a business-hours-aware figure counts. Overlapping windows count once.
func (h Hours) OpenBetween(from, to time.Time) time.Duration {
	if !to.After(from) || len(h.Weekly) == 0 {
		return 0
	}
	var spans [][2]time.Time
	y, m, d := from.In(h.Loc).Date()
	for i := 0; ; i++ {
		day := time.Date(y, m, d+i, 12, 0, 0, 0, h.Loc)
		if time.Date(y, m, d+i, 0, 0, 0, 0, h.Loc).After(to) {
			break
		}
		for _, w := range h.windows(day) {
			lo, hi := maxTime(w[0], from), minTime(w[1], to)
			if hi.After(lo) {
				spans = append(spans, [2]time.Time{lo, hi})
			}
		}
	}
	slices.SortFunc(spans, func(a, b [2]time.Time) int { return a[0].Compare(b[0]) })
	var open time.Duration
	var end time.Time
	for _, s := range spans {
		if s[0].Before(end) {
			s[0] = end
		}
		if s[1].After(s[0]) {
			open += s[1].Sub(s[0])
			end = s[1]
		}
	}
	return open
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
