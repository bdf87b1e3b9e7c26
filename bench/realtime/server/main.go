// Command server is the server side of the realtime benchmark: the
// Switchboard API over a fresh SQLite database, its websockets served by one
// of three transports (-mode gateway|stock|raw), plus two control endpoints:
//
//	/bench/publish?n=20&rate=2   publish n conversation events at rate per second (answers when done)
//	/bench/stats?gc=1            goroutines, memory and live subscriptions (after two GCs with gc=1)
//	/debug/pprof/                the profiler
//
// It prints one JSON line (wire.Ready) once it listens on 127.0.0.1, and
// exits on SIGINT/SIGTERM or after -lifetime.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"os"
	"os/signal"
	"runtime"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
	"github.com/switchboard-dev/switchboard/graph"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench server:", err)
		os.Exit(1)
	}
}

func run() error {
	mode := flag.String("mode", wire.ModeGateway, "gateway, stock or raw")
	addr := flag.String("addr", "127.0.0.1:0", "listen address (loopback)")
	lifetime := flag.Duration("lifetime", 15*time.Minute, "exit after this long whatever happens")
	rawWriters := flag.Int("raw-writers", 4, "raw mode: goroutines writing a broadcast, each to its share of the connections")
	gatewayWriters := flag.Int("gateway-writers", 0, "gateway mode: Config.Writers (0: the gateway's default)")
	gatewayKeepAlive := flag.Duration("gateway-keepalive", 0, "gateway mode: Config.KeepAlive (0: the gateway's default)")
	memProfileRate := flag.Int("memprofilerate", 0, "runtime.MemProfileRate, for /debug/pprof/heap (0: Go's default)")
	flag.Parse()
	if *memProfileRate > 0 {
		runtime.MemProfileRate = *memProfileRate
	}

	if _, err := wire.RaiseFileLimit(65536); err != nil {
		return err
	}
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()

	dir, err := os.MkdirTemp("", "bench-realtime-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	b, err := seed(ctx, dir, graph.GatewayConfig{Writers: *gatewayWriters, KeepAlive: *gatewayKeepAlive})
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	defer b.app.Close()

	var t backend
	switch *mode {
	case wire.ModeGateway:
		t = newGatewayTransport(b)
	case wire.ModeStock:
		t = newStockTransport(b)
	case wire.ModeRaw:
		t = newRawTransport(b, *rawWriters)
	default:
		return fmt.Errorf("unknown mode %q (gateway, stock or raw)", *mode)
	}

	mux := http.NewServeMux()
	mux.Handle("/graphql", t)
	mux.HandleFunc("/bench/publish", publishHandler(t))
	mux.HandleFunc("/bench/stats", statsHandler(t))
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()

	host := ln.Addr().String()
	ready := wire.Ready{Mode: *mode, URL: "ws://" + host + "/graphql", Base: "http://" + host,
		Token: b.token, Conversation: b.conversationID, PID: os.Getpid()}
	if err := json.NewEncoder(os.Stdout).Encode(ready); err != nil {
		return err
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	_ = srv.Close() // websockets are hijacked: the process exit closes them
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("lifetime of %s reached", *lifetime)
	}
	return nil
}

// backend is one mode: it serves the websockets on /graphql and publishes
// the benchmark's events to them.
type backend interface {
	http.Handler
	// publish sends one conversation event to every subscriber.
	publish(ctx context.Context) error
	// stats fills in what the mode knows about its subscriptions.
	stats(s *wire.Stats)
}
