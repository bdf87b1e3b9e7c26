PRAGMA foreign_keys = off;
DROP INDEX `agent_tenant_id_presence_open_count`;
CREATE INDEX `agent_tenant_id_presence_open_count_last_assigned_at_id` ON `agents` (`tenant_id`, `presence`, `open_count`, `last_assigned_at`, `id`);
PRAGMA foreign_keys = on;
