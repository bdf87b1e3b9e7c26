package mixed

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-dev/switchboard/app"
	"github.com/switchboard-dev/switchboard/store"
)

// appSecret is the WhatsApp app secret the bench server is configured with;
// the load signs its webhooks with it (Seed.AppSecret).
const appSecret = "bench-mixed app secret"

// serverDirPrefix names the server's temporary directory.
const serverDirPrefix = "bench-mixed-server-"

// Shape is what the server seeds.
type Shape struct {
	Agents      int // with the built-in agent role
	Supervisors int // with the built-in supervisor role
	Numbers     int // the agents are spread evenly over them
	PerAgent    int // conversations assigned to each agent, each with its own customer
}

func (s Shape) args() []string {
	return []string{"-agents", strconv.Itoa(s.Agents), "-supervisors", strconv.Itoa(s.Supervisors),
		"-numbers", strconv.Itoa(s.Numbers), "-per-agent", strconv.Itoa(s.PerAgent)}
}

// Serve is the server process: it parses args (Shape's flags and
// -lifetime), builds the App as server.go does over SQLite in a new
// temporary directory, seeds the Shape, starts the App (job workers on),
// serves it on 127.0.0.1 with /bench/stats beside it, prints a Ready line
// on stdout and serves until ctx ends or the lifetime passes. Logs at WARN
// and above go to stderr.
func Serve(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	var shape Shape
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	fs.IntVar(&shape.Agents, "agents", 10, "agents")
	fs.IntVar(&shape.Supervisors, "supervisors", 10, "supervisors")
	fs.IntVar(&shape.Numbers, "numbers", 10, "numbers (at most one per agent)")
	fs.IntVar(&shape.PerAgent, "per-agent", 2, "conversations assigned to each agent")
	lifetime := fs.Duration("lifetime", 15*time.Minute, "exit after this long whatever happens")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if shape.Agents < 1 || shape.Supervisors < 0 || shape.Numbers < 1 || shape.PerAgent < 1 {
		return errors.New("serve: agents, numbers and per-agent must be positive, supervisors not negative")
	}
	shape.Numbers = min(shape.Numbers, shape.Agents)
	ctx, cancel := context.WithTimeout(ctx, *lifetime)
	defer cancel()

	dir, err := os.MkdirTemp("", serverDirPrefix+"*")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	cfg, err := serverConfig(dir)
	if err != nil {
		return err
	}
	var counter statementCounter
	db, err := store.Open(ctx, cfg.DatabaseURL, store.WithDriver(counter.wrap))
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	a, err := app.New(ctx, cfg, app.WithDB(db), app.WithLogger(log))
	if err != nil {
		return err
	}
	defer a.Close()
	seed, err := seedTenant(ctx, a, shape)
	if err != nil {
		return fmt.Errorf("seed: %w", err)
	}
	if err := a.Start(ctx); err != nil {
		return err
	}

	mux := http.NewServeMux()
	mux.Handle("/", a.Handler())
	mux.HandleFunc("/bench/stats", func(w http.ResponseWriter, _ *http.Request) {
		gs := a.Gateway.Stats()
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(Stats{Statements: counter.n.Load(), Connections: gs.Connections,
			Subscriptions: gs.Subscriptions, Executions: gs.Executions, TooSlow: gs.TooSlow})
	})
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	defer srv.Close() // websockets are hijacked: a.Close closes them

	path := filepath.Join(dir, "seed.json")
	if err := writeJSON(path, seed); err != nil {
		return err
	}
	if err := json.NewEncoder(stdout).Encode(Ready{Base: "http://" + ln.Addr().String(), Seed: path}); err != nil {
		return err
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("lifetime of %s reached", *lifetime)
	}
	return nil
}

// serverConfig is the production configuration read from an environment
// that names a fresh SQLite database in dir, no demo, the benchmark's app
// secret, and a provider address on loopback where nothing listens (nothing
// is sent, and nothing leaves the machine).
func serverConfig(dir string) (app.Config, error) {
	env := map[string]string{
		"DATABASE_URL":                    "sqlite:" + filepath.Join(dir, "bench.db"),
		"SWITCHBOARD_DATA_DIR":            dir,
		"SWITCHBOARD_SECRET":              strings.Repeat("m", 32),
		"SWITCHBOARD_DEMO":                "false",
		"SWITCHBOARD_WHATSAPP_APP_SECRET": appSecret,
		"SWITCHBOARD_WHATSAPP_API_URL":    "http://127.0.0.1:1",
		"SWITCHBOARD_ACCESS_TOKEN_TTL":    "1h",
		"SWITCHBOARD_SHUTDOWN_TIMEOUT":    "5s", // the job workers' stop: the load kills the server after 15 s
	}
	return app.LoadConfig(func(k string) string { return env[k] })
}

func writeJSON(path string, v any) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := json.NewEncoder(f).Encode(v); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
