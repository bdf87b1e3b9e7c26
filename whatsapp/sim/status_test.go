package sim_test

import (
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// sendTemplate sends a template with a tracker and returns its wamid.
func (b *testBundle) sendTemplate(t *testing.T, to string) string {
	t.Helper()
	status, out := b.call(t, http.MethodPost, "/v21.0/"+testNumber+"/messages", testToken, map[string]any{
		"messaging_product": "whatsapp", "to": to, "type": "template", "biz_opaque_callback_data": "campaign-7",
		"template": map[string]any{"name": "order_update", "language": map[string]any{"code": "en_US"}},
	})
	require.Equal(t, http.StatusOK, status, out)
	return out["messages"].([]any)[0].(map[string]any)["id"].(string)
}

func TestStatusesProgressWithMetasShape(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.customerWrites(t, testCustomer)

	wamid := b.sendTemplate(t, testCustomer)

	statuses := b.hooks.waitStatuses(t, wamid, 3)
	require.Equal(t, []string{whatsapp.StatusSent, whatsapp.StatusDelivered, whatsapp.StatusRead}, statusNames(statuses))
	sent := statuses[0]
	require.Equal(t, testCustomer, sent.RecipientID)
	require.Equal(t, "campaign-7", sent.BizOpaqueCallbackData)
	require.WithinDuration(t, b.sim.Now(), sent.Timestamp, 2*time.Second)
	require.NotNil(t, sent.Conversation)
	require.NotEmpty(t, sent.Conversation.ID)
	require.Equal(t, "utility", sent.Conversation.Origin)
	require.WithinDuration(t, sent.Timestamp.Add(24*time.Hour), sent.Conversation.ExpiresAt, 2*time.Second)
	require.Equal(t, &whatsapp.Pricing{Billable: false, Model: "PMP", Category: "utility", Type: "free_customer_service"}, sent.Pricing,
		"a utility template inside the customer's window is free")
	require.True(t, statuses[2].Conversation.ExpiresAt.IsZero(), "only sent carries the expiry")

	changes := b.hooks.snapshot()
	last := changes[len(changes)-1]
	require.Equal(t, whatsapp.FieldMessages, last.Field)
	require.Equal(t, sim.DefaultWABAID, last.WABAID)
	require.Equal(t, testNumber, last.PhoneNumberID)
	require.Equal(t, testDisplay, last.DisplayPhone)

	require.Eventually(t, func() bool { return len(b.sim.Log()[0].Statuses) == 3 }, waitFor, time.Millisecond)
	require.Equal(t, []string{"sent", "delivered", "read"}, b.sim.Log()[0].Statuses)
}

// Statuses price messages as Meta's per-message pricing does: templates in
// their category, billed (a utility one free inside the customer's window),
// answers inside the window free service messages up to the monthly free
// tier and billed beyond it.
func TestStatusesCarryMetasPricing(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) {
		c.TemplateCategories = map[string]string{"spring_sale": "marketing"}
		c.ServiceFreeTier = 1
	})
	send := func(to string, body map[string]any) *whatsapp.Pricing {
		t.Helper()
		body["messaging_product"], body["to"] = "whatsapp", to
		status, out := b.call(t, http.MethodPost, "/v21.0/"+testNumber+"/messages", testToken, body)
		require.Equal(t, http.StatusOK, status, out)
		wamid := out["messages"].([]any)[0].(map[string]any)["id"].(string)
		return b.hooks.waitStatuses(t, wamid, 1)[0].Pricing
	}
	template := func(name string) map[string]any {
		return map[string]any{"type": "template", "template": map[string]any{"name": name, "language": map[string]any{"code": "en_US"}}}
	}
	text := map[string]any{"type": "text", "text": map[string]any{"body": "answer"}}
	const quiet = "16505550111" // has not written: no window
	require.Equal(t, &whatsapp.Pricing{Billable: true, Model: "PMP", Category: "marketing", Type: "regular"}, send(quiet, template("spring_sale")))
	require.Equal(t, &whatsapp.Pricing{Billable: true, Model: "PMP", Category: "utility", Type: "regular"}, send(quiet, template("order_update")))
	b.customerWrites(t, testCustomer)
	require.Equal(t, &whatsapp.Pricing{Billable: false, Model: "PMP", Category: "service", Type: "free_customer_service"}, send(testCustomer, text))
	require.Equal(t, &whatsapp.Pricing{Billable: true, Model: "PMP", Category: "service", Type: "regular"}, send(testCustomer, text),
		"beyond the monthly free tier")
}

func TestStatusFaults(t *testing.T) {
	t.Parallel()

	tests := []struct {
		name      string
		configure func(*sim.Config)
		faults    sim.Faults
		want      []string
		wantCode  int // of a failed status
	}{
		{"skipped delivered", func(c *sim.Config) { c.SkipDelivered = 1 }, sim.Faults{}, []string{"sent", "read"}, 0},
		{"duplicated webhooks", nil, sim.Faults{DuplicateRate: 1}, []string{"sent", "sent", "delivered", "delivered", "read", "read"}, 0},
		{"reordered statuses", nil, sim.Faults{ReorderRate: 1}, []string{"read", "delivered", "sent"}, 0},
		{"failed recipient", nil, sim.Faults{FailRecipients: map[string]int{testCustomer: whatsapp.CodeUndeliverable}}, []string{"failed"}, whatsapp.CodeUndeliverable},
		{"failed by rate", nil, sim.Faults{FailRate: 1, FailCode: 131049}, []string{"failed"}, 131049},
		{"failed by rate, default code", nil, sim.Faults{FailRate: 1}, []string{"failed"}, whatsapp.CodeUndeliverable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var configure []func(*sim.Config)
			if tt.configure != nil {
				configure = append(configure, tt.configure)
			}
			b := setup(t, configure...)
			require.NoError(t, b.sim.SetFaults(tt.faults))

			wamid := b.sendTemplate(t, testCustomer)

			statuses := b.hooks.waitStatuses(t, wamid, len(tt.want))
			require.Equal(t, tt.want, statusNames(statuses))
			if tt.wantCode != 0 {
				require.Len(t, statuses[0].Errors, 1)
				require.Equal(t, tt.wantCode, statuses[0].Errors[0].Code)
				require.NotEmpty(t, statuses[0].Errors[0].Title)
				require.Nil(t, statuses[0].Pricing)
			}
			require.Eventually(t, func() bool { return len(b.sim.Log()[0].Statuses) == len(tt.want) }, waitFor, time.Millisecond)
			require.Equal(t, tt.want, b.sim.Log()[0].Statuses, "the log counts every acknowledged post")
		})
	}
}

func TestReorderedStatusesKeepTheirTimestamps(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) {
		c.StatusDelays = sim.StatusDelays{Sent: time.Millisecond, Delivered: 1100 * time.Millisecond, Read: time.Millisecond}
	})
	require.NoError(t, b.sim.SetFaults(sim.Faults{ReorderRate: 1}))

	statuses := b.hooks.waitStatuses(t, b.sendTemplate(t, testCustomer), 3)

	require.Equal(t, []string{"read", "delivered", "sent"}, statusNames(statuses))
	require.True(t, statuses[2].Timestamp.Before(statuses[0].Timestamp), "sent happened first, though it arrives last")
}

func TestWebhookRetriedUntilAcknowledged(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.hooks.failPosts(3)

	wamid := b.sendTemplate(t, testCustomer)

	require.Equal(t, []string{"sent", "delivered", "read"}, statusNames(b.hooks.waitStatuses(t, wamid, 3)))
	b.hooks.mu.Lock()
	defer b.hooks.mu.Unlock()
	require.Equal(t, 6, b.hooks.posts, "three refused posts, then three acknowledged")
}

func TestWebhookRetriesAreBounded(t *testing.T) {
	t.Parallel()
	b := setup(t, func(c *sim.Config) { c.RetryFor = 30 * time.Millisecond })
	b.hooks.failPosts(1 << 30)

	b.sendTemplate(t, testCustomer)

	posts := func() int {
		b.hooks.mu.Lock()
		defer b.hooks.mu.Unlock()
		return b.hooks.posts
	}
	require.Eventually(t, func() bool {
		before := posts()
		time.Sleep(50 * time.Millisecond)
		return before > 3 && posts() == before
	}, waitFor, time.Millisecond, "posting goes on")
	require.Empty(t, b.sim.Log()[0].Statuses)
}
