ALTER TABLE "agents" ADD COLUMN "tokens_valid_after" timestamptz NULL;
ALTER TABLE "audit_events" ADD COLUMN "summary" character varying NULL;
CREATE TABLE "casbin_rules" ("id" character varying NOT NULL, "ptype" character varying NOT NULL, "v0" character varying NOT NULL DEFAULT '', "v1" character varying NOT NULL DEFAULT '', "v2" character varying NOT NULL DEFAULT '', "v3" character varying NOT NULL DEFAULT '', "v4" character varying NOT NULL DEFAULT '', "v5" character varying NOT NULL DEFAULT '', "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "casbin_rules_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "casbinrule_tenant_id" ON "casbin_rules" ("tenant_id");
CREATE UNIQUE INDEX "casbinrule_tenant_id_ptype_v0_v1_v2_v3_v4_v5" ON "casbin_rules" ("tenant_id", "ptype", "v0", "v1", "v2", "v3", "v4", "v5");
CREATE TABLE "roles" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "label" character varying NOT NULL, "description" character varying NULL, "builtin" boolean NOT NULL DEFAULT false, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "roles_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "role_tenant_id" ON "roles" ("tenant_id");
CREATE UNIQUE INDEX "role_tenant_id_name" ON "roles" ("tenant_id", "name");
