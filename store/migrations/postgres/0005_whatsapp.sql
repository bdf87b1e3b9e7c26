ALTER TABLE "messages" ADD COLUMN "content" jsonb NULL, ADD COLUMN "attempts" bigint NOT NULL DEFAULT 0;
ALTER TABLE "numbers" ADD COLUMN "attention" character varying NULL;
CREATE TABLE "webhook_deliveries" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "provider" character varying NOT NULL DEFAULT 'cloud', "body" bytea NOT NULL, "state" character varying NOT NULL DEFAULT 'RECEIVED', "phone_number_ids" jsonb NULL, "error" character varying NULL, "attempts" bigint NOT NULL DEFAULT 0, "processed_at" timestamptz NULL, PRIMARY KEY ("id"));
CREATE INDEX "webhookdelivery_state_created_at" ON "webhook_deliveries" ("state", "created_at");
