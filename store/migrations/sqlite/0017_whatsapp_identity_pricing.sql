-- Columns are added in place (no table rebuild), so that migrations of other
-- work touching contacts or messages keep their columns whatever the order.
ALTER TABLE `contacts` ADD COLUMN `user_id` text NULL;
ALTER TABLE `contacts` ADD COLUMN `parent_user_id` text NULL;
ALTER TABLE `contacts` ADD COLUMN `username` text NULL;
CREATE UNIQUE INDEX `contact_tenant_id_user_id` ON `contacts` (`tenant_id`, `user_id`);
ALTER TABLE `webhook_deliveries` ADD COLUMN `unrouted_phone_number_ids` json NULL;
ALTER TABLE `messages` ADD COLUMN `pricing_category` text NULL;
ALTER TABLE `messages` ADD COLUMN `pricing_model` text NULL;
ALTER TABLE `messages` ADD COLUMN `pricing_type` text NULL;
ALTER TABLE `messages` ADD COLUMN `billable` bool NULL;
ALTER TABLE `messages` ADD COLUMN `priced_at` datetime NULL;
CREATE INDEX `message_number_id_priced_at` ON `messages` (`number_id`, `priced_at`);
CREATE TABLE `message_rates` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `category` text NOT NULL, `market` text NOT NULL DEFAULT ('*'), `currency` text NOT NULL DEFAULT ('USD'), `price_micros` integer NOT NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `message_rates_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
CREATE INDEX `messagerate_tenant_id` ON `message_rates` (`tenant_id`);
CREATE UNIQUE INDEX `messagerate_tenant_id_category_market` ON `message_rates` (`tenant_id`, `category`, `market`);
-- A contact known only by a business-scoped id was addressed by it (wa_id):
-- it is their user_id too.
UPDATE `contacts` SET `user_id` = `wa_id` WHERE (`phone` IS NULL OR `phone` = '') AND `wa_id` LIKE '__.%' AND `erased_at` IS NULL;
