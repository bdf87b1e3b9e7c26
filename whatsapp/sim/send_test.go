package sim_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

func TestClientSendsEveryMessageType(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name     string
		wantType string
		send     func(ctx context.Context, c *whatsapp.Client, to, replyTo string) (string, error)
	}{
		{"text", "text", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendText(ctx, testNumber, testToken, to, "Your order has shipped", "")
		}},
		{"text replying to the customer", "text", func(ctx context.Context, c *whatsapp.Client, to, replyTo string) (string, error) {
			return c.SendText(ctx, testNumber, testToken, to, "Yes, it does", replyTo)
		}},
		{"template", "template", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendTemplate(ctx, testNumber, testToken, to, whatsapp.Template{Name: "order_update", Language: "en_US", BodyParams: []string{"Sheena", "#1234"}}, "")
		}},
		{"image by id", "image", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendMedia(ctx, testNumber, testToken, to, whatsapp.OutgoingMedia{Kind: "image", ID: "1013859600285441", Caption: "Your receipt"}, "")
		}},
		{"document by link", "document", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendMedia(ctx, testNumber, testToken, to, whatsapp.OutgoingMedia{Kind: "document", Link: "https://example.com/invoice.pdf", Filename: "invoice.pdf"}, "")
		}},
		{"audio", "audio", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendMedia(ctx, testNumber, testToken, to, whatsapp.OutgoingMedia{Kind: "audio", Link: "https://example.com/note.ogg"}, "")
		}},
		{"reply buttons", "interactive", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendInteractive(ctx, testNumber, testToken, to, whatsapp.Interactive{
				Body: "Deliver tomorrow?", Buttons: []whatsapp.ReplyButton{{ID: "yes", Title: "Yes"}, {ID: "no", Title: "No"}},
			}, "")
		}},
		{"list", "interactive", func(ctx context.Context, c *whatsapp.Client, to, _ string) (string, error) {
			return c.SendInteractive(ctx, testNumber, testToken, to, whatsapp.Interactive{
				Header: "Slots", Body: "Pick a delivery slot", Footer: "Times are local",
				List: &whatsapp.List{Button: "Slots", Sections: []whatsapp.ListSection{
					{Title: "Morning", Rows: []whatsapp.ListRow{{ID: "9", Title: "9:00", Description: "9 to 10"}}},
					{Title: "Evening", Rows: []whatsapp.ListRow{{ID: "18", Title: "18:00"}}},
				}},
			}, "")
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			inbound := b.customerWrites(t, testCustomer)

			wamid, err := tt.send(t.Context(), b.client, testCustomer, inbound)
			require.NoError(t, err)
			require.True(t, strings.HasPrefix(wamid, "wamid."), wamid)

			log := b.sim.Log()
			require.Len(t, log, 1)
			require.Equal(t, testNumber, log[0].Number)
			require.Equal(t, testCustomer, log[0].To)
			require.Equal(t, tt.wantType, log[0].Type)
			require.Equal(t, wamid, log[0].WAMID)
			require.NotEmpty(t, log[0].Digest)
			require.Equal(t, []string{"sent", "delivered", "read"}, statusNames(b.hooks.waitStatuses(t, wamid, 3)))
		})
	}
}

func TestSendAnswersWithMetasShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.customerWrites(t, testCustomer)

	status, out := b.call(t, http.MethodPost, "/v23.0/"+testNumber+"/messages", testToken, map[string]any{
		"messaging_product": "whatsapp", "to": "+1 (650) 555-1234", "type": "text", "text": map[string]any{"body": "hi"},
	})

	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "whatsapp", out["messaging_product"])
	require.Equal(t, []any{map[string]any{"input": "+1 (650) 555-1234", "wa_id": testCustomer}}, out["contacts"])
	messages := out["messages"].([]any)
	require.Len(t, messages, 1)
	require.True(t, strings.HasPrefix(messages[0].(map[string]any)["id"].(string), "wamid."))
}

func TestSendReaction(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inbound := b.customerWrites(t, testCustomer)

	status, out := b.call(t, http.MethodPost, "/v21.0/"+testNumber+"/messages", testToken, map[string]any{
		"messaging_product": "whatsapp", "recipient_type": "individual", "to": testCustomer, "type": "reaction",
		"reaction": map[string]any{"message_id": inbound, "emoji": "👍"},
	})

	require.Equal(t, http.StatusOK, status, out)
	require.Equal(t, "reaction", b.sim.Log()[0].Type)
}

func TestMarkRead(t *testing.T) {
	t.Parallel()
	b := setup(t)
	inbound := b.customerWrites(t, testCustomer)

	require.NoError(t, b.client.MarkRead(t.Context(), testNumber, testToken, inbound))

	err := b.client.MarkRead(t.Context(), testNumber, testToken, "wamid.unknown")
	apiErr, ok := errors.AsType[*whatsapp.APIError](err)
	require.True(t, ok, "%v", err)
	require.Equal(t, whatsapp.CodeInvalidParameter, apiErr.Code)
	require.Empty(t, b.sim.Log(), "marking read sends nothing")
}

func TestSendRefusesWhatMetaRefuses(t *testing.T) {
	t.Parallel()

	text := func(body string) map[string]any {
		return map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "text", "text": map[string]any{"body": body}}
	}
	buttons := func(n int) []any {
		out := make([]any, n)
		for i := range out {
			out[i] = map[string]any{"type": "reply", "reply": map[string]any{"id": string(rune('a' + i)), "title": "Option"}}
		}
		return out
	}
	tests := []struct {
		name string
		body map[string]any
	}{
		{"no messaging product", map[string]any{"to": testCustomer, "type": "text", "text": map[string]any{"body": "hi"}}},
		{"no recipient", map[string]any{"messaging_product": "whatsapp", "type": "text", "text": map[string]any{"body": "hi"}}},
		{"empty text", text("")},
		{"text too long", text(strings.Repeat("a", 4097))},
		{"content missing for the type", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "image"}},
		{"unknown type", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "hologram", "hologram": map[string]any{}}},
		{"media with id and link", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "image",
			"image": map[string]any{"id": "1", "link": "https://example.com/a.jpg"}}},
		{"media link not a URL", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "image",
			"image": map[string]any{"link": "a.jpg"}}},
		{"caption on a sticker", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "sticker",
			"sticker": map[string]any{"id": "1", "caption": "no"}}},
		{"template without language", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "template",
			"template": map[string]any{"name": "hello_world"}}},
		{"template text parameter without text", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "template",
			"template": map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US"},
				"components": []any{map[string]any{"type": "body", "parameters": []any{map[string]any{"type": "text"}}}}}}},
		{"four buttons", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "interactive",
			"interactive": map[string]any{"type": "button", "body": map[string]any{"text": "Pick"}, "action": map[string]any{"buttons": buttons(4)}}}},
		{"no buttons", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "interactive",
			"interactive": map[string]any{"type": "button", "body": map[string]any{"text": "Pick"}, "action": map[string]any{"buttons": buttons(0)}}}},
		{"interactive without body", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "interactive",
			"interactive": map[string]any{"type": "button", "action": map[string]any{"buttons": buttons(1)}}}},
		{"list without rows", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "interactive",
			"interactive": map[string]any{"type": "list", "body": map[string]any{"text": "Pick"},
				"action": map[string]any{"button": "Open", "sections": []any{map[string]any{"title": "A", "rows": []any{}}}}}}},
		{"reaction without message", map[string]any{"messaging_product": "whatsapp", "to": testCustomer, "type": "reaction",
			"reaction": map[string]any{"emoji": "👍"}}},
		{"mark read without message", map[string]any{"messaging_product": "whatsapp", "status": "read"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			b.customerWrites(t, testCustomer)

			status, out := b.call(t, http.MethodPost, "/v21.0/"+testNumber+"/messages", testToken, tt.body)

			require.Equal(t, http.StatusBadRequest, status)
			require.Equal(t, whatsapp.CodeInvalidParameter, errorCode(t, out))
			require.Empty(t, b.sim.Log())
		})
	}
}

func TestCallsNeedTheNumbersToken(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name       string
		node       string
		token      string
		wantStatus int
		wantCode   int
	}{
		{"no token", testNumber, "", http.StatusUnauthorized, whatsapp.CodeTokenExpired},
		{"wrong token", testNumber, "stolen", http.StatusUnauthorized, whatsapp.CodeTokenExpired},
		{"another number's token", testNumber, "other-token", http.StatusUnauthorized, whatsapp.CodeTokenExpired},
		{"unknown number", "999", testToken, http.StatusBadRequest, whatsapp.CodeInvalidParameter},
		{"unknown number and token", "999", "stolen", http.StatusUnauthorized, whatsapp.CodeTokenExpired},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t, func(c *sim.Config) {
				c.Numbers = append(c.Numbers, sim.Number{PhoneNumberID: "200", Token: "other-token"})
			})

			status, out := b.call(t, http.MethodPost, "/v21.0/"+tt.node+"/messages", tt.token, map[string]any{
				"messaging_product": "whatsapp", "to": testCustomer, "type": "template",
				"template": map[string]any{"name": "hello_world", "language": map[string]any{"code": "en_US"}},
			})

			require.Equal(t, tt.wantStatus, status)
			require.Equal(t, tt.wantCode, errorCode(t, out))
		})
	}
}

func TestClientSeesAnExpiredToken(t *testing.T) {
	t.Parallel()
	b := setup(t)

	_, err := b.client.SendText(t.Context(), testNumber, "stale", testCustomer, "hi", "")

	apiErr, ok := errors.AsType[*whatsapp.APIError](err)
	require.True(t, ok, "%v", err)
	require.True(t, apiErr.TokenExpired())
	require.Equal(t, http.StatusUnauthorized, apiErr.Status)
}
