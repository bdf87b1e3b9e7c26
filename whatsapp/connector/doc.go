// Package connector is the provider side of WhatsApp: the webhook endpoint
// (Webhook) that stores deliveries, the ingest that turns them into
// messages, statuses and number health (Ingester), the send and read-receipt
// workers (Sender, Reader), their pacing (Limits) and the periodic health read
// (Health). Conversations and messages as the business sees them live in
// package inbox, which queues sends with SendArgs and receipts with
// MarkReadArgs.
package connector
