package sim_test

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// A test drives the connector's client against the simulator: a customer
// writes in, the business answers, and a day later only a template goes
// through.
func Example() {
	s, err := sim.New(sim.Config{Numbers: []sim.Number{{PhoneNumberID: "106540352242922", Token: "sim-token"}}})
	if err != nil {
		panic(err)
	}
	defer s.Close()
	server := httptest.NewServer(s)
	defer server.Close()
	client := &whatsapp.Client{BaseURL: server.URL}
	ctx := context.Background()

	question, _ := s.WriteIn("106540352242922", "16505551234", whatsapp.Message{Text: "Is my order on its way?", ProfileName: "Sheena"})
	_, err = client.SendText(ctx, "106540352242922", "sim-token", "16505551234", "Yes, it arrives tomorrow", question)
	fmt.Println("inside the window:", err)

	_ = s.Advance(25 * time.Hour)
	_, err = client.SendText(ctx, "106540352242922", "sim-token", "16505551234", "Did it arrive?", "")
	apiErr, _ := errors.AsType[*whatsapp.APIError](err)
	fmt.Println("a day later:", apiErr.Code, apiErr.Permanent())
	_, err = client.SendTemplate(ctx, "106540352242922", "sim-token", "16505551234", whatsapp.Template{Name: "delivery_check", Language: "en_US"}, "")
	fmt.Println("a template:", err)

	for _, sent := range s.Log() {
		fmt.Println(sent.To, sent.Type)
	}
	// Output:
	// inside the window: <nil>
	// a day later: 131047 true
	// a template: <nil>
	// 16505551234 text
	// 16505551234 template
}
