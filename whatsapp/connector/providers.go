package connector

import (
	"errors"

	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Providers are the APIs a number's calls go to, by the number's provider:
// the Cloud API for real numbers, the simulator for the simulator's
// (provider sim). A simulated number's token never reaches the real
// provider, whatever the instance is configured with.
type Providers struct {
	Cloud *whatsapp.Client
	// Sim serves the numbers whose provider is sim: the simulator this
	// instance runs, or the one another instance runs (SWITCHBOARD_SIM_URL).
	// Nil: calls for those numbers fail with ErrNoSimulator.
	Sim *whatsapp.Client
}

// ErrNoSimulator: a number of the simulator, on an instance that knows no
// simulator.
var ErrNoSimulator = errors.New("the number is the simulator's and this instance knows no simulator (set SWITCHBOARD_SIM_URL)")

// For is the API n's calls go to.
func (p Providers) For(n *ent.Number) (*whatsapp.Client, error) {
	if n.Provider != number.ProviderSim {
		return p.Cloud, nil
	}
	if p.Sim == nil {
		return nil, ErrNoSimulator
	}
	return p.Sim, nil
}
