package whatsapp_test

import (
	"fmt"

	"github.com/switchboard-dev/switchboard/whatsapp"
)

// A webhook handler verifies the signature on the raw body, then parses it.
func ExampleParse() {
	secret := []byte("app-secret")
	body := []byte(`{"object":"whatsapp_business_account","entry":[{"id":"102290129340398","changes":[{"field":"messages","value":{
		"messaging_product":"whatsapp",
		"metadata":{"display_phone_number":"15550783881","phone_number_id":"106540352242922"},
		"contacts":[{"profile":{"name":"Sheena Nelson"},"wa_id":"16505551234"}],
		"messages":[{"from":"16505551234","id":"wamid.HBgLMTY1MDUwNzY1MjAVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA=","timestamp":"1749416383","type":"text","text":{"body":"Does it come in another color?"}}],
		"statuses":[{"id":"wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA","status":"read","timestamp":"1750263773","recipient_id":"16505551234"}]}}]}]}`)

	if err := whatsapp.VerifySignature(secret, body, whatsapp.Sign(secret, body)); err != nil {
		fmt.Println("reject:", err)
		return
	}
	n, err := whatsapp.Parse(body)
	if err != nil {
		fmt.Println("store the raw body, report:", err)
		return
	}
	for _, c := range n.Changes {
		for _, m := range c.Messages {
			fmt.Printf("to %s from %s (%s) at %s: %s %q\n", c.PhoneNumberID, m.From, m.ProfileName, m.Timestamp.Format("2006-01-02 15:04"), m.Type, m.Text)
		}
		for _, s := range c.Statuses {
			fmt.Printf("%s is %s\n", s.MessageID, s.Status)
		}
	}
	// Output:
	// to 106540352242922 from 16505551234 (Sheena Nelson) at 2025-06-08 20:59: text "Does it come in another color?"
	// wamid.HBgLMTY1MDUwNzY1MjAVAgARGBI3MTE5MjVBOTE3MDk5QUVFM0YA is read
}
