// Package gateway serves GraphQL subscriptions over websockets and over
// server-sent events (Gateway.SSE), as gqlgen transports: every operation
// runs through the server's executor, so limits, the root guard and the
// field guard apply to every pushed payload. Both transports' connections
// are admitted, capped, revoked, re-admitted and counted for presence by the
// same code (conn.admit); an execution that meets a revocation waits until
// it is applied (AwaitRevocation), so nothing published after it reaches a
// connection it revokes.
//
// Protocols, chosen by subprotocol: graphql-transport-ws (the graphql-ws
// library's; Apollo, urql and Relay speak it) and the legacy graphql-ws of
// subscriptions-transport-ws. A client offering neither is closed with 4406.
//
// Costs and guarantees:
//   - One goroutine per connection: its reader. Writes go through a bounded
//     queue per connection, drained by a shared pool of writers with a write
//     deadline, so a slow or stalled client never delays the publisher or other
//     clients. A client whose queue overflows is closed with 1013 (try again
//     later) and can resubscribe, resuming from the last sequence it saw.
//   - Subscriptions asking the same question (document, operation, variables)
//     with the same permissions (Config.Fingerprint) share one execution per
//     event; the serialized payload goes to every member. A subscription
//     resuming with a non-null `after` runs on its own: its replay runs when
//     an execution starts, and a late joiner would miss it.
//   - State-like subscriptions (Config.Coalesce) keep only the newest pending
//     payload per subscription in a queue.
//
// Close codes: 4400 invalid message, 4401 subscribe before the connection is
// acknowledged, 4403 forbidden (bad credentials, revoked, expired, too many
// connections), 4406 subprotocol not acceptable, 4408 no connection_init in
// time, 4409 duplicate subscription id, 4429 a second connection_init, 1001
// server shutting down, 1013 too slow.
package gateway
