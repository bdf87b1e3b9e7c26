ALTER TABLE "contacts" ADD COLUMN "legal_hold_at" timestamptz NULL, ADD COLUMN "legal_hold_reason" character varying NULL;
ALTER TABLE "conversations" ADD COLUMN "legal_hold_at" timestamptz NULL, ADD COLUMN "legal_hold_reason" character varying NULL;
