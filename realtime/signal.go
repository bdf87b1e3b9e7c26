package realtime

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// Signal is an ephemeral notice between instances, such as "this agent is
// looking at that conversation": it has no Seq, is never stored nor
// replayed, and an instance that is not listening when it is sent never
// gets it. Senders repeat what must last (a look is renewed every few
// seconds) and receivers let it expire. It costs no database write on any
// bus: the memory bus hands it over in process, NATS sends it on a core
// subject outside the stream, PostgreSQL in a NOTIFY alone.
type Signal struct {
	TenantID string
	// Type says what it is, e.g. "conversation.looking".
	Type    string
	Subject string
	// Data is at most MaxSignalBytes of JSON.
	Data json.RawMessage
}

// MaxSignalBytes bounds Signal.Data: a signal is a small fact, and it must fit
// a PostgreSQL notification (8,000 bytes) with its envelope.
const MaxSignalBytes = 1024

// signals holds the one function a bus hands its instance's signals to.
type signals struct {
	mu      sync.RWMutex
	handler func(Signal)
}

// HandleSignals sets fn as the receiver of every signal this instance gets,
// of every tenant (nil: drop them). fn is called from the bus's receiving
// goroutine: it must return quickly.
func (s *signals) HandleSignals(fn func(Signal)) {
	s.mu.Lock()
	s.handler = fn
	s.mu.Unlock()
}

func (s *signals) dispatch(sig Signal) {
	s.mu.RLock()
	fn := s.handler
	s.mu.RUnlock()
	if fn != nil {
		fn(sig)
	}
}

// prepareSignal checks a signal before it is sent.
func prepareSignal(s Signal) (Signal, error) {
	if err := checkTenantID(s.TenantID); err != nil {
		return Signal{}, err
	}
	if s.Type == "" {
		return Signal{}, errors.New("realtime: signal without a type")
	}
	if len(s.Data) > MaxSignalBytes {
		return Signal{}, fmt.Errorf("realtime: %s signal data is %d bytes, more than %d", s.Type, len(s.Data), MaxSignalBytes)
	}
	if len(s.Data) == 0 || bytes.Equal(s.Data, []byte("null")) {
		s.Data = nil
	} else if !json.Valid(s.Data) {
		return Signal{}, fmt.Errorf("realtime: %s signal data is not JSON", s.Type)
	}
	return s, nil
}

// wireSignal is a Signal as NATS messages and PostgreSQL notifications carry
// it; Sig tells a notification holding a signal from one holding an event.
type wireSignal struct {
	Sig      bool            `json:"sig"`
	TenantID string          `json:"t"`
	Type     string          `json:"y"`
	Subject  string          `json:"j,omitempty"`
	Data     json.RawMessage `json:"d,omitempty"`
}

// encodeSignal checks s and returns it as the wire carries it.
func encodeSignal(s Signal) ([]byte, error) {
	s, err := prepareSignal(s)
	if err != nil {
		return nil, err
	}
	return json.Marshal(wireSignal{Sig: true, TenantID: s.TenantID, Type: s.Type, Subject: s.Subject, Data: s.Data})
}

// decodeSignal reads a payload; ok is false when it is not a signal.
func decodeSignal(payload []byte) (s Signal, ok bool, err error) {
	if !bytes.Contains(payload, []byte(`"sig":true`)) {
		return Signal{}, false, nil
	}
	var w wireSignal
	if err := json.Unmarshal(payload, &w); err != nil {
		return Signal{}, true, fmt.Errorf("decode signal: %w", err)
	}
	if !w.Sig {
		return Signal{}, false, nil
	}
	return Signal{TenantID: w.TenantID, Type: w.Type, Subject: w.Subject, Data: w.Data}, true, nil
}
