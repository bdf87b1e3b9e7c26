// Package whatsapp is the pure half of the connector to Meta's WhatsApp Cloud
// API: no database, no HTTP server, nothing durable.
//
// What is here:
//   - Parse reads a webhook POST body into a Notification: per change, the
//     business number it concerns and typed events (inbound messages, echoes of
//     messages the business sent elsewhere, statuses, account, quality and
//     template updates). Every message and status keeps its raw JSON, so a
//     field this package does not model yet is never lost.
//   - VerifySignature and Sign check and produce X-Hub-Signature-256;
//     VerifyChallenge answers the GET subscription handshake.
//   - Client sends messages (text, template, media, interactive), marks
//     messages read and reads a number's health. Its errors say whether a send
//     may be retried (APIError.Retryable, IsRetryable) or must fail for good
//     (APIError.Permanent).
//
// What is not here yet: the webhook HTTP handler (store the raw body, answer
// 200 fast), the idempotent ingest, the outbox with its token buckets and
// retries, and the Cloud API simulator (whatsapp/sim). They build on this
// package and live elsewhere.
package whatsapp
