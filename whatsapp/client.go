package whatsapp

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// The Graph API endpoint and version a zero Client uses.
const (
	DefaultBaseURL = "https://graph.facebook.com"
	DefaultVersion = "v21.0"
)

// ErrInvalidRequest is returned, wrapped, when a request is refused before it
// is sent: a required value is missing or malformed. Retrying cannot help.
var ErrInvalidRequest = errors.New("whatsapp: invalid request")

// Client calls the Cloud API. The zero value is ready to use. The access token
// is passed to each call, since every number may belong to another business.
type Client struct {
	BaseURL    string       // DefaultBaseURL when empty; the simulator's URL in tests and demos
	Version    string       // DefaultVersion when empty
	HTTPClient *http.Client // a client with a 30 s timeout when nil
}

var defaultHTTPClient = &http.Client{Timeout: 30 * time.Second, Transport: KeepAlive()}

// KeepAlive is an HTTP transport that keeps up to 512 idle connections to
// a host between requests. net/http's default keeps 2: a number sending
// 1,000 messages a second with 200 in flight then dialled (against Meta,
// and TLS-handshook) nearly every send anew, and the connections it closed
// piled up in TIME_WAIT.
func KeepAlive() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns = 1024
	t.MaxIdleConnsPerHost = 512
	return t
}

// maxResponseBytes bounds what is read of an answer; Cloud API answers are
// a few hundred bytes.
const maxResponseBytes = 1 << 20

// NumberHealth is what the Cloud API says about a business number.
type NumberHealth struct {
	ID                 string `json:"id"`
	VerifiedName       string `json:"verified_name"`
	DisplayPhone       string `json:"display_phone_number"`
	QualityRating      string `json:"quality_rating"`       // GREEN, YELLOW, RED or UNKNOWN
	MessagingLimitTier string `json:"messaging_limit_tier"` // TIER_250, TIER_1K, ..., TIER_UNLIMITED
	Status             string `json:"status"`               // CONNECTED, FLAGGED, RESTRICTED, ...
}

const healthFields = "verified_name,display_phone_number,quality_rating,messaging_limit_tier,status"

// HealthCheck reads the number's verified name, quality rating, messaging
// tier and status.
func (c *Client) HealthCheck(ctx context.Context, phoneNumberID, token string) (*NumberHealth, error) {
	var h NumberHealth
	query := url.Values{"fields": {healthFields}}
	if err := c.call(ctx, http.MethodGet, phoneNumberID, "", token, query, nil, &h); err != nil {
		return nil, fmt.Errorf("whatsapp: health check of %s: %w", phoneNumberID, err)
	}
	return &h, nil
}

// maxNumberPages bounds the pages BusinessNumbers reads (100 numbers each).
const maxNumberPages = 20

// BusinessNumbers lists the phone numbers of a WhatsApp Business Account
// (GET /{waba-id}/phone_numbers) that token reads, following the pages.
func (c *Client) BusinessNumbers(ctx context.Context, wabaID, token string) ([]NumberHealth, error) {
	query := url.Values{"fields": {"id,display_phone_number"}, "limit": {"100"}}
	all, err := pages[NumberHealth](ctx, c, wabaID, "phone_numbers", token, query, maxNumberPages)
	if err != nil {
		return nil, fmt.Errorf("whatsapp: phone numbers of %s: %w", wabaID, err)
	}
	return all, nil
}

// pages GETs /{id}/{edge} and the pages after it (the Graph API's cursor
// paging), up to max pages, and returns their data in order.
func pages[T any](ctx context.Context, c *Client, id, edge, token string, query url.Values, max int) ([]T, error) {
	var all []T
	for range max {
		var page struct {
			Data   []T `json:"data"`
			Paging struct {
				Cursors struct {
					After string `json:"after"`
				} `json:"cursors"`
				Next string `json:"next"`
			} `json:"paging"`
		}
		if err := c.call(ctx, http.MethodGet, id, edge, token, query, nil, &page); err != nil {
			return nil, err
		}
		all = append(all, page.Data...)
		if page.Paging.Next == "" || page.Paging.Cursors.After == "" || len(page.Data) == 0 {
			return all, nil
		}
		query.Set("after", page.Paging.Cursors.After)
	}
	return all, nil
}

// MarkRead marks an inbound message, and those before it, as read: the
// customer sees blue ticks.
func (c *Client) MarkRead(ctx context.Context, phoneNumberID, token, wamid string) error {
	return c.markRead(ctx, phoneNumberID, token, wamid, false)
}

// ShowTyping marks an inbound message read and shows the customer a typing
// indicator, which WhatsApp hides after 25 seconds or when the business's
// next message arrives.
func (c *Client) ShowTyping(ctx context.Context, phoneNumberID, token, wamid string) error {
	return c.markRead(ctx, phoneNumberID, token, wamid, true)
}

func (c *Client) markRead(ctx context.Context, phoneNumberID, token, wamid string, typing bool) error {
	if wamid == "" {
		return fmt.Errorf("%w: no message id to mark read", ErrInvalidRequest)
	}
	in := map[string]any{"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
	if typing {
		in["typing_indicator"] = map[string]string{"type": "text"}
	}
	var out struct {
		Success bool `json:"success"`
	}
	err := c.call(ctx, http.MethodPost, phoneNumberID, "messages", token, nil, in, &out)
	if err == nil && !out.Success {
		err = errors.New("the answer does not say success")
	}
	if err != nil {
		return fmt.Errorf("whatsapp: mark %s read: %w", wamid, err)
	}
	return nil
}

// call sends one request to /{version}/{node}[/{edge}] and decodes a 2xx JSON
// answer into out. Any other answer is an *APIError; no answer at all is a
// *transportError.
func (c *Client) call(ctx context.Context, method, node, edge, token string, query url.Values, in, out any) error {
	if !isGraphID(node) {
		return fmt.Errorf("%w: phone number id %q is not a Graph API id", ErrInvalidRequest, node)
	}
	return c.do(ctx, method, node, edge, token, query, in, out)
}

// do is call once node is known to be safe in a path.
func (c *Client) do(ctx context.Context, method, node, edge, token string, query url.Values, in, out any) error {
	if token == "" {
		return fmt.Errorf("%w: no access token", ErrInvalidRequest)
	}
	var body io.Reader
	contentType := ""
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
		}
		body, contentType = bytes.NewReader(b), "application/json"
	}
	return c.request(ctx, method, c.url(node, edge, query), token, body, contentType, out)
}

// request makes one request with body (of contentType) and decodes a 2xx JSON
// answer into out; see call.
func (c *Client) request(ctx context.Context, method, url, token string, body io.Reader, contentType string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, url, body)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidRequest, err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := c.httpClient().Do(req)
	if err != nil {
		return &transportError{err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponseBytes))
	if err != nil {
		return &transportError{fmt.Errorf("read answer: %w", err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return parseAPIError(resp.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode answer (HTTP %d): %w", resp.StatusCode, err)
	}
	return nil
}

func (c *Client) url(node, edge string, query url.Values) string {
	base, version := c.BaseURL, c.Version
	if base == "" {
		base = DefaultBaseURL
	}
	if version == "" {
		version = DefaultVersion
	}
	u := strings.TrimRight(base, "/") + "/" + version + "/" + node
	if edge != "" {
		u += "/" + edge
	}
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	return u
}

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return defaultHTTPClient
}

// isGraphID reports whether id is a Graph API node id: decimal digits. It
// keeps ids from tenants' data out of the URL path.
func isGraphID(id string) bool {
	if id == "" {
		return false
	}
	for _, r := range id {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// parseAPIError reads Meta's error envelope. An answer without one (a proxy's
// HTML page, an empty 502) still yields an APIError with the HTTP status, so
// it is classified by status alone.
func parseAPIError(status int, data []byte) *APIError {
	var envelope struct {
		Error *struct {
			Message   string `json:"message"`
			Type      string `json:"type"`
			Code      int    `json:"code"`
			Subcode   int    `json:"error_subcode"`
			ErrorData struct {
				Details string `json:"details"`
			} `json:"error_data"`
			TraceID string `json:"fbtrace_id"`
		} `json:"error"`
	}
	if json.Unmarshal(data, &envelope) != nil || envelope.Error == nil {
		return &APIError{Status: status, Message: http.StatusText(status)}
	}
	e := envelope.Error
	return &APIError{
		Status:  status,
		Code:    e.Code,
		Subcode: e.Subcode,
		Type:    e.Type,
		Message: e.Message,
		Details: e.ErrorData.Details,
		TraceID: e.TraceID,
	}
}
