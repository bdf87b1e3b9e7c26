-- Repair: ent made reply_to a bidirectional one-to-one, so the quoted message
-- got a reply_to back to its (first) reply. Of two messages that point at each
-- other, the earlier one is the quoted message: its link is the wrong one.
UPDATE "messages" SET "reply_to_id" = NULL
WHERE "reply_to_id" IS NOT NULL AND EXISTS (
  SELECT 1 FROM "messages" AS "r"
  WHERE "r"."id" = "messages"."reply_to_id" AND "r"."reply_to_id" = "messages"."id"
    AND ("r"."created_at" > "messages"."created_at" OR ("r"."created_at" = "messages"."created_at" AND "r"."id" > "messages"."id")));
DROP INDEX "messages_reply_to_id_key";
ALTER TABLE "messages" DROP CONSTRAINT "messages_messages_reply_to", ADD CONSTRAINT "messages_messages_replies" FOREIGN KEY ("reply_to_id") REFERENCES "messages" ("id") ON DELETE SET NULL;
CREATE INDEX "message_reply_to_id" ON "messages" ("reply_to_id");
