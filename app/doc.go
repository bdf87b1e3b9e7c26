// Package app builds Switchboard once: the store, the event bus, the
// authorizer, the domain services, the job workers and the HTTP routes.
// server.go (config and signals), the test harness (graph/graphtest), the
// end-to-end tests and the benchmarks all build through New, so a dependency
// added here reaches every one of them, and one that is missing fails
// everywhere at once.
//
//	a, err := app.New(ctx, cfg)                   // cfg from app.LoadConfig(os.Getenv)
//	defer a.Close()
//	err = a.Run(ctx)                              // serve a.Handler() on cfg.Addr until ctx ends, then drain
//
// Tests swap parts with Options, never with copies of the wiring: WithDB (a
// storetest database), WithBus (two instances on one bus), WithClock (a
// clock.Fake), WithLogger, WithWorkers(false) (jobs are enqueued, never
// worked), WithQuietPresence; the provider's URL is Config.WhatsAppAPIURL.
// They call Start instead of Run and serve Handler (or API) themselves.
//
// # Adding a service
//
// A service is built in one place, buildServices, from what the App already
// holds, and handed to whoever uses it. For a routing service used by the
// resolvers and run by a timer worker:
//
//	// app/app.go, buildServices
//	routes := routing.NewService(client, a.Pub, a.Clock, a.Jobs) // a.Jobs may enqueue from here on
//	river.AddWorker(workers, &routing.TimerWorker{Routes: routes})
//	a.Jobs.AddPeriodicJobs(routing.RedistributeEvery(time.Minute)) // if it has a schedule
//	a.Services = graph.Services{..., Routing: routes}
//
// graph.Services gains the field and graph.NewResolver copies it; nothing
// else changes: server.go, graphtest, the benchmarks and the end-to-end tests
// get the service from New. The job client builds River at the first Start
// or insert, so every worker and periodic job is registered inside New.
// Every service that reads "now" for a decision takes a.Clock, never
// time.Now.
package app
