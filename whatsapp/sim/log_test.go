package sim_test

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

func TestLogFindsDuplicates(t *testing.T) {
	t.Parallel()
	b := setup(t)
	for _, to := range []string{testCustomer, "34600000001"} {
		b.customerWrites(t, to)
	}
	send := func(to, body string) string {
		wamid, err := b.client.SendText(t.Context(), testNumber, testToken, to, body, "")
		require.NoError(t, err)
		return wamid
	}

	send(testCustomer, "Your order has shipped")
	send("34600000001", "Your order has shipped")
	send(testCustomer, "Your order has arrived")
	again := send(testCustomer, "Your order has shipped")

	log := b.sim.Log()
	require.Len(t, log, 4)
	require.NotEqual(t, log[0].Digest, log[2].Digest)
	dups := sim.Duplicates(log)
	require.Len(t, dups, 1)
	require.Equal(t, again, dups[0].WAMID)

	b.sim.ClearLog()
	require.Empty(t, b.sim.Log())
}

func TestDigestIgnoresKeyOrderAndSpacing(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.customerWrites(t, testCustomer)

	for _, body := range []string{
		`{"messaging_product":"whatsapp","to":"16505551234","type":"text","text":{"preview_url":false,"body":"hi"}}`,
		`{"type":"text", "text": {"body": "hi", "preview_url": false}, "to": "16505551234", "messaging_product": "whatsapp"}`,
	} {
		req, err := http.NewRequest(http.MethodPost, b.url+"/v21.0/"+testNumber+"/messages", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.NoError(t, resp.Body.Close())
	}

	require.Len(t, sim.Duplicates(b.sim.Log()), 1)
}

func TestLogKeepsCallbackDataAndReplies(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inbound := b.customerWrites(t, testCustomer)
	_, err := b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Yes", inbound)
	require.NoError(t, err)
	b.sendTemplate(t, testCustomer)

	log := b.sim.Log()
	require.Equal(t, inbound, log[0].ReplyTo)
	require.Equal(t, "individual", log[0].RecipientType)
	require.Equal(t, "campaign-7", log[1].CallbackData)
	require.WithinDuration(t, b.sim.Now(), log[1].At, time.Second)
}
