ALTER TABLE "agents" ADD COLUMN "reset_hash" character varying NULL, ADD COLUMN "reset_expires_at" timestamptz NULL;
ALTER TABLE "sessions" ADD COLUMN "family_hash" character varying NULL;
CREATE INDEX "session_family_hash" ON "sessions" ("family_hash");
CREATE TABLE "login_throttles" ("id" character varying NOT NULL, "created_at" timestamptz NOT NULL, "updated_at" timestamptz NOT NULL, "key" character varying NOT NULL, "failures" bigint NOT NULL DEFAULT 0, "locked_until" timestamptz NULL, "last_failure_at" timestamptz NULL, "unreported" bigint NOT NULL DEFAULT 0, "reported_at" timestamptz NULL, PRIMARY KEY ("id"));
CREATE UNIQUE INDEX "login_throttles_key_key" ON "login_throttles" ("key");
