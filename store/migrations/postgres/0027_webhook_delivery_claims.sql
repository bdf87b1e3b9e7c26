ALTER TABLE "webhook_deliveries" ADD COLUMN "due_at" timestamptz NULL, ADD COLUMN "claim" character varying NULL;
CREATE INDEX "webhookdelivery_state_due_at" ON "webhook_deliveries" ("state", "due_at");
-- Deliveries are swept (connector.Sweeper), no longer each ingested by a River job: the jobs left are
-- dropped, and their deliveries, RECEIVED with no due_at, are due to the first sweep.
DELETE FROM river_job WHERE kind = 'whatsapp.process_webhook';
