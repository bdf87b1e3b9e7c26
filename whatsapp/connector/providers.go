package connector

import (
	"context"
	"errors"
	"slices"
	"strings"

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

// Proves asks n's provider whether token reads n's phone number id, and
// whether the provider knows that id under n's phone and, when n names one,
// in n's business account: the proof that the number is the tenant's before
// any webhook is routed to it (by id, by phone, by business account). A
// refusal (an unknown id, a token of someone else, an id that is not a Graph
// id) is false; an error means the provider could not be asked (no answer,
// an outage, throttled), which proves nothing either way.
func (p Providers) Proves(ctx context.Context, n *ent.Number, token string) (bool, error) {
	if n.PhoneNumberID == nil {
		return false, nil
	}
	api, err := p.For(n)
	if err != nil {
		return false, err
	}
	got, err := api.HealthCheck(ctx, *n.PhoneNumberID, token)
	if err != nil || !confirms(got, n) {
		return false, refusal(err)
	}
	if n.WabaID == "" {
		return true, nil
	}
	numbers, err := api.BusinessNumbers(ctx, n.WabaID, token)
	if err != nil {
		return false, refusal(err)
	}
	return slices.ContainsFunc(numbers, func(h whatsapp.NumberHealth) bool { return h.ID == *n.PhoneNumberID }), nil
}

// refusal is the error of a failed proof: nil when the provider answered no
// (it proves the number is not the token's), err when it could not be asked.
func refusal(err error) error {
	switch {
	case err == nil, errors.Is(err, whatsapp.ErrInvalidRequest):
		return nil
	case whatsapp.IsRetryable(err):
		return err
	case errors.As(err, new(*whatsapp.APIError)):
		return nil
	}
	return err // an answer that could not be read
}

// confirms tells whether a health read is about n: its phone number id,
// under its phone (the display number's digits, "+1 631-555-1111" for
// +16315551111).
func confirms(got *whatsapp.NumberHealth, n *ent.Number) bool {
	return n.PhoneNumberID != nil && got.ID == *n.PhoneNumberID && digits(got.DisplayPhone) == digits(n.Phone) && digits(n.Phone) != ""
}

func digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r < '0' || r > '9' {
			return -1
		}
		return r
	}, s)
}
