package realtime_test

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/switchboard-dev/switchboard/realtime"
)

// A domain service publishes after its transaction committed; a gateway
// subscribes, and catches a reconnecting client up with Since.
func Example() {
	ctx := context.Background()
	bus := realtime.NewMemory()
	defer bus.Close()

	sub, err := bus.Subscribe(ctx, "ten_acme")
	if err != nil {
		panic(err)
	}
	for _, cnv := range []string{"cnv_1", "cnv_2", "cnv_3"} {
		_, err := bus.Publish(ctx, realtime.Event{
			TenantID: "ten_acme",
			Type:     "conversation.updated",
			Subject:  cnv,
			Data:     json.RawMessage(`{"status":"OPEN"}`),
		})
		if err != nil {
			panic(err)
		}
	}
	e := <-sub.Events()
	fmt.Println("live:", e.Seq, e.Type, e.Subject)

	// A client that saw seq 1 reconnects.
	missed, ok, err := bus.Since(ctx, "ten_acme", 1)
	if err != nil {
		panic(err)
	}
	for _, e := range missed {
		fmt.Println("replayed:", e.Seq, e.Subject)
	}
	fmt.Println("complete:", ok)
	// Output:
	// live: 1 conversation.updated cnv_1
	// replayed: 2 cnv_2
	// replayed: 3 cnv_3
	// complete: true
}
