PRAGMA foreign_keys = off;
CREATE INDEX `conversation_tenant_id_last_customer_message_at` ON `conversations` (`tenant_id`, `last_customer_message_at`);
CREATE TABLE `segments` (`id` text NOT NULL, `created_at` datetime NOT NULL, `updated_at` datetime NOT NULL, `name` text NOT NULL, `description` text NULL, `filter` json NOT NULL, `created_by_id` text NULL, `tenant_id` text NOT NULL, PRIMARY KEY (`id`), CONSTRAINT `segments_tenants_tenant` FOREIGN KEY (`tenant_id`) REFERENCES `tenants` (`id`) ON DELETE NO ACTION);
CREATE INDEX `segment_tenant_id` ON `segments` (`tenant_id`);
CREATE UNIQUE INDEX `segment_tenant_id_name` ON `segments` (`tenant_id`, `name`);
PRAGMA foreign_keys = on;

-- Segments (package segment) filter contacts by tag and by typed attribute. Both
-- live as JSON on the contact row; these side tables hold one row per tag and per
-- attribute, indexed by value, and triggers keep them in step with every write of
-- contacts.tags and contacts.attributes (raw SQL included). Deleting a contact
-- (a merge) deletes its rows. number_value holds numbers, times (Unix seconds) and
-- booleans (0, 1); text_value the canonical text.
CREATE TABLE `contact_tags` (`contact_id` text NOT NULL REFERENCES `contacts` (`id`) ON DELETE CASCADE, `tenant_id` text NOT NULL, `tag` text NOT NULL, PRIMARY KEY (`contact_id`, `tag`));
CREATE INDEX `contact_tags_tenant_tag` ON `contact_tags` (`tenant_id`, `tag`, `contact_id`);
CREATE TABLE `contact_attribute_values` (`contact_id` text NOT NULL REFERENCES `contacts` (`id`) ON DELETE CASCADE, `tenant_id` text NOT NULL, `name` text NOT NULL, `type` text NOT NULL, `text_value` text NOT NULL, `number_value` real NULL, PRIMARY KEY (`contact_id`, `name`));
CREATE INDEX `contact_attribute_values_text` ON `contact_attribute_values` (`tenant_id`, `name`, `type`, `text_value`);
CREATE INDEX `contact_attribute_values_number` ON `contact_attribute_values` (`tenant_id`, `name`, `type`, `number_value`);

CREATE TRIGGER `contacts_tags_insert` AFTER INSERT ON `contacts` BEGIN
  INSERT OR IGNORE INTO `contact_tags` (`contact_id`, `tenant_id`, `tag`)
    SELECT NEW.`id`, NEW.`tenant_id`, j.value FROM json_each(NEW.`tags`) AS j WHERE j.type = 'text';
END;
CREATE TRIGGER `contacts_tags_update` AFTER UPDATE OF `tags` ON `contacts` BEGIN
  DELETE FROM `contact_tags` WHERE `contact_id` = OLD.`id`;
  INSERT OR IGNORE INTO `contact_tags` (`contact_id`, `tenant_id`, `tag`)
    SELECT NEW.`id`, NEW.`tenant_id`, j.value FROM json_each(NEW.`tags`) AS j WHERE j.type = 'text';
END;
CREATE TRIGGER `contacts_attributes_insert` AFTER INSERT ON `contacts` BEGIN
  INSERT OR IGNORE INTO `contact_attribute_values` (`contact_id`, `tenant_id`, `name`, `type`, `text_value`, `number_value`)
    SELECT NEW.`id`, NEW.`tenant_id`, json_extract(j.value, '$.key'), json_extract(j.value, '$.type'), json_extract(j.value, '$.value'),
      CASE json_extract(j.value, '$.type')
        WHEN 'NUMBER' THEN CAST(json_extract(j.value, '$.value') AS REAL)
        WHEN 'TIME' THEN CAST(strftime('%s', json_extract(j.value, '$.value')) AS REAL)
        WHEN 'BOOL' THEN CASE json_extract(j.value, '$.value') WHEN 'true' THEN 1 ELSE 0 END
      END
    FROM json_each(NEW.`attributes`) AS j WHERE json_extract(j.value, '$.key') IS NOT NULL AND json_extract(j.value, '$.value') IS NOT NULL;
END;
CREATE TRIGGER `contacts_attributes_update` AFTER UPDATE OF `attributes` ON `contacts` BEGIN
  DELETE FROM `contact_attribute_values` WHERE `contact_id` = OLD.`id`;
  INSERT OR IGNORE INTO `contact_attribute_values` (`contact_id`, `tenant_id`, `name`, `type`, `text_value`, `number_value`)
    SELECT NEW.`id`, NEW.`tenant_id`, json_extract(j.value, '$.key'), json_extract(j.value, '$.type'), json_extract(j.value, '$.value'),
      CASE json_extract(j.value, '$.type')
        WHEN 'NUMBER' THEN CAST(json_extract(j.value, '$.value') AS REAL)
        WHEN 'TIME' THEN CAST(strftime('%s', json_extract(j.value, '$.value')) AS REAL)
        WHEN 'BOOL' THEN CASE json_extract(j.value, '$.value') WHEN 'true' THEN 1 ELSE 0 END
      END
    FROM json_each(NEW.`attributes`) AS j WHERE json_extract(j.value, '$.key') IS NOT NULL AND json_extract(j.value, '$.value') IS NOT NULL;
END;

-- The contacts already there.
INSERT OR IGNORE INTO `contact_tags` (`contact_id`, `tenant_id`, `tag`)
  SELECT c.`id`, c.`tenant_id`, j.value FROM `contacts` AS c, json_each(c.`tags`) AS j WHERE j.type = 'text';
INSERT OR IGNORE INTO `contact_attribute_values` (`contact_id`, `tenant_id`, `name`, `type`, `text_value`, `number_value`)
  SELECT c.`id`, c.`tenant_id`, json_extract(j.value, '$.key'), json_extract(j.value, '$.type'), json_extract(j.value, '$.value'),
    CASE json_extract(j.value, '$.type')
      WHEN 'NUMBER' THEN CAST(json_extract(j.value, '$.value') AS REAL)
      WHEN 'TIME' THEN CAST(strftime('%s', json_extract(j.value, '$.value')) AS REAL)
      WHEN 'BOOL' THEN CASE json_extract(j.value, '$.value') WHEN 'true' THEN 1 ELSE 0 END
    END
  FROM `contacts` AS c, json_each(c.`attributes`) AS j WHERE json_extract(j.value, '$.key') IS NOT NULL AND json_extract(j.value, '$.value') IS NOT NULL;
