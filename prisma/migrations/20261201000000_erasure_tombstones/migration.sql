-- tally: an erasure stays erased, and is no way around the row budget.
--
-- telemetry_erasure: one row per erased viewer for 25 hours — a keyed hash
-- (not the viewer_id the other tables hold) and when the erasure ran. A count
-- whose session binding was issued before that moment was tracked before the
-- erasure and is refused (410 erased). Bindings are accepted for 24 hours, so
-- after 25 hours the row can refer to nothing and the hourly maintenance
-- deletes it.
--
-- telemetry_rate_window is keyed by the same hash ("subject") instead of the
-- viewer_id: an erasure leaves it (it is deleted after an hour anyway), so
-- erasing yourself every minute does not reset your budget. Windows are a
-- minute long: dropping the current ones costs at most one minute's budget.

-- CreateTable
CREATE TABLE "telemetry_erasure" (
    "subject" VARCHAR(64) NOT NULL,
    "erased_at" TIMESTAMPTZ(6) NOT NULL,

    CONSTRAINT "telemetry_erasure_pkey" PRIMARY KEY ("subject")
);

-- CreateIndex
CREATE INDEX "telemetry_erasure_erased_at_idx" ON "telemetry_erasure"("erased_at");

-- RenameColumn (the current windows were keyed by viewer_id: they are dropped)
TRUNCATE "telemetry_rate_window";
ALTER TABLE "telemetry_rate_window" RENAME COLUMN "viewer_id" TO "subject";

-- The contribution bound and the differential-privacy budget each day was aggregated under
-- (NULL on days aggregated before either existed: uncapped, exact).
-- AlterTable
ALTER TABLE "telemetry_aggregated_day" ADD COLUMN "max_per_viewer" INTEGER,
ADD COLUMN "epsilon" DOUBLE PRECISION;
