// Command switchboard serves the Switchboard GraphQL API.
//
//	switchboard                 serve (configured from the environment; see README.md)
//	switchboard create-tenant   create a tenant and its first owner, then exit
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-dev/switchboard/auth"
	"github.com/switchboard-dev/switchboard/credential"
	"github.com/switchboard-dev/switchboard/demo"
	"github.com/switchboard-dev/switchboard/graph"
	"github.com/switchboard-dev/switchboard/middleware"
	"github.com/switchboard-dev/switchboard/policy"
	"github.com/switchboard-dev/switchboard/presence"
	"github.com/switchboard-dev/switchboard/realtime"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/store"
	"github.com/switchboard-dev/switchboard/tenant"
	"github.com/switchboard-dev/switchboard/web"
)

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "switchboard:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	cfg, err := loadConfig(os.Getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	logger := newLogger(cfg)
	slog.SetDefault(logger)
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	if len(args) > 0 && args[0] == "create-tenant" {
		return createTenant(ctx, db, args[1:])
	}
	if len(args) > 0 {
		return fmt.Errorf("unknown command %q (commands: create-tenant)", args[0])
	}
	return serve(ctx, cfg, db, logger, os.Stdout)
}

// serve runs the server until ctx ends; with the demo, it prints how to sign
// in on out.
func serve(ctx context.Context, cfg config, db *store.DB, logger *slog.Logger, out io.Writer) error {
	if cfg.Demo {
		login, err := demo.Seed(ctx, db.Client)
		if err != nil {
			return fmt.Errorf("demo: %w", err)
		}
		if login != nil {
			printLogin(out, cfg, login)
		}
	}
	tokens, err := auth.NewTokens(cfg.Secret, cfg.AccessTokenTTL)
	if err != nil {
		return err
	}
	postgresURL := ""
	if isPostgres(cfg.DatabaseURL) {
		postgresURL = cfg.DatabaseURL
	}
	bus, err := realtime.Open(ctx, db.SQL, postgresURL, cfg.NATSURL, realtime.WithLogger(logger))
	if err != nil {
		return fmt.Errorf("event bus: %w", err)
	}
	defer bus.Close()
	pub := realtime.NewPublisher(bus, logger)
	box, err := credential.NewBox(cfg.Secret)
	if err != nil {
		return err
	}
	whatsApp, err := newConnector(cfg, db, pub, box, logger)
	if err != nil {
		return fmt.Errorf("whatsapp: %w", err)
	}
	if err := whatsApp.jobs.Start(ctx); err != nil {
		return fmt.Errorf("jobs: %w", err)
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
		defer cancel()
		if err := whatsApp.jobs.Stop(sctx); err != nil {
			logger.Warn("jobs still running at the deadline: they will be retried", "err", err)
		}
	}()
	authz := policy.NewAuthorizer(db.Client)
	authService := auth.NewService(db.Client, tokens, authz, pub, cfg.RefreshTokenTTL)
	tracker := presence.NewTracker(db.Client, bus, cfg.PresenceGrace, logger)
	go tracker.Run(ctx)
	resolver := graph.NewResolver(graph.Deps{
		Client: db.Client, Auth: authService, Authz: authz, Bus: bus, Jobs: whatsApp.jobs, Box: box, Presence: tracker,
	})
	gw := graph.NewGateway(resolver, graph.GatewayConfig{OriginPatterns: cfg.CORSOrigins})
	if err := graph.FollowPolicy(ctx, bus, authz, gw, logger); err != nil {
		return err
	}
	api := graph.NewAPI(resolver, graph.Config{
		Introspection: cfg.Introspection,
		MaxDepth:      cfg.MaxDepth,
		MaxComplexity: cfg.MaxComplexity,
		MaxBodyBytes:  cfg.MaxBodyBytes,
	}, gw)

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerGatewayMetrics(reg, gw)
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhooks_accepted_total", Help: "Signed webhooks stored."},
			func() float64 { return float64(whatsApp.webhook.Accepted()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhooks_rejected_total", Help: "Webhooks refused for a missing or wrong signature."},
			func() float64 { return float64(whatsApp.webhook.Rejected()) }),
	)
	metrics := middleware.NewHTTPMetrics(reg)
	var draining atomic.Bool

	mux := http.NewServeMux()
	mux.Handle("/graphql", metrics.Route("graphql", middleware.CORS(cfg.CORSOrigins, api)))
	mux.Handle("/webhooks/whatsapp", metrics.Route("webhook", whatsApp.webhook))
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
		defer cancel()
		if draining.Load() {
			http.Error(w, "draining", http.StatusServiceUnavailable)
			return
		}
		if err := db.SQL.PingContext(ctx); err != nil {
			http.Error(w, "database unavailable", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ready")
	})
	mux.Handle("/", web.Handler())
	if cfg.Simulator {
		if err := startSimulator(ctx, cfg, db.Client, box, mux, logger); err != nil {
			return fmt.Errorf("simulator: %w", err)
		}
	}

	srv := &http.Server{
		Addr:              cfg.Addr,
		Handler:           middleware.Log(logger, mux),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.ListenAndServe() }()
	logger.Info("serving", "addr", cfg.Addr, "database", db.Dialect, "graphiql", baseURL(cfg.Addr)+"/")

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("draining", "timeout", cfg.ShutdownTimeout)
	draining.Store(true)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownTimeout)
	defer cancel()
	// Websockets are hijacked: the HTTP server does not wait for them.
	if err := gw.Shutdown(sctx); err != nil {
		logger.Warn("websockets still open at the deadline", "err", err)
	}
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	logger.Info("stopped")
	return nil
}

func createTenant(ctx context.Context, db *store.DB, args []string) error {
	fs := flag.NewFlagSet("create-tenant", flag.ContinueOnError)
	var in tenant.Input
	fs.StringVar(&in.Name, "name", "", "company name (required)")
	fs.StringVar(&in.Slug, "slug", "", "short unique name, lowercase letters, digits and dashes (required)")
	fs.StringVar(&in.Timezone, "timezone", "UTC", "IANA time zone, e.g. Europe/Paris")
	fs.StringVar(&in.OwnerName, "owner-name", "", "the first owner's name (required)")
	fs.StringVar(&in.OwnerEmail, "owner-email", "", "the first owner's email (required)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	in.OwnerPassword = os.Getenv("SWITCHBOARD_OWNER_PASSWORD")
	if in.Name == "" || in.Slug == "" || in.OwnerName == "" || in.OwnerEmail == "" || in.OwnerPassword == "" {
		fs.Usage()
		return errors.New("name, slug, owner-name, owner-email and SWITCHBOARD_OWNER_PASSWORD (in the environment, not on the command line) are required")
	}
	t, owner, err := tenant.Create(ctx, db.Client, in)
	if err != nil {
		return err
	}
	fmt.Printf("created tenant %s (%s) with owner %s <%s>\n", t.Slug, t.ID, owner.Name, owner.Email)
	return nil
}

// registerGatewayMetrics exposes the websocket gateway's counters.
func registerGatewayMetrics(reg prometheus.Registerer, gw *gateway.Gateway) {
	gauge := func(name, help string, f func(gateway.Stats) float64) {
		reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help},
			func() float64 { return f(gw.Stats()) }))
	}
	counter := func(name, help string, f func(gateway.Stats) float64) {
		reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: name, Help: help},
			func() float64 { return f(gw.Stats()) }))
	}
	gauge("switchboard_ws_connections", "Open websocket connections.", func(s gateway.Stats) float64 { return float64(s.Connections) })
	gauge("switchboard_ws_subscriptions", "Live subscriptions.", func(s gateway.Stats) float64 { return float64(s.Subscriptions) })
	gauge("switchboard_ws_executions", "Shared subscription executions.", func(s gateway.Stats) float64 { return float64(s.Executions) })
	counter("switchboard_ws_messages_sent_total", "Messages written to websockets.", func(s gateway.Stats) float64 { return float64(s.Sent) })
	counter("switchboard_ws_too_slow_total", "Connections closed for falling behind.", func(s gateway.Stats) float64 { return float64(s.TooSlow) })
}

func newLogger(cfg config) *slog.Logger {
	opts := &slog.HandlerOptions{Level: cfg.LogLevel}
	if cfg.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewTextHandler(os.Stderr, opts))
}

func printLogin(out io.Writer, cfg config, l *demo.Login) {
	fmt.Fprintf(out, `
  Switchboard is running with a demo tenant (%s).

    GraphiQL   %s/
    Console    %s/console
    API        %s/graphql
    Sign in    email %s   password %s

  In GraphiQL run:
    mutation { login(email: %q, password: %q) { accessToken } }
  then set the header  {"Authorization": "Bearer <accessToken>"}  and query:
    { conversations(first: 10) { totalCount edges { node { id status contact { profileName } lastMessage { body } } } } }

`, l.Tenant, baseURL(cfg.Addr), baseURL(cfg.Addr), baseURL(cfg.Addr), l.Email, l.Password, l.Email, l.Password)
}

// baseURL is how a person on this machine reaches addr (":8080" → localhost).
func baseURL(addr string) string {
	if strings.HasPrefix(addr, ":") {
		return "http://localhost" + addr
	}
	return "http://" + addr
}
