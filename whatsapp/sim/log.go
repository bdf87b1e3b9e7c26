package sim

import (
	"slices"
	"time"
)

// Sent is an accepted send, as the log keeps it.
type Sent struct {
	Number        string    `json:"phone_number_id"`
	To            string    `json:"to"`             // the customer's wa_id, or the group id
	RecipientType string    `json:"recipient_type"` // "individual" or "group"
	Type          string    `json:"type"`
	Digest        string    `json:"digest"` // of the type and content: equal for equal bodies
	WAMID         string    `json:"wamid"`
	At            time.Time `json:"at"` // simulated time
	ReplyTo       string    `json:"reply_to,omitempty"`
	CallbackData  string    `json:"biz_opaque_callback_data,omitempty"`
	// Statuses are the status webhooks the receiver acknowledged, in the
	// order they were posted; a duplicated webhook appears twice.
	Statuses []string `json:"statuses"`
}

// maxLogEntries bounds the log, and the index of customers' messages, of a
// long-running simulator; the oldest tenth goes when one is full.
const maxLogEntries = 100_000

type sentEntry struct {
	Sent
	choices []choice // interactive: what the customer may answer
	pricing pricing  // how the message is billed, said by its statuses
}

// pricing is the pricing object of a message's statuses.
type pricing struct {
	category, typ string
	billable      bool
}

type sentLog struct {
	entries []*sentEntry
	byWAMID map[string]*sentEntry
	// The last message, and the last interactive one, sent to each
	// customer: what simulated customers react and answer to.
	last, lastInteractive map[pair]*sentEntry
}

func newSentLog() sentLog {
	return sentLog{byWAMID: map[string]*sentEntry{}, last: map[pair]*sentEntry{}, lastInteractive: map[pair]*sentEntry{}}
}

func (l *sentLog) add(e *sentEntry) {
	if len(l.entries) >= maxLogEntries {
		drop := maxLogEntries / 10
		for _, old := range l.entries[:drop] {
			l.forget(old)
		}
		l.entries = slices.Delete(l.entries, 0, drop)
	}
	l.entries = append(l.entries, e)
	l.byWAMID[e.WAMID] = e
	customer := pair{e.Number, e.To}
	l.last[customer] = e
	if len(e.choices) > 0 {
		l.lastInteractive[customer] = e
	}
}

func (l *sentLog) forget(e *sentEntry) {
	delete(l.byWAMID, e.WAMID)
	customer := pair{e.Number, e.To}
	if l.last[customer] == e {
		delete(l.last, customer)
	}
	if l.lastInteractive[customer] == e {
		delete(l.lastInteractive, customer)
	}
}

// Log returns every accepted send, oldest first.
func (s *Simulator) Log() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Sent, len(s.log.entries))
	for i, e := range s.log.entries {
		out[i] = e.Sent
		out[i].Statuses = slices.Clone(e.Statuses)
	}
	return out
}

// ClearLog empties the log, between the phases of a benchmark say.
func (s *Simulator) ClearLog() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.log = newSentLog()
}

// Duplicates returns the sends that repeat an earlier one: same number,
// recipient and body. A consumer that sends each message once has none.
func Duplicates(log []Sent) []Sent {
	type key struct{ number, to, digest string }
	seen := map[key]bool{}
	var out []Sent
	for _, s := range log {
		k := key{s.Number, s.To, s.Digest}
		if seen[k] {
			out = append(out, s)
		}
		seen[k] = true
	}
	return out
}

// inboundIndex remembers which number each customer message went to, for
// mark-as-read, bounded like the log.
type inboundIndex struct {
	order   []string
	byWAMID map[string]pair
}

func newInboundIndex() inboundIndex { return inboundIndex{byWAMID: map[string]pair{}} }

func (ix *inboundIndex) add(wamid string, p pair) {
	if len(ix.order) >= maxLogEntries {
		drop := maxLogEntries / 10
		for _, old := range ix.order[:drop] {
			delete(ix.byWAMID, old)
		}
		ix.order = slices.Delete(ix.order, 0, drop)
	}
	ix.order = append(ix.order, wamid)
	ix.byWAMID[wamid] = p
}
