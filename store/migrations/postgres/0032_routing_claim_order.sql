DROP INDEX "agent_tenant_id_presence_open_count";
-- last_assigned_at NULLS FIRST by hand: routing's least-loaded claim orders by
-- (open_count, last_assigned_at ASC NULLS FIRST, id), and only an index in that
-- exact order lets its LIMIT 1 stop at the first eligible agent.
CREATE INDEX "agent_tenant_id_presence_open_count_last_assigned_at_id" ON "agents" ("tenant_id", "presence", "open_count", "last_assigned_at" NULLS FIRST, "id");
