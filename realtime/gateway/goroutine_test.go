package gateway_test

import (
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

// TestGoroutinesPerConnectionNotPerSubscription: an idle connection costs
// one goroutine (its reader), and subscriptions cost nothing more than the
// executions they share: one question asked 25 times over 5 connections runs
// once, as the group's goroutine and its stream's.
//
// It counts the whole process's goroutines, so it does not run in parallel:
// the package's parallel tests wait until it is done. The test's websocket
// client (coder/websocket) starts no goroutine of its own.
func TestGoroutinesPerConnectionNotPerSubscription(t *testing.T) {
	const (
		connections  = 5
		subsPerConn  = 5
		perExecution = 2 // the group's run and the resolver's stream
		slack        = 3 // goroutines of the runtime, the server or the store that come and go
	)
	b := setup(t)
	idle := settledGoroutines(t)

	var clients []*client
	for range connections {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(b.token)
		clients = append(clients, c)
	}
	requireGoroutinesAtMost(t, idle+connections+slack, fmt.Sprint(connections, " idle connections"))
	connected := settledGoroutines(t)

	for _, c := range clients {
		for i := range subsPerConn {
			c.send(subscribeMsg(fmt.Sprint("s", i), conversationSub))
		}
	}
	require.Eventually(t, func() bool { return b.s.Gateway.Stats().Subscriptions == connections*subsPerConn },
		5*time.Second, 10*time.Millisecond)
	require.Equal(t, 1, b.s.Gateway.Stats().Executions, "one question, one execution")
	requireGoroutinesAtMost(t, connected+perExecution+slack, fmt.Sprint(connections*subsPerConn, " subscriptions of one question"))
}

// settledGoroutines waits until the number of goroutines holds still between
// two looks and returns it.
func settledGoroutines(t *testing.T) int {
	t.Helper()
	last := -1
	require.Eventually(t, func() bool {
		n := runtime.NumGoroutine()
		still := n == last
		last = n
		return still
	}, 10*time.Second, 50*time.Millisecond, "the number of goroutines never settled")
	return last
}

// requireGoroutinesAtMost waits for the goroutines that come and go to end,
// then requires at most limit.
func requireGoroutinesAtMost(t *testing.T, limit int, what string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.LessOrEqual(c, runtime.NumGoroutine(), limit, what)
	}, 5*time.Second, 50*time.Millisecond)
}
