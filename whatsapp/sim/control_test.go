package sim_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// control calls the control API; out, when given, receives the JSON answer.
func (b *testBundle) control(t *testing.T, method, path string, in, out any) int {
	t.Helper()
	var body bytes.Buffer
	if in != nil {
		require.NoError(t, json.NewEncoder(&body).Encode(in))
	}
	req, err := http.NewRequest(method, b.url+path, &body)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	if out != nil && resp.StatusCode == http.StatusOK {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

func TestControlFaults(t *testing.T) {
	t.Parallel()
	b := setup(t)
	want := map[string]any{"duplicate_rate": 0.5, "reorder_rate": 0.25, "fail_rate": 0.1, "fail_code": float64(131049),
		"fail_recipients": map[string]any{testCustomer: float64(131026)}, "latency": "20ms"}

	var got map[string]any
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPut, "/_sim/faults", want, &got))
	require.Equal(t, want, got)
	require.Equal(t, 20*time.Millisecond, b.sim.Faults().Latency)
	require.Equal(t, http.StatusOK, b.control(t, http.MethodGet, "/_sim/faults", nil, &got))
	require.Equal(t, want, got)

	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPut, "/_sim/faults", map[string]any{"duplicate_rate": 2}, nil))
	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPut, "/_sim/faults", map[string]any{"latency": "soon"}, nil))
}

func TestControlOutageAndClock(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPut, "/_sim/outage", map[string]any{"duration": "1m", "status": 500}, nil))
	_, err := b.client.HealthCheck(t.Context(), testNumber, testToken)
	requireAPIError(t, err, http.StatusInternalServerError, whatsapp.CodeSomethingWentWrong)

	var clock struct {
		Now time.Time `json:"now"`
	}
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPost, "/_sim/clock", map[string]any{"advance": "2m"}, &clock))
	require.WithinDuration(t, time.Now().Add(2*time.Minute), clock.Now, time.Second)
	_, err = b.client.HealthCheck(t.Context(), testNumber, testToken)
	require.NoError(t, err, "simulated time ran past the outage")

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPut, "/_sim/outage", map[string]any{"duration": "1h"}, nil))
	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodDelete, "/_sim/outage", nil, nil))
	_, err = b.client.HealthCheck(t.Context(), testNumber, testToken)
	require.NoError(t, err)
	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPut, "/_sim/outage", map[string]any{"duration": "1h", "status": 404}, nil))
}

func TestControlNumbers(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPost, "/_sim/numbers", sim.Number{PhoneNumberID: "200", Token: "second"}, nil))
	var numbers []sim.Number
	require.Equal(t, http.StatusOK, b.control(t, http.MethodGet, "/_sim/numbers", nil, &numbers))
	require.Len(t, numbers, 2)
	for _, n := range numbers {
		require.Empty(t, n.Token, "tokens stay out of the listing")
	}

	var changed sim.Number
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPatch, "/_sim/numbers/"+testNumber,
		map[string]any{"quality_rating": "RED", "messaging_limit_tier": "TIER_10K", "throughput": 200}, &changed))
	require.Equal(t, "RED", changed.Quality)
	require.Equal(t, "FLAGGED", changed.Status)
	require.Equal(t, "TIER_10K", changed.Tier)
	require.Equal(t, 200, changed.Throughput)
	b.hooks.waitField(t, whatsapp.FieldQualityUpdate, 2)

	require.Equal(t, http.StatusNotFound, b.control(t, http.MethodPatch, "/_sim/numbers/999", map[string]any{"status": "BANNED"}, nil))
	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPatch, "/_sim/numbers/"+testNumber, map[string]any{"status": "ASLEEP"}, nil))
}

func TestControlInbound(t *testing.T) {
	t.Parallel()
	b := setup(t)

	var out map[string]string
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPost, "/_sim/inbound", map[string]any{
		"phone_number_id": testNumber, "from": testCustomer, "profile_name": "Sheena Nelson",
		"message": map[string]any{"type": "location", "location": map[string]any{"latitude": 38.7, "longitude": -9.1}},
	}, &out))

	_, got := b.hooks.waitMessage(t, out["id"])
	require.Equal(t, &whatsapp.Location{Latitude: 38.7, Longitude: -9.1}, got.Location)
	require.Equal(t, "Sheena Nelson", got.ProfileName)
	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPost, "/_sim/inbound", map[string]any{
		"phone_number_id": testNumber, "from": testCustomer, "message": map[string]any{"type": "text"},
	}, nil))
	require.Equal(t, http.StatusNotFound, b.control(t, http.MethodPost, "/_sim/inbound", map[string]any{
		"phone_number_id": "999", "from": testCustomer, "message": map[string]any{"type": "text", "text": map[string]any{"body": "hi"}},
	}, nil))
}

func TestControlCustomers(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPut, "/_sim/customers", map[string]any{"rate": 500}, nil))
	b.hooks.waitField(t, whatsapp.FieldMessages, 5)
	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodDelete, "/_sim/customers", nil, nil))
	require.Equal(t, http.StatusBadRequest, b.control(t, http.MethodPut, "/_sim/customers", map[string]any{"rate": 0}, nil))
}

func TestControlGroups(t *testing.T) {
	t.Parallel()
	b := setup(t)
	created := b.createGroup(t, "approval_required")

	var joined map[string]any
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPost, "/_sim/join",
		map[string]any{"invite_link": created.InviteLink, "wa_id": testCustomer, "profile_name": "Sheena Nelson"}, &joined))
	require.Equal(t, false, joined["joined"])
	require.NotEmpty(t, joined["join_request_id"])

	status, out := b.call(t, http.MethodPost, "/v23.0/"+created.GroupID+"/join_requests", testToken,
		map[string]any{"messaging_product": "whatsapp", "join_requests": []any{joined["join_request_id"]}})
	require.Equal(t, http.StatusOK, status, out)

	var g sim.Group
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPatch, "/_sim/groups/"+created.GroupID, map[string]any{"admins_only": true}, &g))
	require.True(t, g.IsAdminsOnly)
	require.Equal(t, http.StatusOK, b.control(t, http.MethodPut, "/_sim/groups/"+created.GroupID+"/admins/"+testCustomer, nil, &g))
	require.Equal(t, []string{testCustomer}, g.Admins)
	require.Equal(t, http.StatusOK, b.control(t, http.MethodDelete, "/_sim/groups/"+created.GroupID+"/admins/"+testCustomer, nil, &g))
	require.Empty(t, g.Admins)
	require.Equal(t, http.StatusNotFound, b.control(t, http.MethodPatch, "/_sim/groups/nope", map[string]any{"admins_only": true}, nil))
}

func TestControlLog(t *testing.T) {
	t.Parallel()
	b := setup(t)
	wamid := b.sendTemplate(t, testCustomer)
	b.hooks.waitStatuses(t, wamid, 3)

	require.Eventually(t, func() bool { return len(b.sim.Log()[0].Statuses) == 3 }, waitFor, time.Millisecond)

	var log []sim.Sent
	require.Equal(t, http.StatusOK, b.control(t, http.MethodGet, "/_sim/log", nil, &log))
	require.Len(t, log, 1)
	require.Equal(t, []string{"sent", "delivered", "read"}, log[0].Statuses)
	require.Equal(t, wamid, log[0].WAMID)
	require.Equal(t, "template", log[0].Type)

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodDelete, "/_sim/log", nil, nil))
	require.Empty(t, b.sim.Log())
}

func TestControlPairInterval(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.customerWrites(t, testCustomer)
	send := func() error {
		_, err := b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Your table is ready", "")
		return err
	}

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPut, "/_sim/pair_interval", map[string]any{"interval": "0s"}, nil))
	require.NoError(t, send())
	requireAPIError(t, send(), http.StatusBadRequest, whatsapp.CodePairRateLimit)

	require.Equal(t, http.StatusNoContent, b.control(t, http.MethodPut, "/_sim/pair_interval", map[string]any{"interval": "-1s"}, nil))
	require.NoError(t, send())
}
