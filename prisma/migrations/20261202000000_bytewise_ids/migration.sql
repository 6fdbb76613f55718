-- tally: identifiers compare byte by byte (COLLATE "C").
--
-- viewer_id, subject and the key and body hashes are hex digests, event names
-- are ASCII snake_case: no language's ordering means anything for them. Under
-- the database's default collation (en_US.UTF-8 in the official image,
-- C.UTF-8 on Debian's initdb) every index comparison on them called the C
-- library's strcoll; under "C" it is memcmp. Measured on the ingest path
-- (tally_ingest, batches of 20 requests × 5 rows, 20 000 viewers): 131 → 90 µs
-- of PostgreSQL CPU per request. The order of ASCII strings is the same under
-- both, so nothing that reads them sorts differently.
--
-- Prisma's schema language cannot state a column's collation
-- (prisma/schema.prisma says so beside each model): this migration is its
-- only home, and tests/store/schema-drift.test.ts checks it holds.
--
-- Upgrading rebuilds these tables' indexes (the rows are not rewritten): about
-- a minute per 10 million counted rows, during which ingest waits.

ALTER TABLE "telemetry_event"
    ALTER COLUMN "viewer_id" TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN "event" TYPE VARCHAR(80) COLLATE "C";

ALTER TABLE "telemetry_daily"
    ALTER COLUMN "viewer_id" TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN "event" TYPE VARCHAR(80) COLLATE "C";

ALTER TABLE "telemetry_idempotency"
    ALTER COLUMN "viewer_id" TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN "key_hash" TYPE VARCHAR(64) COLLATE "C",
    ALTER COLUMN "body_hash" TYPE VARCHAR(64) COLLATE "C";

ALTER TABLE "telemetry_rate_window"
    ALTER COLUMN "subject" TYPE VARCHAR(64) COLLATE "C";

ALTER TABLE "telemetry_erasure"
    ALTER COLUMN "subject" TYPE VARCHAR(64) COLLATE "C";

ALTER TABLE "telemetry_aggregate"
    ALTER COLUMN "event" TYPE VARCHAR(80) COLLATE "C";
