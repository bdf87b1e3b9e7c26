ALTER TABLE "contacts" ADD COLUMN "user_id" character varying NULL, ADD COLUMN "parent_user_id" character varying NULL, ADD COLUMN "username" character varying NULL;
CREATE UNIQUE INDEX "contact_tenant_id_user_id" ON "contacts" ("tenant_id", "user_id");
ALTER TABLE "messages" ADD COLUMN "pricing_category" character varying NULL, ADD COLUMN "pricing_model" character varying NULL, ADD COLUMN "pricing_type" character varying NULL, ADD COLUMN "billable" boolean NULL, ADD COLUMN "priced_at" timestamptz NULL;
CREATE INDEX "message_number_id_priced_at" ON "messages" ("number_id", "priced_at");
ALTER TABLE "webhook_deliveries" ADD COLUMN "unrouted_phone_number_ids" jsonb NULL;
CREATE TABLE "message_rates" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "category" character varying NOT NULL, "market" character varying NOT NULL DEFAULT '*', "currency" character varying NOT NULL DEFAULT 'USD', "price_micros" bigint NOT NULL, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "message_rates_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "messagerate_tenant_id" ON "message_rates" ("tenant_id");
CREATE UNIQUE INDEX "messagerate_tenant_id_category_market" ON "message_rates" ("tenant_id", "category", "market");
-- A contact known only by a business-scoped id was addressed by it (wa_id):
-- it is their user_id too.
UPDATE "contacts" SET "user_id" = "wa_id" WHERE ("phone" IS NULL OR "phone" = '') AND "wa_id" LIKE '__.%' AND "erased_at" IS NULL;
