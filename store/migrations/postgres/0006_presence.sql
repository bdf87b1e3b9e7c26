ALTER TABLE "agents" ADD COLUMN "online_until" timestamptz NULL;
