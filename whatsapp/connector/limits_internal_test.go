package connector

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// The pair interval holds per customer, and the customers written to long
// ago are forgotten: a long-running instance does not grow without bound.
func TestLimitsPairIntervalForgetsLapsedPairs(t *testing.T) {
	l := NewLimits(time.Second)
	now := time.Unix(0, 0)
	require.Zero(t, l.Reserve("n", 1000, "a", now))
	require.Equal(t, time.Second, l.Reserve("n", 1000, "a", now), "the same customer waits out the interval")

	for i := range 100_000 {
		now = now.Add(10 * time.Millisecond)
		require.Zero(t, l.Reserve("n", 1000, fmt.Sprint("customer ", i), now))
	}
	// 100 customers are still inside their interval; lapsed ones are swept
	// whenever the map doubles.
	require.LessOrEqual(t, len(l.pairs), 2*1024)
}
