package gateway_test

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
)

// Two clients resuming from the same sequence each get the replay, even when
// the second asks once the first's replay has run.
func TestResumeLateJoinerGetsReplay(t *testing.T) {
	t.Parallel()
	b := setup(t)
	conv := firstConversation(t, b)
	tenantID := tenantOf(t, b)
	var seqs []int
	for range 3 {
		e, err := b.s.Bus.Publish(t.Context(), realtime.ConversationEvent(tenantID, conv, realtime.KindStatusChanged))
		require.NoError(t, err)
		seqs = append(seqs, int(e.Seq))
	}
	seen := seqs[0]

	resume := subscribeMsg("r", `subscription { conversationEvents(after: `+strconv.Itoa(seen)+`) { seq } }`)
	for i := range 2 {
		c := b.dial(t, gateway.ProtocolTransportWS)
		c.init(b.token)
		c.send(resume)
		for _, want := range seqs[1:] {
			require.Equal(t, float64(want), event(c.read(), "conversationEvents")["seq"], "client %d", i)
		}
	}
}

// The dashboard's mean first response averages today's first responses,
// read back from the reports.
func TestDashboardFirstResponse(t *testing.T) {
	t.Parallel()
	b := setup(t)
	answerAfter(t, b, 361*time.Second) // with the three seeded ones, answered in 1 s: a mean of 91 s

	c := b.dial(t, gateway.ProtocolTransportWS)
	c.init(b.token)
	c.send(subscribeMsg("d", `subscription { dashboard { averageFirstResponseSeconds } }`))
	require.InDelta(t, 91.0, event(c.read(), "dashboard")["averageFirstResponseSeconds"], 0.001)
}
