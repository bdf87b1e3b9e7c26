// Package realtime carries what happens in a tenant to the clients watching
// it: the event bus, and (in its own files) the websocket gateway.
//
// # The bus
//
// Domain services publish an [Event] after the transaction that caused it
// committed; subscribers on every instance receive it. [Open] picks one of
// three buses, which keep the same promises:
//
//   - [NewMemory], for one instance: everything lives in the process.
//   - [NewPostgres], for several instances on one PostgreSQL database: events
//     are stored in a table ([PostgresSchema]) and announced with
//     LISTEN/NOTIFY.
//   - [NewNATS], for large fan-out: events are stored in a JetStream stream.
//
// # Guarantees
//
// Sequence. Publish gives each event its tenant's next Seq: 1, 2, 3, … with
// no gap and no repeat, even with many publishers on many instances. An
// event's Seq is its place in the tenant's history; there is no order
// between tenants.
//
// Delivery. A subscription receives each of its tenants' events, published
// after it was made, at most once and in Seq order. Delivery is not
// guaranteed: when events go missing the subscription's Resync channel
// fires instead, and the reader must reload whatever state it derives from
// events (a client view, a cache). A subscription resyncs when
//
//   - its buffer ([WithBuffer]) is full: publishing never waits for a slow
//     reader, so the events that do not fit are dropped for that reader
//     alone;
//   - the bus lost its connection to PostgreSQL or NATS for a while:
//     notifications sent in the gap are lost;
//   - the bus sees a break in a tenant's sequence for any other reason.
//
// Events buffered before the signal, and events after it, still arrive;
// comparing Seq with the state it reloaded, a reader can skip what it has.
//
// Replay. [Bus.Since] returns a tenant's events after a given Seq, from a
// window of its most recent events ([WithWindow]), so that a client that
// reconnects catches up instead of showing a stale screen. When the window
// no longer holds all it missed, or the Seq is one the bus never assigned
// (its history was reset), Since says so and the client must resync.
//
// Restarts. PostgreSQL and NATS keep sequences and window. The memory bus
// keeps its window in the process; beside SQLite ([Open] passes
// [WithSequences]) its sequences live in a table, reserved a block at a
// time, so after a restart they go on above every Seq handed out before (a
// block may be skipped) and a client resuming from before is told to
// resync, then receives the new events.
//
// Closing. Closing a subscription, the context it was made with, or the bus
// closes the subscription's Events channel; nothing is delivered after.
package realtime
