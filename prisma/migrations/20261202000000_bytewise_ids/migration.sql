-- tally: identifiers compare byte by byte (COLLATE "C").
--
-- viewer_id, subject and the key and body hashes are hex digests, event names
-- are ASCII snake_case: no language's ordering means anything for them. Under
-- a language's collation (en_US.UTF-8 in the official Docker image) every index
-- comparison on them is a locale-aware compare; under "C" it is memcmp.
-- Measured with `node bench/ingest-sql.mjs` (tally_ingest alone, batches of 20
-- requests × 5 rows, 20 000 viewers), backend CPU per request: 100–107 µs under
-- en-US (ICU) → 80–90 µs; under C.UTF-8 (Debian's initdb) the gain is within
-- noise (~2 %). The order of ASCII strings is the same under all of them, so
-- nothing that reads them sorts differently.
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
