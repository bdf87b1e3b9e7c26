-- Issue 9, M8: a number receives webhooks only once the provider showed that its access token reads its phone
-- number id (verified_at). Existing numbers start unverified: the health read verifies those whose stored token
-- reads their id, and what arrives for them meanwhile is kept UNROUTED and replayed then. The unique index on
-- phone_number_id, global until now, holds among verified numbers only, so an unproven claim blocks nobody;
-- the old index admitted no duplicate, so none can stand in the way of the new one.
PRAGMA foreign_keys = off;
PRAGMA foreign_keys = off;
CREATE TABLE `new_numbers` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `phone` text NOT NULL, `display_name` text NOT NULL, `provider` text NOT NULL DEFAULT ('cloud'), `waba_id` text NULL, `phone_number_id` text NULL, `verified_at` datetime NULL, `credentials` blob NULL, `status` text NOT NULL DEFAULT ('CONNECTING'), `quality` text NOT NULL DEFAULT ('UNKNOWN'), `messaging_tier` text NULL, `throughput` integer NOT NULL DEFAULT (80), `last_seen_at` datetime NULL, `unlinked_at` datetime NULL, `routing_policy` json NULL, `business_hours` json NULL, `attention` text NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `numbers_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
INSERT INTO `new_numbers` (`id`, `created_at`, `updated_at`, `phone`, `display_name`, `provider`, `waba_id`, `phone_number_id`, `credentials`, `status`, `quality`, `messaging_tier`, `throughput`, `last_seen_at`, `unlinked_at`, `routing_policy`, `business_hours`, `attention`, `tenant_id`) SELECT `id`, `created_at`, `updated_at`, `phone`, `display_name`, `provider`, `waba_id`, `phone_number_id`, `credentials`, `status`, `quality`, `messaging_tier`, `throughput`, `last_seen_at`, `unlinked_at`, `routing_policy`, `business_hours`, `attention`, `tenant_id` FROM `numbers`;
DROP TABLE `numbers`;
ALTER TABLE `new_numbers` RENAME TO `numbers`;
CREATE INDEX `number_tenant_id` ON `numbers` (`tenant_id`);
CREATE UNIQUE INDEX `number_tenant_id_phone` ON `numbers` (`tenant_id`, `phone`);
CREATE UNIQUE INDEX `number_phone_number_id` ON `numbers` (`phone_number_id`) WHERE verified_at IS NOT NULL;
PRAGMA foreign_keys = on;
PRAGMA foreign_keys = on;
