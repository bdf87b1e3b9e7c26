package sim

import (
	"slices"
	"strings"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// Engagement is how a customer treats what the business sends: the
// probability, 0 to 1, that they read a message, and that having read it they
// write back. A customer with none set reads everything and never answers.
type Engagement struct {
	Read, Reply float64
}

// Outcome is what a customer did with one message: the ground truth a
// broadcast's read and reply rates are checked against.
type Outcome struct {
	WAMID     string `json:"wamid"`
	Number    string `json:"phone_number_id"`
	To        string `json:"to"`
	Delivered bool   `json:"delivered"`
	Read      bool   `json:"read"`
	Replied   bool   `json:"replied"`
}

// SetEngagement sets how customer waID reads and answers from now on.
func (s *Simulator) SetEngagement(waID string, e Engagement) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.engagement == nil {
		s.engagement = map[string]Engagement{}
	}
	s.engagement[waID] = e
}

// Outcomes lists what customers did with the messages sent to those whose
// engagement is set, in wamid order.
func (s *Simulator) Outcomes() []Outcome {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Outcome, 0, len(s.outcomes))
	for _, o := range s.outcomes {
		out = append(out, *o)
	}
	slices.SortFunc(out, func(a, b Outcome) int { return strings.Compare(a.WAMID, b.WAMID) })
	return out
}

// engage decides, with s.mu held, whether the customer of e reads it and
// answers it; set is false for a customer without engagement (reads all,
// never answers).
func (s *Simulator) engage(e *sentEntry) (read, reply, set bool) {
	g, ok := s.engagement[e.To]
	if !ok || e.RecipientType == "group" {
		return true, false, false
	}
	read = s.chance(g.Read)
	reply = read && s.chance(g.Reply)
	if s.outcomes == nil {
		s.outcomes = map[string]*Outcome{}
	}
	s.outcomes[e.WAMID] = &Outcome{WAMID: e.WAMID, Number: e.Number, To: e.To}
	return read, reply, true
}

// noteOutcome records, with s.mu held, a status posted to a tracked customer.
func (s *Simulator) noteOutcome(wamid, status string) {
	o, ok := s.outcomes[wamid]
	if !ok {
		return
	}
	switch status {
	case whatsapp.StatusDelivered:
		o.Delivered = true
	case whatsapp.StatusRead:
		o.Read = true
	}
}

// answer has the customer of e write back to it, after reading it.
func (s *Simulator) answer(e *sentEntry) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.writeIn(e.Number, e.To, whatsapp.Message{Type: "text", Text: customerReplies[0],
		Context: &whatsapp.Context{MessageID: e.WAMID}}); err == nil {
		if o, ok := s.outcomes[e.WAMID]; ok {
			o.Replied = true
		}
	}
}
