package connector

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// TestSimulatedNumbersNeverReachTheCloudAPI: a number of the simulator goes
// to the simulator, and on an instance that knows none, nowhere: never to
// the real provider with a simulated token.
func TestSimulatedNumbersNeverReachTheCloudAPI(t *testing.T) {
	t.Parallel()
	cloud, simulator := &whatsapp.Client{BaseURL: "https://graph.facebook.com"}, &whatsapp.Client{BaseURL: "http://sim"}
	real, simulated := &ent.Number{Provider: number.ProviderCloud}, &ent.Number{Provider: number.ProviderSim}

	api, err := Providers{Cloud: cloud, Sim: simulator}.For(simulated)
	require.NoError(t, err)
	require.Same(t, simulator, api)
	api, err = Providers{Cloud: cloud, Sim: simulator}.For(real)
	require.NoError(t, err)
	require.Same(t, cloud, api)
	_, err = Providers{Cloud: cloud}.For(simulated)
	require.ErrorIs(t, err, ErrNoSimulator)
}
