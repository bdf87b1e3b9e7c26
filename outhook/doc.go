// Package outhook delivers a tenant's events to the URLs it subscribes
// (outbound webhooks, for CRMs and partners' systems).
//
// # Guarantees
//
//   - Nothing committed is lost. The realtime.Publisher hands every
//     transaction's events to the Service (an Outbox) just before it commits:
//     one OutboundDelivery row per (event, endpoint) is written in that
//     transaction, so a change is kept with its deliveries or not at all. A
//     killed instance leaves claimed deliveries behind a lease; when it lapses
//     another instance (or the next start) sends them again.
//   - At least once, with the same event id. Every attempt of a delivery sends
//     the same body (rendered once, at the first attempt) and the same
//     Switchboard-Event-Id, so a receiver deduplicates on it.
//   - In order per conversation. Deliveries to one endpoint with the same order
//     key (the conversation, or the number for number events) are sent one at a
//     time in the order their changes committed: the next waits until the one
//     before it is delivered or given up. Across instances the order rests on
//     the conversation row lock and on instance clocks agreeing within the time
//     a transaction takes.
//   - Signed. Switchboard-Signature is "t=<unix seconds>,v1=<hex>", the HMAC-SHA256
//     with the endpoint's secret over "<t>.<body>"; Verify checks it and refuses
//     a timestamp outside the tolerance, so a captured request cannot be
//     replayed later.
//   - Retried with exponential backoff (10 s doubling, at most an hour apart)
//     for 24 hours, then given up (FAILED). An endpoint that has not had a
//     success for 24 hours is disabled, audited, and an event tells the tenant.
//   - Bounded: at most maxInFlight deliveries per endpoint are in flight at
//     once, across instances (the claim counts live leases under the
//     endpoint's row lock).
//   - Cut to a role. An endpoint acts with a role: its payloads carry only what
//     that role may read (field rules: denied fields left out, masked ones
//     masked) and only rows its scope sees; an event about a row it may not see
//     is SKIPPED, never sent.
//   - SSRF-safe. URLs must be http(s) without credentials, and the dialer
//     refuses loopback, private, link-local and unspecified addresses at
//     connect time (so DNS cannot redirect it) unless the operator allows them
//     (SWITCHBOARD_WEBHOOK_ALLOW_PRIVATE, for tests and on-premises CRMs).
//
// Event types are listed in EventTypes.
package outhook
