package sim_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

func TestWriteIn(t *testing.T) {
	t.Parallel()

	// sendInteractive has the business send buttons and a list; the customer answers them.
	sendInteractive := func(t *testing.T, b *testBundle) (buttons, list string) {
		t.Helper()
		b.customerWrites(t, testCustomer)
		buttons, err := b.client.SendInteractive(t.Context(), testNumber, testToken, testCustomer, whatsapp.Interactive{
			Body: "Deliver tomorrow?", Buttons: []whatsapp.ReplyButton{{ID: "yes", Title: "Yes please"}, {ID: "no", Title: "No"}},
		}, "")
		require.NoError(t, err)
		list, err = b.client.SendInteractive(t.Context(), testNumber, testToken, testCustomer, whatsapp.Interactive{
			Body: "Pick a slot", List: &whatsapp.List{Button: "Slots", Sections: []whatsapp.ListSection{
				{Rows: []whatsapp.ListRow{{ID: "am", Title: "Morning", Description: "9 to 12"}}},
			}},
		}, "")
		require.NoError(t, err)
		return buttons, list
	}
	tests := []struct {
		name  string
		write func(t *testing.T, b *testBundle) whatsapp.Message
		check func(t *testing.T, b *testBundle, in, got whatsapp.Message)
	}{
		{
			name:  "text",
			write: func(*testing.T, *testBundle) whatsapp.Message { return whatsapp.Message{Text: "Does it come in blue?"} },
			check: func(t *testing.T, _ *testBundle, _, got whatsapp.Message) {
				require.Equal(t, "text", got.Type)
				require.Equal(t, "Does it come in blue?", got.Text)
			},
		},
		{
			name: "order from an ad",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Order: &whatsapp.Order{CatalogID: "cat-7", Text: "for Friday",
					Items: []whatsapp.OrderItem{{ProductRetailerID: "SKU-1", Quantity: 2, ItemPrice: 9.5, Currency: "EUR"}}},
					Referral: &whatsapp.Referral{SourceType: "ad", Headline: "Summer sale", CTWAClickID: "ARAk"}}
			},
			check: func(t *testing.T, _ *testBundle, in, got whatsapp.Message) {
				require.Equal(t, "order", got.Type)
				require.Equal(t, in.Order, got.Order)
				require.Equal(t, in.Referral, got.Referral)
			},
		},
		{
			name: "image with a placeholder file",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Type: "image", Media: &whatsapp.Media{Caption: "the damage"}}
			},
			check: func(t *testing.T, b *testBundle, _, got whatsapp.Message) {
				require.Equal(t, "image", got.Type)
				require.NotEmpty(t, got.Media.ID)
				require.Equal(t, "image/jpeg", got.Media.MimeType)
				require.NotEmpty(t, got.Media.SHA256)
				require.Equal(t, "the damage", got.Media.Caption)
				status, out := b.call(t, http.MethodGet, "/v21.0/"+got.Media.ID, testToken, nil)
				require.Equal(t, http.StatusOK, status, "the business can fetch the customer's media: %v", out)
			},
		},
		{
			name: "voice note",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Type: "audio", Media: &whatsapp.Media{Voice: true}}
			},
			check: func(t *testing.T, _ *testBundle, _, got whatsapp.Message) {
				require.Equal(t, "audio", got.Type)
				require.True(t, got.Media.Voice)
			},
		},
		{
			name: "location",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Location: &whatsapp.Location{Latitude: 38.72, Longitude: -9.14, Name: "Home"}}
			},
			check: func(t *testing.T, _ *testBundle, _, got whatsapp.Message) {
				require.Equal(t, "location", got.Type)
				require.Equal(t, &whatsapp.Location{Latitude: 38.72, Longitude: -9.14, Name: "Home"}, got.Location)
			},
		},
		{
			name: "contacts",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Contacts: []whatsapp.SharedContact{{
					Name:   whatsapp.ContactName{Formatted: "Chandler Bing", First: "Chandler", Last: "Bing"},
					Phones: []whatsapp.ContactPhone{{Phone: "+1 555-555-5555", WAID: "15555555555", Type: "CELL"}},
				}}}
			},
			check: func(t *testing.T, _ *testBundle, in, got whatsapp.Message) {
				require.Equal(t, "contacts", got.Type)
				require.Equal(t, in.Contacts, got.Contacts)
			},
		},
		{
			name: "button reply",
			write: func(t *testing.T, b *testBundle) whatsapp.Message {
				buttons, _ := sendInteractive(t, b)
				return whatsapp.Message{Interactive: &whatsapp.InteractiveReply{ID: "yes"}, Context: &whatsapp.Context{MessageID: buttons}}
			},
			check: func(t *testing.T, _ *testBundle, in, got whatsapp.Message) {
				require.Equal(t, "interactive", got.Type)
				require.Equal(t, &whatsapp.InteractiveReply{Type: "button_reply", ID: "yes", Title: "Yes please"}, got.Interactive)
				require.Equal(t, in.Context.MessageID, got.Context.MessageID)
			},
		},
		{
			name: "list reply",
			write: func(t *testing.T, b *testBundle) whatsapp.Message {
				_, list := sendInteractive(t, b)
				return whatsapp.Message{Interactive: &whatsapp.InteractiveReply{ID: "am"}, Context: &whatsapp.Context{MessageID: list}}
			},
			check: func(t *testing.T, _ *testBundle, _, got whatsapp.Message) {
				require.Equal(t, &whatsapp.InteractiveReply{Type: "list_reply", ID: "am", Title: "Morning", Description: "9 to 12"}, got.Interactive)
			},
		},
		{
			name: "template quick reply",
			write: func(*testing.T, *testBundle) whatsapp.Message {
				return whatsapp.Message{Button: &whatsapp.Button{Payload: "STOP", Text: "Stop promotions"}}
			},
			check: func(t *testing.T, _ *testBundle, _, got whatsapp.Message) {
				require.Equal(t, "button", got.Type)
				require.Equal(t, &whatsapp.Button{Payload: "STOP", Text: "Stop promotions"}, got.Button)
			},
		},
		{
			name: "reaction",
			write: func(t *testing.T, b *testBundle) whatsapp.Message {
				b.customerWrites(t, testCustomer)
				sent, err := b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Shipped!", "")
				require.NoError(t, err)
				return whatsapp.Message{Reaction: &whatsapp.Reaction{MessageID: sent, Emoji: "❤️"}}
			},
			check: func(t *testing.T, _ *testBundle, in, got whatsapp.Message) {
				require.Equal(t, "reaction", got.Type)
				require.Equal(t, in.Reaction, got.Reaction)
			},
		},
		{
			name: "reply with context",
			write: func(t *testing.T, b *testBundle) whatsapp.Message {
				b.customerWrites(t, testCustomer)
				sent, err := b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Tomorrow at 9?", "")
				require.NoError(t, err)
				return whatsapp.Message{Text: "Perfect", Context: &whatsapp.Context{MessageID: sent}}
			},
			check: func(t *testing.T, _ *testBundle, in, got whatsapp.Message) {
				require.Equal(t, &whatsapp.Context{From: testDisplay, MessageID: in.Context.MessageID}, got.Context)
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			b := setup(t)
			in := tt.write(t, b)
			in.ProfileName = "Sheena Nelson"

			wamid, err := b.sim.WriteIn(testNumber, testCustomer, in)
			require.NoError(t, err)

			change, got := b.hooks.waitMessage(t, wamid)
			require.Equal(t, testNumber, change.PhoneNumberID)
			require.Equal(t, testDisplay, change.DisplayPhone)
			require.Equal(t, testCustomer, got.From)
			require.Equal(t, "Sheena Nelson", got.ProfileName)
			require.WithinDuration(t, b.sim.Now(), got.Timestamp, 2*time.Second)
			tt.check(t, b, in, got)
		})
	}
}

func TestWriteInRefusesWhatACustomerCannotSend(t *testing.T) {
	t.Parallel()
	b := setup(t)
	b.customerWrites(t, testCustomer)
	text, err := b.client.SendText(t.Context(), testNumber, testToken, testCustomer, "Hello", "")
	require.NoError(t, err)
	buttons, err := b.client.SendInteractive(t.Context(), testNumber, testToken, testCustomer, whatsapp.Interactive{
		Body: "Deliver tomorrow?", Buttons: []whatsapp.ReplyButton{{ID: "yes", Title: "Yes"}},
	}, "")
	require.NoError(t, err)

	tests := []struct {
		name   string
		number string
		from   string
		m      whatsapp.Message
	}{
		{"unknown number", "999", testCustomer, whatsapp.Message{Text: "hi"}},
		{"no sender", testNumber, "", whatsapp.Message{Text: "hi"}},
		{"nothing written", testNumber, testCustomer, whatsapp.Message{}},
		{"empty text", testNumber, testCustomer, whatsapp.Message{Type: "text"}},
		{"unsupported type", testNumber, testCustomer, whatsapp.Message{Type: "order"}},
		{"reaction to nothing", testNumber, testCustomer, whatsapp.Message{Reaction: &whatsapp.Reaction{Emoji: "👍"}}},
		{"interactive reply without context", testNumber, testCustomer, whatsapp.Message{Interactive: &whatsapp.InteractiveReply{ID: "yes"}}},
		{"interactive reply to a text", testNumber, testCustomer, whatsapp.Message{
			Interactive: &whatsapp.InteractiveReply{ID: "yes"}, Context: &whatsapp.Context{MessageID: text}}},
		{"interactive reply with an option not offered", testNumber, testCustomer, whatsapp.Message{
			Interactive: &whatsapp.InteractiveReply{ID: "maybe"}, Context: &whatsapp.Context{MessageID: buttons}}},
		{"interactive reply by someone else", testNumber, "34600000000", whatsapp.Message{
			Interactive: &whatsapp.InteractiveReply{ID: "yes"}, Context: &whatsapp.Context{MessageID: buttons}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, err := b.sim.WriteIn(tt.number, tt.from, tt.m)
			require.Error(t, err)
		})
	}
}

func TestStartCustomers(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx, stop := context.WithCancel(t.Context())
	defer stop()

	require.Error(t, b.sim.StartCustomers(ctx, 0, testNumber))
	require.Error(t, b.sim.StartCustomers(ctx, 1))
	require.ErrorIs(t, b.sim.StartCustomers(ctx, 1, "999"), sim.ErrUnknownNumber)
	require.NoError(t, b.sim.StartCustomers(ctx, 500, testNumber))

	customers := sim.Customers()
	var messages []whatsapp.Message
	require.Eventually(t, func() bool {
		messages = messages[:0]
		for _, c := range b.hooks.snapshot() {
			messages = append(messages, c.Messages...)
		}
		return len(messages) >= 20
	}, waitFor, time.Millisecond)
	stop()
	for _, m := range messages {
		require.Contains(t, customers, m.From)
		require.Equal(t, customers[m.From], m.ProfileName)
	}

	// A customer who wrote may now get a text: the window is open.
	_, err := b.client.SendText(t.Context(), testNumber, testToken, messages[0].From, "Thanks for writing", "")
	require.NoError(t, err)
}
