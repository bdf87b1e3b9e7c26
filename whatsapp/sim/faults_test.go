package sim_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

var helloWorld = whatsapp.Template{Name: "hello_world", Language: "en_US"}

// requireAPIError checks that err is the Cloud API error code with this HTTP status.
func requireAPIError(t *testing.T, err error, status, code int) *whatsapp.APIError {
	t.Helper()
	apiErr, ok := errors.AsType[*whatsapp.APIError](err)
	require.True(t, ok, "want API error %d, got %v", code, err)
	require.Equal(t, code, apiErr.Code, apiErr.Error())
	require.Equal(t, status, apiErr.Status)
	return apiErr
}

func TestThroughputLimit(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) { c.Numbers[0].Throughput = 3 })
	send := func(i int) error {
		_, err := b.client.SendTemplate(t.Context(), testNumber, testToken, fmt.Sprintf("3460000000%d", i), helloWorld, "")
		return err
	}

	for i := range 3 {
		require.NoError(t, send(i))
	}
	apiErr := requireAPIError(t, send(3), http.StatusBadRequest, whatsapp.CodeThroughput)
	require.True(t, apiErr.Retryable())

	require.NoError(t, b.sim.Advance(time.Second))
	require.NoError(t, send(4), "a second later the bucket has refilled")
	require.Len(t, b.sim.Log(), 4, "a refused send is not logged")
}

func TestPairRateLimit(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name         string
		pairInterval time.Duration
		wantRefused  bool
	}{
		{"default: one message per 6 s", 0, true},
		{"disabled for load tests", -1, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *sim.Config) { c.PairInterval = tt.pairInterval })
			b.customerWrites(t, testCustomer)
			send := func(to string) error {
				_, err := b.client.SendText(t.Context(), testNumber, testToken, to, "Your table is ready", "")
				return err
			}

			require.NoError(t, send(testCustomer))
			err := send(testCustomer)
			if !tt.wantRefused {
				require.NoError(t, err)
				return
			}
			apiErr := requireAPIError(t, err, http.StatusBadRequest, whatsapp.CodePairRateLimit)
			require.True(t, apiErr.Retryable())

			b.customerWrites(t, "16505550000")
			require.NoError(t, send("16505550000"), "another customer is another pair")
			require.NoError(t, b.sim.Advance(sim.DefaultPairInterval))
			require.NoError(t, send(testCustomer))
		})
	}
}

func TestCustomerWindow(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name        string
		wroteAgo    time.Duration // < 0: never wrote
		isTemplate  bool
		wantRefused bool
	}{
		{"never wrote: text refused", -1, false, true},
		{"never wrote: template allowed", -1, true, false},
		{"wrote 23 h ago: text allowed", 23 * time.Hour, false, false},
		{"wrote 24 h ago: text refused", 24 * time.Hour, false, true},
		{"wrote 24 h ago: template allowed", 24 * time.Hour, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			if tt.wroteAgo >= 0 {
				b.customerWrites(t, testCustomer)
				require.NoError(t, b.sim.Advance(tt.wroteAgo))
			}

			var err error
			if tt.isTemplate {
				_, err = b.client.SendTemplate(t.Context(), testNumber, testToken, testCustomer, helloWorld, "")
			} else {
				_, err = b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Still there?", "")
			}

			if !tt.wantRefused {
				require.NoError(t, err)
				return
			}
			apiErr := requireAPIError(t, err, http.StatusBadRequest, whatsapp.CodeOutsideWindow)
			require.True(t, apiErr.Permanent())
			require.Empty(t, b.sim.Log())
		})
	}
}

func TestOutage(t *testing.T) {
	t.Parallel()

	tests := []struct {
		status   int
		wantCode int
	}{
		{http.StatusServiceUnavailable, whatsapp.CodeAPIService},
		{http.StatusInternalServerError, whatsapp.CodeSomethingWentWrong},
	}
	for _, tt := range tests {
		t.Run(http.StatusText(tt.status), func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			require.NoError(t, b.sim.StartOutage(time.Minute, tt.status))

			_, err := b.client.SendTemplate(t.Context(), testNumber, testToken, testCustomer, helloWorld, "")
			apiErr := requireAPIError(t, err, tt.status, tt.wantCode)
			require.True(t, apiErr.Retryable())
			_, err = b.client.HealthCheck(t.Context(), testNumber, testToken)
			requireAPIError(t, err, tt.status, tt.wantCode)

			require.NoError(t, b.sim.Advance(time.Minute))
			_, err = b.client.SendTemplate(t.Context(), testNumber, testToken, testCustomer, helloWorld, "")
			require.NoError(t, err, "the outage is over")
		})
	}
}

func TestEndOutage(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.Error(t, b.sim.StartOutage(time.Minute, http.StatusBadGateway), "an outage answers 500 or 503")
	require.NoError(t, b.sim.StartOutage(time.Hour, 0))

	b.sim.EndOutage()

	_, err := b.client.HealthCheck(t.Context(), testNumber, testToken)
	require.NoError(t, err)
}

func TestLatency(t *testing.T) {
	t.Parallel()
	b := setup(t)
	require.NoError(t, b.sim.SetFaults(sim.Faults{Latency: 50 * time.Millisecond}))

	start := time.Now()
	_, err := b.client.SendTemplate(t.Context(), testNumber, testToken, testCustomer, helloWorld, "")

	require.NoError(t, err)
	require.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
}

func TestSetFaultsRefusesWhatIsNotAProbability(t *testing.T) {
	t.Parallel()
	b := setup(t)

	require.Error(t, b.sim.SetFaults(sim.Faults{DuplicateRate: 1.5}))
	require.Error(t, b.sim.SetFaults(sim.Faults{FailRate: -0.1}))
	require.Error(t, b.sim.SetFaults(sim.Faults{Latency: -time.Second}))

	want := sim.Faults{ReorderRate: 0.5, FailRecipients: map[string]int{testCustomer: 131026}}
	require.NoError(t, b.sim.SetFaults(want))
	require.Equal(t, want, b.sim.Faults())
}
