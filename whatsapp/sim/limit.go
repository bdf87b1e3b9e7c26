package sim

import "time"

// bucket is a token bucket holding one second of a number's throughput: a
// burst of that many messages, then that many per second.
type bucket struct {
	tokens float64
	last   time.Time
}

// take reports whether one more message fits at now, and counts it if so.
func (b *bucket) take(now time.Time, perSecond int) bool {
	rate := float64(perSecond)
	if b.last.IsZero() {
		b.tokens = rate
	} else {
		b.tokens = min(rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	}
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}
