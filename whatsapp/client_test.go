package whatsapp

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"
)

const (
	testToken    = "EAAtoken"
	testNumber   = "1122334455667"
	testWamid    = "wamid.HBgLMzQ2MDAwMDAwMDAVAgARGBI="
	testCustomer = "34600000000"
)

type recordedRequest struct {
	Method, Path string
	Query        map[string][]string
	Header       http.Header
	Body         string
}

type testBundle struct {
	client   *Client
	requests chan recordedRequest
}

// setup starts a Cloud API stand-in that answers every request with status
// and answer, and records what it received.
func setup(t *testing.T, status int, answer string) *testBundle {
	t.Helper()
	requests := make(chan recordedRequest, 1)
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		requests <- recordedRequest{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header, Body: string(body)}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(status)
		_, _ = io.WriteString(w, answer)
	}))
	t.Cleanup(server.Close)
	return &testBundle{client: &Client{BaseURL: server.URL, HTTPClient: server.Client()}, requests: requests}
}

const sentAnswer = `{"messaging_product":"whatsapp","contacts":[{"input":"34600000000","wa_id":"34600000000"}],"messages":[{"id":"` + testWamid + `"}]}`

func TestClientSends(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		send     func(context.Context, *Client) (string, error)
		wantBody string
	}{
		{
			name: "text",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendText(ctx, testNumber, testToken, testCustomer, "Hello", "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"text",
				"text":{"body":"Hello","preview_url":false}}`,
		},
		{
			name: "text to a customer known only by their business-scoped id",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendText(ctx, testNumber, testToken, "US.13491208655302741918", "Hello", "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","recipient":"US.13491208655302741918","type":"text",
				"text":{"body":"Hello","preview_url":false}}`,
		},
		{
			name: "text in reply",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendText(ctx, testNumber, testToken, testCustomer, "Yes", "wamid.IN")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"text",
				"text":{"body":"Yes","preview_url":false},"context":{"message_id":"wamid.IN"}}`,
		},
		{
			name: "template with body parameters",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendTemplate(ctx, testNumber, testToken, testCustomer, Template{Name: "order_shipped", Language: "es", BodyParams: []string{"Ana", "#42"}}, "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"template",
				"template":{"name":"order_shipped","language":{"code":"es"},"components":[{"type":"body","parameters":[
					{"type":"text","text":"Ana"},{"type":"text","text":"#42"}]}]}}`,
		},
		{
			name: "template without parameters",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendTemplate(ctx, testNumber, testToken, testCustomer, Template{Name: "hello_world", Language: "en_US"}, "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"template",
				"template":{"name":"hello_world","language":{"code":"en_US"}}}`,
		},
		{
			name: "image by link",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "image", Link: "https://example.com/a.jpg", Caption: "the receipt"}, "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"image",
				"image":{"link":"https://example.com/a.jpg","caption":"the receipt"}}`,
		},
		{
			name: "document by id in reply",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "document", ID: "1013859600285441", Filename: "invoice.pdf"}, "wamid.IN")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"document",
				"document":{"id":"1013859600285441","filename":"invoice.pdf"},"context":{"message_id":"wamid.IN"}}`,
		},
		{
			name: "reply buttons",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{
					Header: "Delivery", Body: "Is tomorrow fine?", Footer: "Reply below",
					Buttons: []ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}},
				}, "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"interactive",
				"interactive":{"type":"button","header":{"type":"text","text":"Delivery"},"body":{"text":"Is tomorrow fine?"},
					"footer":{"text":"Reply below"},"action":{"buttons":[
						{"type":"reply","reply":{"id":"yes","title":"Yes"}},{"type":"reply","reply":{"id":"no","title":"No"}}]}}}`,
		},
		{
			name: "list",
			send: func(ctx context.Context, c *Client) (string, error) {
				return c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{
					Body: "Pick a slot",
					List: &List{Button: "Slots", Sections: []ListSection{
						{Title: "Morning", Rows: []ListRow{{ID: "m9", Title: "9:00", Description: "first slot"}}},
						{Title: "Afternoon", Rows: []ListRow{{ID: "a3", Title: "15:00"}}},
					}},
				}, "")
			},
			wantBody: `{"messaging_product":"whatsapp","recipient_type":"individual","to":"34600000000","type":"interactive",
				"interactive":{"type":"list","body":{"text":"Pick a slot"},"action":{"button":"Slots","sections":[
					{"title":"Morning","rows":[{"id":"m9","title":"9:00","description":"first slot"}]},
					{"title":"Afternoon","rows":[{"id":"a3","title":"15:00"}]}]}}}`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, http.StatusOK, sentAnswer)

			wamid, err := tt.send(t.Context(), bundle.client)
			require.NoError(t, err)
			require.Equal(t, testWamid, wamid)

			req := <-bundle.requests
			require.Equal(t, http.MethodPost, req.Method)
			require.Equal(t, "/v21.0/1122334455667/messages", req.Path)
			require.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
			require.Equal(t, "application/json", req.Header.Get("Content-Type"))
			require.JSONEq(t, tt.wantBody, req.Body)
		})
	}
}

func TestClientMarkRead(t *testing.T) {
	t.Parallel()
	bundle := setup(t, http.StatusOK, `{"success":true}`)

	require.NoError(t, bundle.client.MarkRead(t.Context(), testNumber, testToken, "wamid.IN"))

	req := <-bundle.requests
	require.Equal(t, http.MethodPost, req.Method)
	require.Equal(t, "/v21.0/1122334455667/messages", req.Path)
	require.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
	require.JSONEq(t, `{"messaging_product":"whatsapp","status":"read","message_id":"wamid.IN"}`, req.Body)
}

func TestClientMarkReadWithoutSuccessFails(t *testing.T) {
	t.Parallel()
	bundle := setup(t, http.StatusOK, `{"success":false}`)

	err := bundle.client.MarkRead(t.Context(), testNumber, testToken, "wamid.IN")
	require.ErrorContains(t, err, "does not say success")
	require.False(t, IsRetryable(err))
}

func TestClientHealthCheck(t *testing.T) {
	t.Parallel()
	bundle := setup(t, http.StatusOK, `{"verified_name":"Acme","display_phone_number":"+1 555-010-0000",
		"quality_rating":"YELLOW","messaging_limit_tier":"TIER_10K","status":"FLAGGED","id":"1122334455667"}`)

	health, err := bundle.client.HealthCheck(t.Context(), testNumber, testToken)
	require.NoError(t, err)
	require.Equal(t, &NumberHealth{
		ID: testNumber, VerifiedName: "Acme", DisplayPhone: "+1 555-010-0000",
		QualityRating: "YELLOW", MessagingLimitTier: "TIER_10K", Status: "FLAGGED",
	}, health)

	req := <-bundle.requests
	require.Equal(t, http.MethodGet, req.Method)
	require.Equal(t, "/v21.0/1122334455667", req.Path)
	require.Equal(t, []string{"verified_name,display_phone_number,quality_rating,messaging_limit_tier,status"}, req.Query["fields"])
	require.Equal(t, "Bearer "+testToken, req.Header.Get("Authorization"))
	require.Empty(t, req.Body)
}

func TestClientUsesConfiguredVersion(t *testing.T) {
	t.Parallel()
	bundle := setup(t, http.StatusOK, sentAnswer)
	bundle.client.BaseURL += "/"
	bundle.client.Version = "v23.0"

	_, err := bundle.client.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
	require.NoError(t, err)
	require.Equal(t, "/v23.0/1122334455667/messages", (<-bundle.requests).Path)
}

func TestClientAnswerWithoutWamidIsNotRetryable(t *testing.T) {
	t.Parallel()

	for name, answer := range map[string]string{"no messages": `{"messages":[]}`, "not json": `<html>ok</html>`} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, http.StatusOK, answer)
			_, err := bundle.client.SendText(t.Context(), testNumber, testToken, testCustomer, "hi", "")
			require.Error(t, err)
			// The message may have gone out: sending it again could duplicate it.
			require.False(t, IsRetryable(err))
		})
	}
}

func TestClientRefusesInvalidRequests(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name string
		call func(context.Context, *Client) error
	}{
		{name: "no token", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, testNumber, "", testCustomer, "hi", "")
			return err
		}},
		{name: "phone number id that is not a Graph id", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, "../1/subscribed_apps", testToken, testCustomer, "hi", "")
			return err
		}},
		{name: "no recipient", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, testNumber, testToken, "", "hi", "")
			return err
		}},
		{name: "empty text", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendText(ctx, testNumber, testToken, testCustomer, "", "")
			return err
		}},
		{name: "template without language", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendTemplate(ctx, testNumber, testToken, testCustomer, Template{Name: "hello_world"}, "")
			return err
		}},
		{name: "media by id and link", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "image", ID: "1", Link: "https://example.com/a.jpg"}, "")
			return err
		}},
		{name: "media by neither", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "video"}, "")
			return err
		}},
		{name: "unknown media kind", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "gif", ID: "1"}, "")
			return err
		}},
		{name: "caption on audio", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "audio", ID: "1", Caption: "listen"}, "")
			return err
		}},
		{name: "filename on an image", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendMedia(ctx, testNumber, testToken, testCustomer, OutgoingMedia{Kind: "image", ID: "1", Filename: "a.jpg"}, "")
			return err
		}},
		{name: "four buttons", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{Body: "?", Buttons: make([]ReplyButton, 4)}, "")
			return err
		}},
		{name: "buttons and a list", call: func(ctx context.Context, c *Client) error {
			list := &List{Button: "Open", Sections: []ListSection{{Rows: []ListRow{{ID: "1", Title: "One"}}}}}
			_, err := c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{Body: "?", Buttons: []ReplyButton{{ID: "y", Title: "Y"}}, List: list}, "")
			return err
		}},
		{name: "neither buttons nor list", call: func(ctx context.Context, c *Client) error {
			_, err := c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{Body: "?"}, "")
			return err
		}},
		{name: "eleven list rows", call: func(ctx context.Context, c *Client) error {
			list := &List{Button: "Open", Sections: []ListSection{{Rows: make([]ListRow, 6)}, {Rows: make([]ListRow, 5)}}}
			_, err := c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{Body: "?", List: list}, "")
			return err
		}},
		{name: "list without button label", call: func(ctx context.Context, c *Client) error {
			list := &List{Sections: []ListSection{{Rows: []ListRow{{ID: "1", Title: "One"}}}}}
			_, err := c.SendInteractive(ctx, testNumber, testToken, testCustomer, Interactive{Body: "?", List: list}, "")
			return err
		}},
		{name: "mark read without id", call: func(ctx context.Context, c *Client) error {
			return c.MarkRead(ctx, testNumber, testToken, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			bundle := setup(t, http.StatusOK, sentAnswer)

			err := tt.call(t.Context(), bundle.client)
			require.ErrorIs(t, err, ErrInvalidRequest)
			require.False(t, IsRetryable(err))
			require.Empty(t, bundle.requests, "nothing may reach the Cloud API")
		})
	}
}

func TestIsBSUID(t *testing.T) {
	t.Parallel()
	for id, want := range map[string]bool{
		"US.13491208655302741918": true, "US.ENT.11815799212886844830": true, "GB.abc123": true,
		"16505551234": false, "+16505551234": false, "us.123": false, "U.123": false, "US.": false, "US.12 3": false, "": false,
	} {
		require.Equal(t, want, IsBSUID(id), id)
	}
}
