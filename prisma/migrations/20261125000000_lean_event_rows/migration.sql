-- tally: one index per counted row instead of three. Nothing reads the
-- bigserial id (the purge drops whole day partitions, and deletes the boundary
-- day's rows by ctid), and the created_at index served only the old purge; both
-- cost WAL on every count. The (viewer_id, event, created_at) index stays: the
-- summary's partial first day and erasure read by it.
ALTER TABLE "telemetry_event" DROP CONSTRAINT "telemetry_event_pkey";
ALTER TABLE "telemetry_event" DROP COLUMN "id";
DROP INDEX "telemetry_event_created_at_idx";
