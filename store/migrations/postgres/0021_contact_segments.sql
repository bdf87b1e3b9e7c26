CREATE INDEX "conversation_tenant_id_last_customer_message_at" ON "conversations" ("tenant_id", "last_customer_message_at");
CREATE TABLE "segments" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "name" character varying NOT NULL, "description" character varying NULL, "filter" jsonb NOT NULL, "created_by_id" character varying NULL, "tenant_id" character varying NOT NULL, PRIMARY KEY ("id"), CONSTRAINT "segments_tenants_tenant" FOREIGN KEY ("tenant_id") REFERENCES "tenants" ("id") ON DELETE NO ACTION);
CREATE INDEX "segment_tenant_id" ON "segments" ("tenant_id");
CREATE UNIQUE INDEX "segment_tenant_id_name" ON "segments" ("tenant_id", "name");

-- Segments (package segment) filter contacts by tag and by typed attribute. Both
-- live as JSON on the contact row; these side tables hold one row per tag and per
-- attribute, indexed by value, and a trigger keeps them in step with every write of
-- contacts.tags and contacts.attributes (raw SQL included). Deleting a contact
-- (a merge) deletes its rows. number_value holds numbers, times (Unix seconds) and
-- booleans (0, 1); text_value the canonical text, compared bytewise (COLLATE "C")
-- so a prefix is a range the index serves.
CREATE TABLE "contact_tags" ("contact_id" character varying NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE, "tenant_id" character varying NOT NULL, "tag" character varying NOT NULL, PRIMARY KEY ("contact_id", "tag"));
CREATE INDEX "contact_tags_tenant_tag" ON "contact_tags" ("tenant_id", "tag", "contact_id");
CREATE TABLE "contact_attribute_values" ("contact_id" character varying NOT NULL REFERENCES "contacts" ("id") ON DELETE CASCADE, "tenant_id" character varying NOT NULL, "name" character varying NOT NULL, "type" character varying NOT NULL, "text_value" text COLLATE "C" NOT NULL, "number_value" double precision NULL, PRIMARY KEY ("contact_id", "name"));
CREATE INDEX "contact_attribute_values_text" ON "contact_attribute_values" ("tenant_id", "name", "type", "text_value");
CREATE INDEX "contact_attribute_values_number" ON "contact_attribute_values" ("tenant_id", "name", "type", "number_value");

-- The number a typed value compares as; NULL when it does not read as its type
-- (values are canonical when the application writes them; a cast must never fail
-- a contact's write).
CREATE FUNCTION contact_attribute_number(typ text, val text) RETURNS double precision
LANGUAGE sql STABLE AS $$
  SELECT CASE
    WHEN typ = 'NUMBER' AND val ~ '^-?[0-9]+(\.[0-9]+)?$' THEN val::double precision
    WHEN typ = 'TIME' AND val ~ '^[1-9][0-9]{3}-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9]Z$'
      THEN extract(epoch FROM make_timestamptz(substr(val, 1, 4)::int, 1, 1, 0, 0, 0, 'UTC')
        + (substr(val, 6, 2)::int - 1) * interval '1 month' + (substr(val, 9, 2)::int - 1) * interval '1 day'
        + substr(val, 12, 2)::int * interval '1 hour' + substr(val, 15, 2)::int * interval '1 minute'
        + substr(val, 18, 2)::int * interval '1 second')
    WHEN typ = 'BOOL' THEN CASE WHEN val = 'true' THEN 1 ELSE 0 END
  END
$$;

CREATE FUNCTION contacts_segment_values() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' OR NEW.tags IS DISTINCT FROM OLD.tags THEN
    IF TG_OP = 'UPDATE' THEN
      DELETE FROM contact_tags WHERE contact_id = OLD.id;
    END IF;
    INSERT INTO contact_tags (contact_id, tenant_id, tag)
      SELECT NEW.id, NEW.tenant_id, t FROM jsonb_array_elements_text(
        CASE WHEN jsonb_typeof(NEW.tags) = 'array' THEN NEW.tags ELSE '[]'::jsonb END) AS t
      ON CONFLICT DO NOTHING;
  END IF;
  IF TG_OP = 'INSERT' OR NEW.attributes IS DISTINCT FROM OLD.attributes THEN
    IF TG_OP = 'UPDATE' THEN
      DELETE FROM contact_attribute_values WHERE contact_id = OLD.id;
    END IF;
    INSERT INTO contact_attribute_values (contact_id, tenant_id, name, type, text_value, number_value)
      SELECT NEW.id, NEW.tenant_id, a->>'key', a->>'type', a->>'value', contact_attribute_number(a->>'type', a->>'value')
      FROM jsonb_array_elements(CASE WHEN jsonb_typeof(NEW.attributes) = 'array' THEN NEW.attributes ELSE '[]'::jsonb END) AS a
      WHERE a->>'key' IS NOT NULL AND a->>'type' IS NOT NULL AND a->>'value' IS NOT NULL
      ON CONFLICT DO NOTHING;
  END IF;
  RETURN NULL;
END;
$$;

CREATE TRIGGER contacts_segment_values AFTER INSERT OR UPDATE OF tags, attributes ON contacts
  FOR EACH ROW EXECUTE FUNCTION contacts_segment_values();

-- The contacts already there.
INSERT INTO contact_tags (contact_id, tenant_id, tag)
  SELECT c.id, c.tenant_id, t FROM contacts AS c, jsonb_array_elements_text(
    CASE WHEN jsonb_typeof(c.tags) = 'array' THEN c.tags ELSE '[]'::jsonb END) AS t
  ON CONFLICT DO NOTHING;
INSERT INTO contact_attribute_values (contact_id, tenant_id, name, type, text_value, number_value)
  SELECT c.id, c.tenant_id, a->>'key', a->>'type', a->>'value', contact_attribute_number(a->>'type', a->>'value')
  FROM contacts AS c, jsonb_array_elements(CASE WHEN jsonb_typeof(c.attributes) = 'array' THEN c.attributes ELSE '[]'::jsonb END) AS a
  WHERE a->>'key' IS NOT NULL AND a->>'type' IS NOT NULL AND a->>'value' IS NOT NULL
  ON CONFLICT DO NOTHING;
