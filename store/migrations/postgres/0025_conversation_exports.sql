-- Conversation exports as durable jobs (package export): one row per
-- export with its filter, progress (rows_written of rows_total), the file
-- of the run that holds it, its SHA-256 and when its link expires.
CREATE TABLE "conversation_exports" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "requester_id" character varying NOT NULL, "format" character varying NOT NULL, "filter" jsonb NOT NULL, "filter_text" character varying NOT NULL, "state" character varying NOT NULL DEFAULT 'QUEUED', "rows_total" bigint NOT NULL DEFAULT 0, "rows_written" bigint NOT NULL DEFAULT 0, "bytes" bigint NOT NULL DEFAULT 0, "sha256" character varying NULL, "error" character varying NULL, "file" character varying NULL, "finished_at" timestamptz NULL, "expires_at" timestamptz NULL, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "conversation_exports_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "conversationexport_tenant_id" ON "conversation_exports" ("tenant_id");
CREATE INDEX "conversationexport_tenant_id_requester_id_created_at" ON "conversation_exports" ("tenant_id", "requester_id", "created_at");
CREATE INDEX "conversationexport_state_expires_at" ON "conversation_exports" ("state", "expires_at");
