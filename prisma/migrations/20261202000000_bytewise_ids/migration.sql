-- tally: identifiers compare byte by byte (COLLATE "C").
--
-- viewer_id, subject and the key and body hashes are hex digests, event names
-- are ASCII snake_case: no language's ordering means anything for them. Under
-- a language's collation (en_US.UTF-8 in the official Docker image) every index
-- comparison on them is a locale-aware compare; under "C" it is memcmp.
-- Measured with `node bench/ingest-sql.mjs` (tally_ingest alone, batches of 20
-- requests × 5 rows, 20 000 viewers), backend CPU per request: 100–107 µs under
-- en-US (ICU) → 80–90 µs; under C.UTF-8 (Debian's initdb) the gain is within
-- noise (~2 %). Their order changes (en-US sorts "a_c" after "ab", "C" before
-- it), but nothing in tally depends on it: they are only compared for
-- equality and looked up by index.
--
-- Prisma's schema language cannot state a column's collation
-- (prisma/schema.prisma says so beside each model): this migration is its
-- only home, and tests/store/schema-drift.test.ts checks it holds.
--
-- Upgrading rebuilds these tables' indexes (the rows are not rewritten) under
-- an exclusive lock: 11.8 s for 5 million counted rows on the bench machine,
-- during which ingest waits (and answers 503 past REQUEST_TIMEOUT_MS; emitters
-- retry). It may outlast the migrations' 5-minute statement timeout on a large
-- table, so this one lifts it; its lock wait stays bounded (lock_timeout), so
-- it still gives up rather than queue behind live traffic. Changing a column's
-- type drops its statistics, and a closed day's partition is never written
-- again (autovacuum would not re-analyze it): ANALYZE restores them.

SET LOCAL statement_timeout = 0;

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

ANALYZE "telemetry_event", "telemetry_daily", "telemetry_idempotency", "telemetry_rate_window", "telemetry_erasure", "telemetry_aggregate";
