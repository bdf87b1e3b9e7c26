package clock_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/clock"
)

func TestFakeMovesOnlyWhenTold(t *testing.T) {
	t.Parallel()
	start := time.Date(2026, 3, 29, 0, 30, 0, 0, time.UTC)
	c := clock.NewFake(start)
	require.Equal(t, start, c.Now())
	require.Equal(t, start.Add(90*time.Minute), c.Advance(90*time.Minute))
	require.Equal(t, start.Add(90*time.Minute), c.Now())
	c.Set(start)
	require.Equal(t, start, c.Now())
}

func TestRealFollowsTheSystem(t *testing.T) {
	t.Parallel()
	before := time.Now()
	now := clock.Real().Now()
	require.False(t, now.Before(before))
	require.WithinDuration(t, time.Now(), now, time.Second)
}
