package sim

import (
	"fmt"
	"maps"
	"net/http"
	"time"
)

// Faults are the misbehaviours of Meta the simulator reproduces on demand.
// The zero value is a well-behaved Cloud API. Rates are probabilities, 0 to 1.
type Faults struct {
	DuplicateRate float64 // share of webhooks posted twice
	ReorderRate   float64 // share of messages whose statuses are posted newest first
	FailRate      float64 // share of accepted messages that end failed instead of delivered
	FailCode      int     // the error code of those failures; 131026 (undeliverable) when 0
	// FailRecipients makes every message to these wa_ids end failed, with
	// the code given.
	FailRecipients map[string]int
	Latency        time.Duration // added before every Cloud API answer
}

func (f Faults) validate() error {
	for name, rate := range map[string]float64{"duplicate": f.DuplicateRate, "reorder": f.ReorderRate, "fail": f.FailRate} {
		if rate < 0 || rate > 1 {
			return fmt.Errorf("sim: %s rate %v is not a probability", name, rate)
		}
	}
	if f.Latency < 0 {
		return fmt.Errorf("sim: negative latency %v", f.Latency)
	}
	return nil
}

// SetFaults replaces the faults in force; SetFaults(Faults{}) ends them all
// but an outage.
func (s *Simulator) SetFaults(f Faults) error {
	if err := f.validate(); err != nil {
		return err
	}
	f.FailRecipients = maps.Clone(f.FailRecipients)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = f
	return nil
}

// Faults returns the faults in force.
func (s *Simulator) Faults() Faults {
	s.mu.Lock()
	defer s.mu.Unlock()
	f := s.faults
	f.FailRecipients = maps.Clone(f.FailRecipients)
	return f
}

// outage makes every Cloud API call fail until a moment of simulated time.
type outage struct {
	until  time.Time
	status int
}

func (o outage) error(now time.Time) *apiError {
	if now.Before(o.until) {
		return errOutage(o.status)
	}
	return nil
}

// StartOutage makes every Cloud API call, health checks included, fail for
// d of simulated time: with HTTP 503 and code 2 (status 503 or 0), or HTTP
// 500 and code 131000 (status 500).
func (s *Simulator) StartOutage(d time.Duration, status int) error {
	if status == 0 {
		status = http.StatusServiceUnavailable
	}
	if status != http.StatusServiceUnavailable && status != http.StatusInternalServerError {
		return fmt.Errorf("sim: an outage answers 500 or 503, not %d", status)
	}
	if d <= 0 {
		return fmt.Errorf("sim: outage duration %v is not positive", d)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = outage{until: s.now().Add(d), status: status}
	return nil
}

// EndOutage ends an outage early.
func (s *Simulator) EndOutage() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outage = outage{}
}
