-- tally: no double counting on retry (Idempotency-Key), a per-viewer row budget
-- shared by every replica, and exactly-once cron ticks across replicas.

-- CreateTable
CREATE TABLE "telemetry_idempotency" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "key" VARCHAR(128) NOT NULL,
    "stored" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "telemetry_idempotency_pkey" PRIMARY KEY ("viewer_id", "key")
);

-- CreateIndex
CREATE INDEX "telemetry_idempotency_created_at_idx" ON "telemetry_idempotency"("created_at");

-- CreateTable
CREATE TABLE "telemetry_rate_window" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "window_start" TIMESTAMPTZ(6) NOT NULL,
    "rows" INTEGER NOT NULL,

    CONSTRAINT "telemetry_rate_window_pkey" PRIMARY KEY ("viewer_id", "window_start")
);

-- CreateIndex
CREATE INDEX "telemetry_rate_window_window_start_idx" ON "telemetry_rate_window"("window_start");

-- CreateTable
CREATE TABLE "telemetry_job_claim" (
    "job" VARCHAR(32) NOT NULL,
    "slot" TIMESTAMPTZ(6) NOT NULL,
    "claimed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "telemetry_job_claim_pkey" PRIMARY KEY ("job", "slot")
);
