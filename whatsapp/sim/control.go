package sim

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// controlRoutes serve the JSON control API under /_sim/. Durations are Go
// duration strings ("250ms", "25h").
func (s *Simulator) controlRoutes(mux *http.ServeMux) {
	mux.HandleFunc("GET /_sim/log", s.control(func(*http.Request) (any, error) { return s.Log(), nil }))
	mux.HandleFunc("DELETE /_sim/log", s.control(func(*http.Request) (any, error) { s.ClearLog(); return nil, nil }))
	mux.HandleFunc("GET /_sim/faults", s.control(func(*http.Request) (any, error) { return faultsToWire(s.Faults()), nil }))
	mux.HandleFunc("PUT /_sim/faults", s.control(s.putFaults))
	mux.HandleFunc("PUT /_sim/outage", s.control(s.putOutage))
	mux.HandleFunc("DELETE /_sim/outage", s.control(func(*http.Request) (any, error) { s.EndOutage(); return nil, nil }))
	mux.HandleFunc("GET /_sim/clock", s.control(func(*http.Request) (any, error) { return clockWire{Now: s.Now()}, nil }))
	mux.HandleFunc("POST /_sim/clock", s.control(s.advanceClock))
	mux.HandleFunc("PUT /_sim/pair_interval", s.control(s.putPairInterval))
	mux.HandleFunc("GET /_sim/numbers", s.control(s.listNumbers))
	mux.HandleFunc("POST /_sim/numbers", s.control(s.postNumber))
	mux.HandleFunc("PATCH /_sim/numbers/{id}", s.control(s.patchNumber))
	mux.HandleFunc("POST /_sim/inbound", s.control(s.postInbound))
	mux.HandleFunc("PUT /_sim/customers", s.control(s.putCustomers))
	mux.HandleFunc("DELETE /_sim/customers", s.control(func(*http.Request) (any, error) { s.stopCustomers(); return nil, nil }))
	mux.HandleFunc("POST /_sim/join", s.control(s.postJoin))
	mux.HandleFunc("PATCH /_sim/groups/{id}", s.control(s.patchGroup))
	mux.HandleFunc("PUT /_sim/groups/{id}/admins/{wa_id}", s.control(s.setAdmin(true)))
	mux.HandleFunc("DELETE /_sim/groups/{id}/admins/{wa_id}", s.control(s.setAdmin(false)))
	mux.HandleFunc("GET /_sim/media/{id}/content", s.downloadMedia)
}

// control wraps a control API handler: JSON out, {"error": ...} with a 400
// (404 for an unknown number or group) on failure, 204 when there is nothing
// to say.
func (s *Simulator) control(h func(*http.Request) (any, error)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		out, err := h(r)
		switch {
		case errors.Is(err, ErrUnknownNumber) || errors.Is(err, ErrUnknownGroup):
			writeJSON(w, http.StatusNotFound, map[string]string{"error": err.Error()})
		case err != nil:
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
		case out == nil:
			w.WriteHeader(http.StatusNoContent)
		default:
			writeJSON(w, http.StatusOK, out)
		}
	}
}

func readJSON(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBytes))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("sim: the body is not the expected JSON: %w", err)
	}
	return nil
}

// parseDuration reads an optional Go duration string.
func parseDuration(name, s string) (time.Duration, error) {
	if s == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("sim: %s: %w", name, err)
	}
	return d, nil
}

// faultsWire is Faults as the control API reads and writes it.
type faultsWire struct {
	DuplicateRate  float64        `json:"duplicate_rate"`
	ReorderRate    float64        `json:"reorder_rate"`
	FailRate       float64        `json:"fail_rate"`
	FailCode       int            `json:"fail_code,omitempty"`
	FailRecipients map[string]int `json:"fail_recipients,omitempty"`
	Latency        string         `json:"latency,omitempty"`
}

func faultsToWire(f Faults) faultsWire {
	w := faultsWire{DuplicateRate: f.DuplicateRate, ReorderRate: f.ReorderRate, FailRate: f.FailRate, FailCode: f.FailCode, FailRecipients: f.FailRecipients}
	if f.Latency > 0 {
		w.Latency = f.Latency.String()
	}
	return w
}

// putFaults replaces the faults in force: PUT /_sim/faults.
func (s *Simulator) putFaults(r *http.Request) (any, error) {
	var w faultsWire
	if err := readJSON(r, &w); err != nil {
		return nil, err
	}
	latency, err := parseDuration("latency", w.Latency)
	if err != nil {
		return nil, err
	}
	f := Faults{DuplicateRate: w.DuplicateRate, ReorderRate: w.ReorderRate, FailRate: w.FailRate, FailCode: w.FailCode, FailRecipients: w.FailRecipients, Latency: latency}
	if err := s.SetFaults(f); err != nil {
		return nil, err
	}
	return faultsToWire(s.Faults()), nil
}

// putOutage starts an outage: PUT /_sim/outage {"duration":"30s","status":503}.
func (s *Simulator) putOutage(r *http.Request) (any, error) {
	var in struct {
		Duration string `json:"duration"`
		Status   int    `json:"status"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	d, err := parseDuration("duration", in.Duration)
	if err != nil {
		return nil, err
	}
	return nil, s.StartOutage(d, in.Status)
}

type clockWire struct {
	Now time.Time `json:"now"`
}

// advanceClock moves simulated time: POST /_sim/clock {"advance":"25h"}.
func (s *Simulator) advanceClock(r *http.Request) (any, error) {
	var in struct {
		Advance string `json:"advance"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	d, err := parseDuration("advance", in.Advance)
	if err != nil {
		return nil, err
	}
	if err := s.Advance(d); err != nil {
		return nil, err
	}
	return clockWire{Now: s.Now()}, nil
}

// putPairInterval changes the pair rate limit: PUT /_sim/pair_interval
// {"interval":"6s"}; "0s" restores the default, a negative one removes it.
func (s *Simulator) putPairInterval(r *http.Request) (any, error) {
	var in struct {
		Interval string `json:"interval"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	d, err := parseDuration("interval", in.Interval)
	if err != nil {
		return nil, err
	}
	s.SetPairInterval(d)
	return nil, nil
}

// listNumbers answers GET /_sim/numbers, tokens left out.
func (s *Simulator) listNumbers(*http.Request) (any, error) {
	numbers := s.Numbers()
	for i := range numbers {
		numbers[i].Token = ""
	}
	return numbers, nil
}

func (s *Simulator) postNumber(r *http.Request) (any, error) {
	var n Number
	if err := readJSON(r, &n); err != nil {
		return nil, err
	}
	return nil, s.AddNumber(n)
}

// patchNumber changes a number: PATCH /_sim/numbers/{id} with any of
// status, quality_rating, messaging_limit_tier and throughput. Each change
// posts the webhook its setter posts.
func (s *Simulator) patchNumber(r *http.Request) (any, error) {
	var in struct {
		Status     string `json:"status"`
		Quality    string `json:"quality_rating"`
		Tier       string `json:"messaging_limit_tier"`
		Throughput int    `json:"throughput"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	changes := []struct {
		isSet bool
		apply func() error
	}{
		{in.Status != "", func() error { return s.SetStatus(id, in.Status) }},
		{in.Quality != "", func() error { return s.SetQuality(id, in.Quality) }},
		{in.Tier != "", func() error { return s.SetTier(id, in.Tier) }},
		{in.Throughput != 0, func() error { return s.SetThroughput(id, in.Throughput) }},
	}
	for _, c := range changes {
		if !c.isSet {
			continue
		}
		if err := c.apply(); err != nil {
			return nil, err
		}
	}
	for _, n := range s.Numbers() {
		if n.PhoneNumberID == id {
			n.Token = ""
			return n, nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnknownNumber, id)
}

// postInbound is WriteIn: POST /_sim/inbound with phone_number_id, from,
// profile_name and message, a message object as Meta's webhooks carry it
// ({"type":"text","text":{"body":"hi"}}; id, from and timestamp are filled in).
func (s *Simulator) postInbound(r *http.Request) (any, error) {
	var in struct {
		PhoneNumberID string          `json:"phone_number_id"`
		From          string          `json:"from"`
		ProfileName   string          `json:"profile_name"`
		GroupID       string          `json:"group_id"`
		Message       json.RawMessage `json:"message"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	m, err := decodeMessage(in.Message)
	if err != nil {
		return nil, err
	}
	m.ProfileName = in.ProfileName
	if in.GroupID != "" {
		m.GroupID = in.GroupID
	}
	wamid, err := s.WriteIn(in.PhoneNumberID, in.From, m)
	if err != nil {
		return nil, err
	}
	return map[string]string{"id": wamid}, nil
}

// decodeMessage reads a message object in Meta's webhook shape with the
// whatsapp package's own parser, so the control API takes exactly what
// webhooks carry.
func decodeMessage(raw json.RawMessage) (whatsapp.Message, error) {
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(raw, &fields); err != nil {
		return whatsapp.Message{}, fmt.Errorf("sim: message: %w", err)
	}
	fields["id"] = json.RawMessage(`"wamid.control"`)
	if _, ok := fields["from"]; !ok {
		fields["from"] = json.RawMessage(`"0"`) // the customer is given apart; Parse wants one
	}
	message, _ := json.Marshal(fields)
	body := fmt.Appendf(nil, `{"object":"whatsapp_business_account","entry":[{"id":"0","changes":[{"field":"messages","value":{"messages":[%s]}}]}]}`, message)
	n, err := whatsapp.Parse(body)
	if err != nil {
		return whatsapp.Message{}, fmt.Errorf("sim: message: %w", err)
	}
	if len(n.Problems) > 0 {
		return whatsapp.Message{}, fmt.Errorf("sim: message: %s", n.Problems[0].Reason)
	}
	return n.Changes[0].Messages[0], nil
}

// putCustomers starts simulated customers, replacing those running: PUT
// /_sim/customers {"rate":2,"numbers":["..."]} (all numbers when omitted).
func (s *Simulator) putCustomers(r *http.Request) (any, error) {
	var in struct {
		Rate    float64  `json:"rate"`
		Numbers []string `json:"numbers"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	if len(in.Numbers) == 0 {
		for _, n := range s.Numbers() {
			in.Numbers = append(in.Numbers, n.PhoneNumberID)
		}
	}
	s.stopCustomers()
	ctx, cancel := context.WithCancel(s.ctx)
	if err := s.StartCustomers(ctx, in.Rate, in.Numbers...); err != nil {
		cancel()
		return nil, err
	}
	s.mu.Lock()
	s.customers = cancel
	s.mu.Unlock()
	return nil, nil
}

func (s *Simulator) stopCustomers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.customers != nil {
		s.customers()
		s.customers = nil
	}
}

// postJoin is JoinGroup: POST /_sim/join {"invite_link","wa_id","profile_name"}.
func (s *Simulator) postJoin(r *http.Request) (any, error) {
	var in struct {
		InviteLink  string `json:"invite_link"`
		WAID        string `json:"wa_id"`
		ProfileName string `json:"profile_name"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	requestID, err := s.JoinGroup(in.InviteLink, in.WAID, in.ProfileName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"joined": requestID == "", "join_request_id": requestID}, nil
}

// patchGroup changes the simulator-side settings of a group: PATCH
// /_sim/groups/{id} {"admins_only":true}.
func (s *Simulator) patchGroup(r *http.Request) (any, error) {
	var in struct {
		IsAdminsOnly *bool `json:"admins_only"`
	}
	if err := readJSON(r, &in); err != nil {
		return nil, err
	}
	id := r.PathValue("id")
	if in.IsAdminsOnly != nil {
		if err := s.SetAdminsOnly(id, *in.IsAdminsOnly); err != nil {
			return nil, err
		}
	}
	return s.Group(id)
}

func (s *Simulator) setAdmin(isAdmin bool) func(*http.Request) (any, error) {
	return func(r *http.Request) (any, error) {
		id := r.PathValue("id")
		if err := s.SetAdmin(id, r.PathValue("wa_id"), isAdmin); err != nil {
			return nil, err
		}
		return s.Group(id)
	}
}
