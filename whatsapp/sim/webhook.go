package sim

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// maxRetryWait caps the doubling wait between two posts of a webhook.
const maxRetryWait = time.Minute

// poster posts signed webhooks and retries them like Meta.
type poster struct {
	url      string
	secret   []byte
	client   *http.Client
	backoff  time.Duration
	retryFor time.Duration
}

// DefaultWebhookConnections is how many webhook POSTs are in flight at once
// when Config.WebhookConnections is zero.
const DefaultWebhookConnections = 64

func newPoster(cfg Config) *poster {
	client := cfg.HTTPClient
	if client == nil {
		// A bounded number of connections, kept open: the rest of the
		// webhooks wait their turn (and time out into a retry), as a
		// provider's delivery does. Unbounded, a thousand sends a second
		// made three thousand concurrent POSTs, a connection each.
		conns := cmp.Or(cfg.WebhookConnections, DefaultWebhookConnections)
		t := whatsapp.KeepAlive()
		t.MaxConnsPerHost, t.MaxIdleConnsPerHost = conns, conns
		client = &http.Client{Timeout: 10 * time.Second, Transport: t}
	}
	return &poster{url: cfg.WebhookURL, secret: []byte(cfg.AppSecret), client: client, backoff: cfg.RetryBackoff, retryFor: cfg.RetryFor}
}

// post delivers body until the receiver answers 2xx, the retry time is over
// or ctx ends. It reports whether the receiver acknowledged it.
func (p *poster) post(ctx context.Context, body []byte) bool {
	giveUp := time.Now().Add(p.retryFor)
	wait := p.backoff
	for {
		if p.attempt(ctx, body) {
			return true
		}
		if time.Now().Add(wait).After(giveUp) {
			return false
		}
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return false
		}
		wait = min(2*wait, maxRetryWait)
	}
}

func (p *poster) attempt(ctx context.Context, body []byte) bool {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.url, bytes.NewReader(body))
	if err != nil {
		return false
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "facebookexternalua")
	req.Header.Set(whatsapp.SignatureHeader, whatsapp.Sign(p.secret, body))
	resp, err := p.client.Do(req)
	if err != nil {
		return false
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
	return resp.StatusCode >= 200 && resp.StatusCode <= 299
}

// copies is, with s.mu held, how many times the next webhook is posted: twice
// when the duplicate fault picks it.
func (s *Simulator) copies() int {
	if s.chance(s.faults.DuplicateRate) {
		return 2
	}
	return 1
}

// deliver posts body copies times, one after the other, and returns how many
// posts the receiver acknowledged.
func (s *Simulator) deliver(body []byte, copies int) int {
	acked := 0
	for range copies {
		if s.hooks.post(s.ctx, body) {
			acked++
		}
	}
	return acked
}

// emit posts a webhook in the background, with s.mu held.
func (s *Simulator) emit(body []byte) {
	if s.hooks.url == "" {
		return
	}
	copies := s.copies()
	s.spawn(func() { s.deliver(body, copies) })
}

// The webhook envelope, in Meta's key order.
type (
	webhookBody struct {
		Object string         `json:"object"`
		Entry  []webhookEntry `json:"entry"`
	}
	webhookEntry struct {
		ID      string          `json:"id"`
		Time    int64           `json:"time,omitempty"`
		Changes []webhookChange `json:"changes"`
	}
	webhookChange struct {
		Value any    `json:"value"`
		Field string `json:"field"`
	}
)

// webhook wraps one change of field in the envelope, with s.mu held.
// Account-level changes carry entry.time; message changes do not.
func (s *Simulator) webhook(field string, value any, withTime bool) []byte {
	entry := webhookEntry{ID: s.cfg.WABAID, Changes: []webhookChange{{Value: value, Field: field}}}
	if withTime {
		entry.Time = s.now().Unix()
	}
	body, err := json.Marshal(webhookBody{Object: "whatsapp_business_account", Entry: []webhookEntry{entry}})
	if err != nil {
		panic("sim: webhook value does not marshal: " + err.Error()) // values are built here, from plain types
	}
	return body
}

// accountWebhook is an account_update or phone_number_quality_update.
func (s *Simulator) accountWebhook(field string, value any) []byte {
	return s.webhook(field, value, true)
}

// numberWebhook is a change about one number: messages, statuses, groups.
// value gains messaging_product and metadata.
func (s *Simulator) numberWebhook(field string, n *number, value map[string]any) []byte {
	value["messaging_product"] = "whatsapp"
	value["metadata"] = map[string]string{"display_phone_number": n.DisplayPhone, "phone_number_id": n.PhoneNumberID}
	return s.webhook(field, value, false)
}

// contacts is the contacts[] of a messages change: the customer's profile.
func (s *Simulator) contacts(waID string) []map[string]any {
	if whatsapp.IsBSUID(waID) { // known by their business-scoped id only: no phone
		return []map[string]any{{"profile": map[string]string{"name": s.profiles[waID]}, "user_id": waID}}
	}
	return []map[string]any{{"profile": map[string]string{"name": s.profiles[waID]}, "wa_id": waID}}
}
