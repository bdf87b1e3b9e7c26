// Command whatsapp-sim serves the WhatsApp Cloud API simulator on its own:
//
//	go run ./whatsapp/sim/cmd/whatsapp-sim -addr 127.0.0.1:9090 \
//	    -webhook http://127.0.0.1:8080/webhooks/whatsapp -app-secret s3cret \
//	    -number 109876543210987:sim-token -customers 0.5
//
// Point the Cloud API client's base URL at http://127.0.0.1:9090 and drive
// faults through the control API under /_sim/ (see the sim package).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:]); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, args []string) error {
	flags := flag.NewFlagSet("whatsapp-sim", flag.ContinueOnError)
	addr := flags.String("addr", "127.0.0.1:9090", "address to serve the Cloud API and the control API on")
	cfg := sim.Config{}
	flags.StringVar(&cfg.WebhookURL, "webhook", "", "URL the webhooks are POSTed to (none when empty)")
	flags.StringVar(&cfg.AppSecret, "app-secret", "", "app secret that signs the webhooks (X-Hub-Signature-256)")
	flags.StringVar(&cfg.WABAID, "waba", sim.DefaultWABAID, "WhatsApp Business Account id of the webhooks")
	flags.Func("number", "business number as id:token[:display phone] (repeatable; default 109876543210987:sim-token)", func(v string) error {
		parts := strings.Split(v, ":")
		if len(parts) < 2 || len(parts) > 3 {
			return errors.New("want id:token[:display phone]")
		}
		n := sim.Number{PhoneNumberID: parts[0], Token: parts[1]}
		if len(parts) == 3 {
			n.DisplayPhone = parts[2]
		}
		cfg.Numbers = append(cfg.Numbers, n)
		return nil
	})
	delays := flags.String("delays", "200ms,1s,3s", "waits before sent, then delivered, then read")
	flags.Float64Var(&cfg.SkipDelivered, "skip-delivered", 0, "probability that a message's delivered status never comes")
	flags.DurationVar(&cfg.PairInterval, "pair-interval", sim.DefaultPairInterval, "least time between two messages to the same customer; negative: no limit")
	flags.Uint64Var(&cfg.Seed, "seed", 0, "seed of the random choices; random when 0")
	customers := flags.Float64("customers", 0, "simulated customers write this many messages per second in all (0: none)")
	if err := flags.Parse(args); err != nil {
		return err
	}
	var err error
	if cfg.StatusDelays, err = parseDelays(*delays); err != nil {
		return err
	}
	if len(cfg.Numbers) == 0 {
		cfg.Numbers = []sim.Number{{PhoneNumberID: "109876543210987", Token: "sim-token"}}
	}
	if cfg.WebhookURL != "" && cfg.AppSecret == "" {
		return errors.New("-webhook needs -app-secret: receivers refuse unsigned webhooks")
	}

	s, err := sim.New(cfg)
	if err != nil {
		return err
	}
	defer s.Close()
	if *customers > 0 {
		ids := make([]string, len(cfg.Numbers))
		for i, n := range cfg.Numbers {
			ids[i] = n.PhoneNumberID
		}
		if err := s.StartCustomers(ctx, *customers, ids...); err != nil {
			return err
		}
	}

	server := &http.Server{Addr: *addr, Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(shutdown)
	}()
	for _, n := range s.Numbers() {
		log.Printf("serving number %s (display %s)", n.PhoneNumberID, n.DisplayPhone)
	}
	log.Printf("Cloud API on http://%s/v21.0/..., control API on http://%s/_sim/, webhooks to %q", *addr, *addr, cfg.WebhookURL)
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func parseDelays(v string) (sim.StatusDelays, error) {
	parts := strings.Split(v, ",")
	if len(parts) != 3 {
		return sim.StatusDelays{}, fmt.Errorf("-delays %q: want three durations, sent,delivered,read", v)
	}
	var d [3]time.Duration
	for i, p := range parts {
		var err error
		if d[i], err = time.ParseDuration(strings.TrimSpace(p)); err != nil {
			return sim.StatusDelays{}, fmt.Errorf("-delays: %w", err)
		}
	}
	return sim.StatusDelays{Sent: d[0], Delivered: d[1], Read: d[2]}, nil
}
