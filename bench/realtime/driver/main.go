// Command driver runs the realtime benchmark (`make bench-realtime`): for
// each subscriber count and each mode it starts a fresh bench server, runs
// the load generator against it, stops the server, and finally prints every
// run, the medians over the rounds, and the gateway against the bars of
// BENCHMARKS.md. Everything listens on 127.0.0.1 and every step has a time
// limit.
//
// The modes serve the same subscription (wire.Subscription) with the same
// events, payload and number of clients, one after the other on the same
// machine:
//   - gateway: the API as server.go mounts it, with realtime/gateway;
//   - stock: the same API, schema and resolvers with gqlgen's
//     transport.Websocket in the gateway's place, admitting connections the
//     same way (authenticate, then the policy);
//   - raw: the floor, a coder/websocket server writing the bytes the gateway
//     would send for each event, built once, from a few goroutines.
//
// A run: connect the clients (1,000 a second), wait until the server holds
// every subscription, let it idle, collect garbage twice, and read memory and
// goroutines per connection against the empty server; publish one event
// every client must receive (a warm-up, not measured); then publish the
// measured events and take each delivery's latency as its receive time minus
// the event's "at" (the bus's publish time, to the microsecond). Server and
// load generator share the machine's cores, as in BENCHMARKS.md.
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/switchboard-dev/switchboard/bench/internal/benchws"
	"github.com/switchboard-dev/switchboard/bench/realtime/internal/wire"
)

const pkg = "github.com/switchboard-dev/switchboard/bench/realtime/"

type config struct {
	counts      []int
	modes       []string
	events      int
	rate        float64
	connectRate float64
	rounds      int
	profileDir  string
	runTimeout  time.Duration
}

func main() {
	var (
		cfg    config
		counts = flag.String("n", "1000,10000", "subscriber counts")
		modes  = flag.String("modes", "raw,gateway,stock", "modes, in the order they run")
		total  = flag.Duration("timeout", 20*time.Minute, "give up after this long")
	)
	flag.IntVar(&cfg.events, "events", 20, "events measured per run")
	flag.Float64Var(&cfg.rate, "rate", 2, "events per second")
	flag.Float64Var(&cfg.connectRate, "connect-rate", 1000, "new connections per second")
	flag.IntVar(&cfg.rounds, "rounds", 3, "times to run every mode and count; the table shows each run and the medians")
	flag.StringVar(&cfg.profileDir, "profile", "", "write each server's CPU profile of the measured window into this directory")
	flag.DurationVar(&cfg.runTimeout, "run-timeout", 4*time.Minute, "limit for one run")
	flag.Parse()
	for f := range strings.SplitSeq(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			fail(fmt.Errorf("-n: %q is not a count", f))
		}
		cfg.counts = append(cfg.counts, n)
	}
	cfg.modes = strings.Split(*modes, ",")

	ctx, cancel := context.WithTimeout(context.Background(), *total)
	defer cancel()
	results, err := run(ctx, cfg)
	printTable(os.Stdout, cfg, results)
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "bench-realtime:", err)
	os.Exit(1)
}

func run(ctx context.Context, cfg config) ([]wire.Result, error) {
	bin, err := os.MkdirTemp("", "bench-realtime-bin-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(bin)
	build := exec.CommandContext(ctx, goTool(), "build", "-o", bin+string(filepath.Separator), pkg+"server", pkg+"loadgen")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		return nil, fmt.Errorf("build: %w", err)
	}
	if cfg.profileDir != "" {
		if err := os.MkdirAll(cfg.profileDir, 0o755); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "bench-realtime: %d CPUs (GOMAXPROCS %d), load %s; %d events at %g/s per run\n",
		runtime.NumCPU(), runtime.GOMAXPROCS(0), benchws.LoadAvg(), cfg.events, cfg.rate)
	var results []wire.Result
	for round := range cfg.rounds {
		for _, n := range cfg.counts {
			for _, mode := range cfg.modes {
				res, err := runOne(ctx, cfg, bin, mode, n, round)
				if err != nil {
					res.Mode, res.N, res.Error = mode, n, err.Error()
				}
				results = append(results, res)
				if ctx.Err() != nil {
					return results, ctx.Err()
				}
				time.Sleep(2 * time.Second) // let the last run's sockets and memory go
			}
		}
	}
	return results, nil
}

// runOne starts a server in mode, runs the load generator against it, and
// stops the server.
func runOne(ctx context.Context, cfg config, bin, mode string, n, round int) (wire.Result, error) {
	ctx, cancel := context.WithTimeout(ctx, cfg.runTimeout)
	defer cancel()
	fmt.Fprintf(os.Stderr, "bench-realtime: %s, %d subscribers (load %s)\n", mode, n, benchws.LoadAvg())

	server := exec.Command(filepath.Join(bin, "server"), "-mode", mode, "-lifetime", cfg.runTimeout.String())
	server.Stderr = os.Stderr
	server.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the driver
	out, err := server.StdoutPipe()
	if err != nil {
		return wire.Result{}, err
	}
	if err := server.Start(); err != nil {
		return wire.Result{}, fmt.Errorf("start server: %w", err)
	}
	defer stop(server)
	ready, err := readyLine(ctx, out)
	if err != nil {
		return wire.Result{}, fmt.Errorf("server: %w", err)
	}

	args := []string{"-ready", ready, "-n", strconv.Itoa(n), "-events", strconv.Itoa(cfg.events),
		"-rate", strconv.FormatFloat(cfg.rate, 'g', -1, 64), "-connect-rate", strconv.FormatFloat(cfg.connectRate, 'g', -1, 64),
		"-timeout", (cfg.runTimeout - 10*time.Second).String()}
	if cfg.profileDir != "" {
		args = append(args, "-cpuprofile", filepath.Join(cfg.profileDir, fmt.Sprintf("%s-%d-r%d.pprof", mode, n, round)))
	}
	lg := exec.CommandContext(ctx, filepath.Join(bin, "loadgen"), args...)
	lg.Stderr = os.Stderr
	lg.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdout, runErr := lg.Output()
	var res wire.Result
	if err := json.Unmarshal(stdout, &res); err != nil {
		return res, fmt.Errorf("loadgen: %v (output %.200q)", errors.Join(runErr, err), stdout)
	}
	fmt.Fprintf(os.Stderr, "%s", stdout)
	if res.Error != "" {
		return res, errors.New(res.Error)
	}
	return res, runErr
}

// readyLine returns the server's first stdout line, its wire.Ready.
func readyLine(ctx context.Context, out interface{ Read([]byte) (int, error) }) (string, error) {
	line := make(chan string, 1)
	go func() {
		s := bufio.NewScanner(out)
		s.Buffer(make([]byte, 0, 4096), 1<<16)
		if s.Scan() {
			line <- s.Text()
		}
		close(line)
		for s.Scan() { // keep draining: the server must never block on stdout
		}
	}()
	select {
	case l, ok := <-line:
		if !ok {
			return "", errors.New("exited before it was ready")
		}
		return l, nil
	case <-time.After(time.Minute):
		return "", errors.New("not ready after a minute")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// stop asks the server to exit, then kills it after 5 s.
func stop(cmd *exec.Cmd) {
	_ = cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		_ = cmd.Process.Kill()
		<-done
	}
}

func goTool() string {
	if g := os.Getenv("GO"); g != "" {
		return g
	}
	return "go"
}
