PRAGMA foreign_keys = off;
ALTER TABLE `agents` ADD COLUMN `online_until` datetime NULL;
PRAGMA foreign_keys = on;
