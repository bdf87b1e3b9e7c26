-- Conversation exports as durable jobs (package export): one row per
-- export with its filter, progress (rows_written of rows_total), the file
-- of the run that holds it, its SHA-256 and when its link expires.
PRAGMA foreign_keys = off;
CREATE TABLE `conversation_exports` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `requester_id` text NOT NULL, `format` text NOT NULL, `filter` json NOT NULL, `filter_text` text NOT NULL, `state` text NOT NULL DEFAULT ('QUEUED'), `rows_total` integer NOT NULL DEFAULT (0), `rows_written` integer NOT NULL DEFAULT (0), `bytes` integer NOT NULL DEFAULT (0), `sha256` text NULL, `error` text NULL, `file` text NULL, `finished_at` datetime NULL, `expires_at` datetime NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `conversation_exports_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
CREATE INDEX `conversationexport_tenant_id` ON `conversation_exports` (`tenant_id`);
CREATE INDEX `conversationexport_tenant_id_requester_id_created_at` ON `conversation_exports` (`tenant_id`, `requester_id`, `created_at`);
CREATE INDEX `conversationexport_state_expires_at` ON `conversation_exports` (`state`, `expires_at`);
PRAGMA foreign_keys = on;
