package sim_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

const (
	testNumber   = "106540352242922"
	testToken    = "sim-token"
	testDisplay  = "15550783881"
	testSecret   = "app-secret"
	testCustomer = "16505551234"
)

// waitFor bounds how long a test waits for webhooks; they come within
// milliseconds.
const waitFor = 5 * time.Second

type testBundle struct {
	sim    *sim.Simulator
	url    string
	client *whatsapp.Client
	hooks  *receiver
}

// setup starts a simulator with one number and fast statuses, no pair limit,
// and a webhook receiver; configure adjusts the Config.
func setup(t *testing.T, configure ...func(*sim.Config)) *testBundle {
	t.Helper()
	hooks := &receiver{t: t}
	hookServer := httptest.NewServer(hooks)
	t.Cleanup(hookServer.Close)
	cfg := sim.Config{
		WebhookURL:   hookServer.URL,
		AppSecret:    testSecret,
		Numbers:      []sim.Number{{PhoneNumberID: testNumber, Token: testToken, DisplayPhone: testDisplay, VerifiedName: "Jasper's Market"}},
		StatusDelays: sim.StatusDelays{Sent: time.Millisecond, Delivered: time.Millisecond, Read: time.Millisecond},
		PairInterval: -1,
		RetryBackoff: 5 * time.Millisecond,
		Seed:         1,
	}
	for _, f := range configure {
		f(&cfg)
	}
	s, err := sim.New(cfg)
	require.NoError(t, err)
	server := httptest.NewServer(s)
	t.Cleanup(server.Close)
	t.Cleanup(s.Close) // runs first: no webhook is in flight when the receiver closes
	return &testBundle{sim: s, url: server.URL, client: &whatsapp.Client{BaseURL: server.URL, HTTPClient: server.Client()}, hooks: hooks}
}

// customerWrites opens the customer's 24-hour window.
func (b *testBundle) customerWrites(t *testing.T, waID string) string {
	t.Helper()
	wamid, err := b.sim.WriteIn(testNumber, waID, whatsapp.Message{Text: "hello", ProfileName: "Sheena Nelson"})
	require.NoError(t, err)
	return wamid
}

// call sends a raw Graph API request and decodes the JSON answer.
func (b *testBundle) call(t *testing.T, method, path, token string, in any) (int, map[string]any) {
	t.Helper()
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		require.NoError(t, err)
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, b.url+path, body)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	if resp.StatusCode != http.StatusNoContent {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	}
	return resp.StatusCode, out
}

// errorCode is the code of Meta's error envelope.
func errorCode(t *testing.T, out map[string]any) int {
	t.Helper()
	e, ok := out["error"].(map[string]any)
	require.True(t, ok, "not an error envelope: %v", out)
	return int(e["code"].(float64))
}

// receiver is the business's webhook endpoint: it verifies each signature
// and parses each body with the whatsapp package, as the connector does.
type receiver struct {
	t *testing.T

	mu       sync.Mutex
	failNext int // answer 500 to this many posts
	posts    int
	changes  []whatsapp.Change
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		rc.t.Errorf("read webhook: %v", err)
		return
	}
	if err := whatsapp.VerifySignature([]byte(testSecret), body, r.Header.Get(whatsapp.SignatureHeader)); err != nil {
		rc.t.Errorf("webhook signature: %v", err)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	n, err := whatsapp.Parse(body)
	if err != nil {
		rc.t.Errorf("parse webhook %s: %v", body, err)
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.posts++
	if rc.failNext > 0 {
		rc.failNext--
		w.WriteHeader(http.StatusInternalServerError)
		return
	}
	rc.changes = append(rc.changes, n.Changes...)
}

func (rc *receiver) failPosts(n int) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	rc.failNext = n
}

func (rc *receiver) snapshot() []whatsapp.Change {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return slices.Clone(rc.changes)
}

// statuses are the statuses received for a message, in arrival order.
func (rc *receiver) statuses(wamid string) []whatsapp.Status {
	var out []whatsapp.Status
	for _, c := range rc.snapshot() {
		for _, s := range c.Statuses {
			if s.MessageID == wamid {
				out = append(out, s)
			}
		}
	}
	return out
}

func statusNames(statuses []whatsapp.Status) []string {
	out := make([]string, len(statuses))
	for i, s := range statuses {
		out[i] = s.Status
	}
	return out
}

// waitStatuses waits for n statuses of a message and returns them.
func (rc *receiver) waitStatuses(t *testing.T, wamid string, n int) []whatsapp.Status {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.statuses(wamid)) >= n }, waitFor, time.Millisecond,
		"statuses of %s: %v", wamid, statusNames(rc.statuses(wamid)))
	return rc.statuses(wamid)
}

// waitMessage waits for the inbound message with this wamid.
func (rc *receiver) waitMessage(t *testing.T, wamid string) (whatsapp.Change, whatsapp.Message) {
	t.Helper()
	var change whatsapp.Change
	var message whatsapp.Message
	require.Eventually(t, func() bool {
		for _, c := range rc.snapshot() {
			for _, m := range c.Messages {
				if m.ID == wamid {
					change, message = c, m
					return true
				}
			}
		}
		return false
	}, waitFor, time.Millisecond, "message %s never came", wamid)
	return change, message
}

// waitField waits for n changes of a webhook field and returns them.
func (rc *receiver) waitField(t *testing.T, field string, n int) []whatsapp.Change {
	t.Helper()
	var out []whatsapp.Change
	require.Eventually(t, func() bool {
		out = out[:0]
		for _, c := range rc.snapshot() {
			if c.Field == field {
				out = append(out, c)
			}
		}
		return len(out) >= n
	}, waitFor, time.Millisecond, "%d %s webhooks never came", n, field)
	return out
}

func TestNewRefusesABadConfig(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		cfg  sim.Config
	}{
		{"number id not digits", sim.Config{Numbers: []sim.Number{{PhoneNumberID: "abc", Token: "t"}}}},
		{"number without token", sim.Config{Numbers: []sim.Number{{PhoneNumberID: "1"}}}},
		{"the same number twice", sim.Config{Numbers: []sim.Number{{PhoneNumberID: "1", Token: "t"}, {PhoneNumberID: "1", Token: "u"}}}},
		{"unknown quality", sim.Config{Numbers: []sim.Number{{PhoneNumberID: "1", Token: "t", Quality: "BLUE"}}}},
		{"skip probability above 1", sim.Config{SkipDelivered: 2}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := sim.New(tt.cfg)
			require.Error(t, err)
		})
	}
}

func TestAdvanceMovesSimulatedTimeOnly(t *testing.T) {
	t.Parallel()
	b := setup(t)

	before := b.sim.Now()
	require.NoError(t, b.sim.Advance(25*time.Hour))
	require.WithinDuration(t, before.Add(25*time.Hour), b.sim.Now(), time.Second)
	require.Error(t, b.sim.Advance(-time.Hour))
}
