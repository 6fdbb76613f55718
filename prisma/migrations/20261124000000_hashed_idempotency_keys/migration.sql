-- tally: Idempotency-Keys stored only as a keyed hash, with a fingerprint of
-- the body (a re-used key with another body is refused).

-- The raw keys cannot be hashed here (the secret is not in the database). They
-- are 24-hour bookkeeping: dropped. A request retried across the upgrade with
-- an old key is stored again.
DELETE FROM "telemetry_idempotency";
ALTER TABLE "telemetry_idempotency" DROP CONSTRAINT "telemetry_idempotency_pkey";
ALTER TABLE "telemetry_idempotency" DROP COLUMN "key";
ALTER TABLE "telemetry_idempotency" ADD COLUMN "key_hash" VARCHAR(64) NOT NULL;
ALTER TABLE "telemetry_idempotency" ADD COLUMN "body_hash" VARCHAR(64) NOT NULL;
ALTER TABLE "telemetry_idempotency" ADD CONSTRAINT "telemetry_idempotency_pkey" PRIMARY KEY ("viewer_id", "key_hash");
