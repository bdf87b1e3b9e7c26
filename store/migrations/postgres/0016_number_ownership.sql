-- Issue 9, M8: a number receives webhooks only once the provider showed that its access token reads its phone
-- number id (verified_at). Existing numbers start unverified: the health read verifies those whose stored token
-- reads their id, and what arrives for them meanwhile is kept UNROUTED and replayed then. The unique index on
-- phone_number_id, global until now, holds among verified numbers only, so an unproven claim blocks nobody;
-- the old index admitted no duplicate, so none can stand in the way of the new one.
DROP INDEX "number_phone_number_id";
ALTER TABLE "numbers" ADD COLUMN "verified_at" timestamptz NULL;
CREATE UNIQUE INDEX "number_phone_number_id" ON "numbers" ("phone_number_id") WHERE verified_at IS NOT NULL;
