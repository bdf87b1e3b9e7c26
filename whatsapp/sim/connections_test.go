package sim_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// The simulator posts at most WebhookConnections webhooks at once, over
// connections it keeps: the rest wait their turn and all arrive. Unbounded,
// a thousand sends a second were three thousand concurrent POSTs, each on a
// new connection.
func TestWebhooksShareABoundedSetOfConnections(t *testing.T) {
	t.Parallel()
	var inFlight, most, got atomic.Int64
	release := make(chan struct{})
	var conns sync.Map // remote addresses seen: the connections used
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		conns.Store(r.RemoteAddr, true)
		n := inFlight.Add(1)
		for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
		}
		<-release
		inFlight.Add(-1)
		got.Add(1)
	}))
	t.Cleanup(hooks.Close)
	s, err := sim.New(sim.Config{WebhookURL: hooks.URL, AppSecret: testSecret, WebhookConnections: 3,
		Numbers: []sim.Number{{PhoneNumberID: testNumber, Token: testToken, DisplayPhone: testDisplay}}, PairInterval: -1, Seed: 1})
	require.NoError(t, err)
	t.Cleanup(s.Close)
	var freed sync.Once
	free := func() { freed.Do(func() { close(release) }) }
	t.Cleanup(free) // runs first: a failed test does not leave the POSTs blocked

	const n = 30
	for i := range n {
		_, err := s.WriteIn(testNumber, fmt.Sprintf("1650555%04d", i), whatsapp.Message{Text: "hello"})
		require.NoError(t, err)
	}
	require.Eventually(t, func() bool { return inFlight.Load() == 3 }, waitFor, time.Millisecond, "three POSTs in flight")
	time.Sleep(50 * time.Millisecond) // room for a fourth, if one could start
	require.EqualValues(t, 3, most.Load(), "never more than WebhookConnections at once")
	free()
	require.Eventually(t, func() bool { return got.Load() == n }, waitFor, time.Millisecond, "every webhook arrives")
	used := 0
	conns.Range(func(any, any) bool { used++; return true })
	require.LessOrEqual(t, used, 3, "the connections are kept and reused")
}
