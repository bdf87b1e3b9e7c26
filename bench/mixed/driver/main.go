// Command driver runs the mixed realtime benchmark (`make bench-mixed`, see
// package mixed): for each agent count it starts a fresh server (this same
// binary, run as "driver serve"), loads it from this process, and finally
// prints the table of BENCHMARKS.md. Everything listens on 127.0.0.1 and
// every step has a time limit.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/bench/internal/benchws"
	"github.com/switchboard-dev/switchboard/bench/mixed"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "serve" {
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		if err := mixed.Serve(ctx, os.Args[2:], os.Stdout, os.Stderr); err != nil {
			fmt.Fprintln(os.Stderr, "bench-mixed server:", err)
			os.Exit(1)
		}
		return
	}
	var (
		cfg    mixed.Config
		agents = flag.String("agents", "10,100,1000", "agent counts, one run each")
		total  = flag.Duration("timeout", 30*time.Minute, "give up after this long")
		asJSON = flag.String("json", "", "also write the results to this file as JSON")
	)
	flag.IntVar(&cfg.Supervisors, "supervisors", 10, "supervisors online")
	flag.IntVar(&cfg.Numbers, "numbers", 10, "numbers; agents are spread evenly over them")
	flag.IntVar(&cfg.PerAgent, "per-agent", 2, "conversations assigned to each agent")
	flag.IntVar(&cfg.Messages, "messages", 300, "inbound messages measured per run")
	flag.Float64Var(&cfg.Rate, "rate", 20, "inbound messages per second")
	flag.Float64Var(&cfg.ConnectRate, "connect-rate", 200, "new websockets per second")
	flag.DurationVar(&cfg.Drain, "drain", 15*time.Second, "how long deliveries may trail the last post")
	flag.DurationVar(&cfg.RunTimeout, "run-timeout", 6*time.Minute, "limit for one run, seeding included")
	flag.Parse()
	for f := range strings.SplitSeq(*agents, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-agents: %q is not a count", f))
		}
		cfg.Agents = append(cfg.Agents, n)
	}
	self, err := os.Executable()
	if err != nil {
		fail(err)
	}
	cfg.Server = func(ctx context.Context, args []string) *exec.Cmd {
		return exec.CommandContext(ctx, self, append([]string{"serve"}, args...)...)
	}
	cfg.Log = os.Stderr

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *total)
	defer cancel()
	fmt.Fprintf(os.Stderr, "bench-mixed: %d CPUs, load %s\n", runtime.NumCPU(), benchws.LoadAvg())
	results := mixed.Run(ctx, cfg)
	mixed.PrintTable(os.Stdout, cfg, results)
	if *asJSON != "" {
		b, _ := json.MarshalIndent(results, "", "  ")
		if err := os.WriteFile(*asJSON, b, 0o644); err != nil {
			fail(err)
		}
	}
	for _, r := range results {
		if r.Error != "" {
			os.Exit(1)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-mixed:", err)
	os.Exit(2)
}
