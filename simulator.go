package main

import (
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/ent"
	"github.com/switchboard-dev/switchboard/ent/conversation"
	"github.com/switchboard-dev/switchboard/ent/number"
	"github.com/switchboard-dev/switchboard/viewer"
	"github.com/switchboard-dev/switchboard/whatsapp"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// demoAppSecret signs the in-process simulator's webhooks when no app secret
// is configured: the demo's own, public.
const demoAppSecret = "switchboard-demo-app-secret"

// startSimulator runs the Cloud API simulator inside the server, under
// /sim/, for the demo: it serves the sim numbers (their tokens are set here),
// posts its webhooks back to /webhooks/whatsapp, has simulated customers
// write in, and takes one number offline now and then.
func startSimulator(ctx context.Context, cfg config, client *ent.Client, box *credential.Box, mux *http.ServeMux, log *slog.Logger) error {
	base := "http://127.0.0.1" + cfg.Addr[strings.LastIndex(cfg.Addr, ":"):]
	s, err := sim.New(sim.Config{
		WebhookURL: base + "/webhooks/whatsapp",
		AppSecret:  string(cfg.WhatsAppAppSecret),
		StatusDelays: sim.StatusDelays{
			Sent: 300 * time.Millisecond, Delivered: 1500 * time.Millisecond, Read: 6 * time.Second,
		},
		SkipDelivered: 0.1,
	})
	if err != nil {
		return err
	}
	go func() { <-ctx.Done(); s.Close() }()
	mux.Handle("/sim/", http.StripPrefix("/sim", s))

	pctx := viewer.Platform(ctx)
	nums, err := client.Number.Query().Where(number.ProviderEQ(number.ProviderSim), number.PhoneNumberIDNotNil(), number.UnlinkedAtIsNil()).All(pctx)
	if err != nil {
		return err
	}
	var ids []string
	for _, n := range nums {
		token := "sim-token-" + *n.PhoneNumberID
		if err := s.AddNumber(sim.Number{PhoneNumberID: *n.PhoneNumberID, Token: token, DisplayPhone: n.Phone[1:],
			VerifiedName: n.DisplayName, Throughput: n.Throughput, Status: string(n.Status)}); err != nil {
			return err
		}
		sealed, err := box.Seal(credential.Credentials{AccessToken: token}, n.ID)
		if err != nil {
			return err
		}
		if err := client.Number.UpdateOne(n).SetCredentials(sealed).Exec(viewer.System(ctx, n.TenantID)); err != nil {
			return err
		}
		if n.Status == number.StatusCONNECTED {
			ids = append(ids, *n.PhoneNumberID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// The simulator starts with no history: the customers of open demo
	// conversations write once more, which opens their 24-hour window there.
	convs, err := client.Conversation.Query().
		Where(conversation.StatusNEQ(conversation.StatusRESOLVED), conversation.HasNumberWith(number.PhoneNumberIDIn(ids...))).
		WithContact().WithNumber().All(pctx)
	if err != nil {
		return err
	}
	go func() {
		for _, c := range convs {
			_, _ = s.WriteIn(*c.Edges.Number.PhoneNumberID, c.Edges.Contact.WaID, whatsapp.Message{
				Type: "text", Text: "Are you there?", ProfileName: c.Edges.Contact.ProfileName,
			})
		}
	}()
	if err := s.StartCustomers(ctx, 0.2, ids...); err != nil {
		return err
	}
	go flapNumbers(ctx, s, ids, log)
	log.Info("simulator: serving the demo numbers", "numbers", len(ids), "api", base+"/sim")
	return nil
}

// flapNumbers takes a random number offline for half a minute every few
// minutes, so the dashboard has something to show.
func flapNumbers(ctx context.Context, s *sim.Simulator, ids []string, log *slog.Logger) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Duration(2+rand.IntN(3)) * time.Minute):
		}
		id := ids[rand.IntN(len(ids))]
		log.Info(fmt.Sprintf("simulator: number %s goes offline for 30s", id))
		_ = s.SetStatus(id, "DISCONNECTED")
		select {
		case <-ctx.Done():
			return
		case <-time.After(30 * time.Second):
		}
		_ = s.SetStatus(id, "CONNECTED")
	}
}
