-- tally: anonymous daily aggregates, written once a UTC day has closed and
-- kept after the raw rows are purged (TELEMETRY_AGGREGATE_RETENTION_DAYS).
-- No viewer id: per (day, event) only the count and how many distinct viewers
-- it rests on, so reports can suppress what rests on fewer than K viewers.

-- CreateTable
CREATE TABLE "telemetry_aggregate" (
    "day" DATE NOT NULL,
    "event" VARCHAR(80) NOT NULL,
    "count" BIGINT NOT NULL,
    "viewers" INTEGER NOT NULL,

    CONSTRAINT "telemetry_aggregate_pkey" PRIMARY KEY ("day", "event")
);

-- One row per aggregated day (also a day with no counts): the claim that makes
-- aggregation run once per day across replicas, and the report's way to know
-- which days to read from the aggregates.
-- CreateTable
CREATE TABLE "telemetry_aggregated_day" (
    "day" DATE NOT NULL,
    "aggregated_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "rows" BIGINT NOT NULL,

    CONSTRAINT "telemetry_aggregated_day_pkey" PRIMARY KEY ("day")
);
