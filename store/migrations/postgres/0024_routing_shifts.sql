ALTER TABLE "conversations" ADD COLUMN "reserved_until" timestamptz NULL, ADD COLUMN "reserved_for_id" character varying NULL, ADD CONSTRAINT "conversations_agents_reserved_for" FOREIGN KEY ("reserved_for_id") REFERENCES "agents" ("id") ON DELETE SET NULL;
CREATE INDEX "conversation_reserved_until" ON "conversations" ("reserved_until");
