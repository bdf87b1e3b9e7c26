PRAGMA foreign_keys = off;
PRAGMA foreign_keys = off;
CREATE TABLE `new_webhook_deliveries` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `provider` text NOT NULL DEFAULT ('cloud'), `body` blob NOT NULL, `state` text NOT NULL DEFAULT ('RECEIVED'), `phone_number_ids` json NULL, `unrouted_phone_number_ids` json NULL, `error` text NULL, `attempts` integer NOT NULL DEFAULT (0), `processed_at` datetime NULL, `due_at` datetime NULL, `claim` text NULL, PRIMARY KEY (`id`));
INSERT INTO `new_webhook_deliveries` (`id`, `created_at`, `updated_at`, `provider`, `body`, `state`, `phone_number_ids`, `unrouted_phone_number_ids`, `error`, `attempts`, `processed_at`) SELECT `id`, `created_at`, `updated_at`, `provider`, `body`, `state`, `phone_number_ids`, `unrouted_phone_number_ids`, `error`, `attempts`, `processed_at` FROM `webhook_deliveries`;
DROP TABLE `webhook_deliveries`;
ALTER TABLE `new_webhook_deliveries` RENAME TO `webhook_deliveries`;
CREATE INDEX `webhookdelivery_state_created_at` ON `webhook_deliveries` (`state`, `created_at`);
CREATE INDEX `webhookdelivery_state_due_at` ON `webhook_deliveries` (`state`, `due_at`);
PRAGMA foreign_keys = on;
PRAGMA foreign_keys = on;
-- Deliveries are swept (connector.Sweeper), no longer each ingested by a River job: the jobs left are
-- dropped, and their deliveries, RECEIVED with no due_at, are due to the first sweep.
DELETE FROM river_job WHERE kind = 'whatsapp.process_webhook';
