ALTER TABLE "numbers" ADD COLUMN "routing_policy" jsonb NULL, ADD COLUMN "business_hours" jsonb NULL;
ALTER TABLE "conversations" ADD COLUMN "queued_at" timestamptz NULL;
CREATE INDEX "conversation_tenant_id_queued_at" ON "conversations" ("tenant_id", "queued_at");
ALTER TABLE "agents" ADD COLUMN "open_count" bigint NOT NULL DEFAULT 0, ADD COLUMN "last_assigned_at" timestamptz NULL, ADD COLUMN "working_hours" jsonb NULL;
CREATE INDEX "agent_tenant_id_presence_open_count" ON "agents" ("tenant_id", "presence", "open_count");
CREATE TABLE "assignments" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "from_agent_id" character varying NULL, "contact_id" character varying NOT NULL, "cause" character varying NOT NULL, "strategy" character varying NULL, "reason" character varying NOT NULL, "actor_id" character varying NULL, "tenant_id" character varying NOT NULL, "conversation_id" character varying NOT NULL, "agent_id" character varying NULL, PRIMARY KEY ("id"), CONSTRAINT "assignments_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION, CONSTRAINT "assignments_conversations_conversation" FOREIGN KEY ("conversation_id") REFERENCES "conversations" ("id") ON DELETE NO ACTION, CONSTRAINT "assignments_agents_agent" FOREIGN KEY ("agent_id") REFERENCES "agents" ("id") ON DELETE SET NULL);
CREATE INDEX "assignment_tenant_id" ON "assignments" ("tenant_id");
CREATE INDEX "assignment_conversation_id_created_at" ON "assignments" ("conversation_id", "created_at");
CREATE INDEX "assignment_tenant_id_contact_id_created_at" ON "assignments" ("tenant_id", "contact_id", "created_at");
CREATE TABLE "routing_runs" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "schedule" character varying NOT NULL, "slot" character varying NOT NULL, "finished_at" timestamptz NULL, "moved_count" bigint NOT NULL DEFAULT 0, "moves" jsonb NULL, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "routing_runs_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "routingrun_tenant_id" ON "routing_runs" ("tenant_id");
CREATE UNIQUE INDEX "routingrun_tenant_id_schedule_slot" ON "routing_runs" ("tenant_id", "schedule", "slot");
-- agents.open_count starts from the conversations already assigned (ent/schema/load.go keeps it from now on)
UPDATE agents SET open_count = (SELECT COUNT(*) FROM conversations WHERE conversations.assignee_id = agents.id AND conversations.status <> 'RESOLVED');
