package app

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/switchboard-dev/switchboard/export"
	"github.com/switchboard-dev/switchboard/middleware"
	"github.com/switchboard-dev/switchboard/realtime/gateway"
	"github.com/switchboard-dev/switchboard/web"
	"github.com/switchboard-dev/switchboard/whatsapp/sim"
)

// routes mounts every endpoint, each counted in the metrics, behind the
// access log.
func (a *App) routes() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	registerGatewayMetrics(reg, a.Gateway)
	hook := a.WhatsApp.Webhook
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhooks_accepted_total", Help: "Signed webhooks stored."},
			func() float64 { return float64(hook.Accepted()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhooks_rejected_total", Help: "Webhooks refused for a missing or wrong signature."},
			func() float64 { return float64(hook.Rejected()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "switchboard_webhooks_shed_total", Help: "Webhooks answered 503 because too many were waiting to be stored (the provider retries them)."},
			func() float64 { return float64(hook.Shed()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "switchboard_webhooks_pending", Help: "Webhooks waiting to be stored now (503 past SWITCHBOARD_WEBHOOK_MAX_PENDING)."},
			func() float64 { return float64(hook.Pending()) }),
	)
	metrics := middleware.NewHTTPMetrics(reg)

	mux := http.NewServeMux()
	mux.Handle("/graphql", metrics.Route("graphql", middleware.CORS(a.Config.CORSOrigins, a.api)))
	mux.Handle("/webhooks/whatsapp", metrics.Route("webhook", hook))
	mux.Handle("/export/conversations", metrics.Route("export", a.Auth.Middleware(export.New(a.DB.Client).Handler(a.Log))))
	// The link is the credential: no token needed (export.Jobs.Link).
	mux.Handle(export.DownloadPath, metrics.Route("export_download", a.Services.Exports.DownloadHandler(a.Log)))
	mux.Handle("/broadcasts/", metrics.Route("broadcast_outcomes", a.Auth.Middleware(a.Services.Broadcasts.OutcomesHandler(a.Log))))
	mux.Handle("/contacts/import", metrics.Route("contacts_import", a.Auth.Middleware(a.Services.Contacts.ImportHandler())))
	mux.Handle("/contacts/export", metrics.Route("contacts_export", a.Auth.Middleware(a.Services.Contacts.ExportHandler(a.Log))))
	mux.Handle("/export/report", metrics.Route("export_report", a.Auth.Middleware(a.Services.Reports.Handler())))
	mux.Handle("/metrics", middleware.MetricsGuard(a.Config.MetricsToken, promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", a.ready)
	if a.sim != nil {
		mux.Handle("/sim/", http.StripPrefix("/sim", middleware.SimulatorGuard(a.Config.SimulatorToken, a.sim.sim)))
	}
	mux.Handle("/", web.Handler())
	return middleware.Log(a.Log, middleware.BodyTimeout(a.Config.BodyTimeout, mux))
}

// Simulator is the Cloud API simulator this instance runs under /sim/
// (Config.Simulator), or nil.
func (a *App) Simulator() *sim.Simulator {
	if a.sim == nil {
		return nil
	}
	return a.sim.sim
}

// ready answers 200 while the instance takes traffic: not draining, and the
// database answers.
func (a *App) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if a.draining.Load() {
		http.Error(w, "draining", http.StatusServiceUnavailable)
		return
	}
	if err := a.DB.SQL.PingContext(ctx); err != nil {
		http.Error(w, "database unavailable", http.StatusServiceUnavailable)
		return
	}
	fmt.Fprintln(w, "ready")
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
