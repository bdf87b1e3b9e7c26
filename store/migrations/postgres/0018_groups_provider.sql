ALTER TABLE "group_join_requests" ADD COLUMN "provider_request_id" character varying NULL, ADD COLUMN "error" character varying NULL;
CREATE INDEX "groupjoinrequest_group_id_status" ON "group_join_requests" ("group_id", "status");
ALTER TABLE "groups" ADD COLUMN "state" character varying NOT NULL DEFAULT 'ACTIVE', ADD COLUMN "state_reason" character varying NULL, ADD COLUMN "create_request_id" character varying NULL;
ALTER TABLE "numbers" ADD COLUMN "group_mode" character varying NOT NULL DEFAULT 'CLOUD_API';
ALTER TABLE "conversations" ADD COLUMN "group_id" character varying NULL, ADD CONSTRAINT "conversations_groups_group" FOREIGN KEY ("group_id") REFERENCES "groups" ("id") ON DELETE SET NULL;
CREATE UNIQUE INDEX "conversation_group_id" ON "conversations" ("group_id");
CREATE TABLE "group_admins" ("group_id" character varying NOT NULL, "agent_id" character varying NOT NULL, PRIMARY KEY ("group_id", "agent_id"), CONSTRAINT "group_admins_group_id" FOREIGN KEY ("group_id") REFERENCES "groups" ("id") ON DELETE CASCADE, CONSTRAINT "group_admins_agent_id" FOREIGN KEY ("agent_id") REFERENCES "agents" ("id") ON DELETE CASCADE);
ALTER TABLE "messages" ADD COLUMN "author_id" character varying NULL, ADD CONSTRAINT "messages_contacts_author" FOREIGN KEY ("author_id") REFERENCES "contacts" ("id") ON DELETE SET NULL;
