PRAGMA foreign_keys = off;
ALTER TABLE `contacts` ADD COLUMN `legal_hold_at` datetime NULL;
ALTER TABLE `contacts` ADD COLUMN `legal_hold_reason` text NULL;
ALTER TABLE `conversations` ADD COLUMN `legal_hold_at` datetime NULL;
ALTER TABLE `conversations` ADD COLUMN `legal_hold_reason` text NULL;
PRAGMA foreign_keys = on;
