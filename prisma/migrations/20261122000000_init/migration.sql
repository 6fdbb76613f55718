-- tally: the counts table, partitioned by UTC day, and the purge log.
-- (Day partitions are created by tally_ensure_partitions, prisma/functions/.)

-- CreateTable
CREATE TABLE "telemetry_event" (
    "id" BIGSERIAL NOT NULL,
    "viewer_id" VARCHAR(64) NOT NULL,
    "event" VARCHAR(80) NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "telemetry_event_pkey" PRIMARY KEY ("id", "created_at")
) PARTITION BY RANGE ("created_at");

-- CreateIndex
CREATE INDEX "telemetry_event_viewer_id_event_created_at_idx" ON "telemetry_event"("viewer_id", "event", "created_at");

-- CreateIndex
CREATE INDEX "telemetry_event_created_at_idx" ON "telemetry_event"("created_at");

-- CreateTable
CREATE TABLE "telemetry_purge_run" (
    "id" SERIAL NOT NULL,
    "ran_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "cutoff" TIMESTAMPTZ(6) NOT NULL,
    "rows_deleted" BIGINT NOT NULL,
    "partitions_dropped" INTEGER NOT NULL DEFAULT 0,
    "duration_ms" INTEGER NOT NULL,
    "trigger" VARCHAR(16) NOT NULL,

    CONSTRAINT "telemetry_purge_run_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "telemetry_purge_run_ran_at_idx" ON "telemetry_purge_run"("ran_at");
