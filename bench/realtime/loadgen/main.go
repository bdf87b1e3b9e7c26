// Command loadgen is the client side of the realtime benchmark: it opens N
// graphql-transport-ws clients against a bench server, measures the server's
// memory and goroutines per idle subscribed connection, then has the server
// publish events and measures event-to-client latency (receive time minus the
// event's "at", the bus's publish time). It prints one JSON wire.Result.
//
// Every client is one goroutine reading; a message is not decoded beyond
// finding its "at", so that the client side takes as little of the shared
// CPU as it can.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

func main() {
	var (
		ready   = flag.String("ready", "", "the server's ready line (JSON wire.Ready)")
		n       = flag.Int("n", 1000, "subscribers")
		events  = flag.Int("events", 20, "events to measure")
		rate    = flag.Float64("rate", 2, "events per second")
		connect = flag.Float64("connect-rate", 1000, "new connections per second")
		settle  = flag.Duration("settle", 2*time.Second, "idle time before measuring memory")
		timeout = flag.Duration("timeout", 4*time.Minute, "give up after this long")
		profile = flag.String("cpuprofile", "", "write the server's CPU profile of the measured window here")
	)
	flag.Parse()
	var r wire.Ready
	if err := json.Unmarshal([]byte(*ready), &r); err != nil {
		fail(fmt.Errorf("-ready: %w", err))
	}
	if _, err := wire.RaiseFileLimit(65536); err != nil {
		fail(err)
	}
	g := &generator{ready: r, n: *n, events: *events, rate: *rate, connectRate: *connect,
		settle: *settle, profile: *profile}
	res, err := g.run(*timeout)
	if err != nil {
		res.Error = err.Error()
	}
	_ = json.NewEncoder(os.Stdout).Encode(res)
	fmt.Fprintf(os.Stderr, "loadgen %s n=%d: delivered %d/%d p50 %.1fms p99 %.1fms max %.1fms, %.1f KiB and %.2f goroutines per idle connection%s\n",
		res.Mode, res.N, res.Delivered, res.Expected, res.P50ms, res.P99ms, res.MaxMs, res.KiBPerConn, res.GoroutinesP,
		errSuffix(err))
	if err != nil {
		os.Exit(1)
	}
}

func errSuffix(err error) string {
	if err == nil {
		return ""
	}
	return ": " + err.Error()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(2)
}

var errTimeout = errors.New("timed out")
