-- tally: a per-(viewer, event, day) rollup kept in the same transaction as the
-- rows (by tally_ingest, the purge and erasure), so a summary's cost does not
-- grow with a viewer's traffic.

-- CreateTable
CREATE TABLE "telemetry_daily" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "event" VARCHAR(80) NOT NULL,
    "day" DATE NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "telemetry_daily_pkey" PRIMARY KEY ("viewer_id", "event", "day")
);

-- CreateIndex
CREATE INDEX "telemetry_daily_day_idx" ON "telemetry_daily"("day");

-- Rows stored before this migration.
INSERT INTO telemetry_daily (viewer_id, event, day, count)
SELECT viewer_id, event, (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM telemetry_event
GROUP BY 1, 2, 3;
