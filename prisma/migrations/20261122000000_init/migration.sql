-- tally: the counts table, partitioned by UTC day, and the purge log.

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

-- Day partitions are named telemetry_event_pYYYYMMDD and cover [day, day + 1)
-- in UTC. There is deliberately no DEFAULT partition: a default partition would
-- make every later CREATE ... PARTITION OF scan it, and a row outside every
-- partition is caught by the store, which creates the partition and retries.
CREATE FUNCTION tally_ensure_partitions(from_day DATE, to_day DATE) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    d DATE := from_day;
    created INTEGER := 0;
    part TEXT;
BEGIN
    WHILE d <= to_day LOOP
        part := 'telemetry_event_p' || to_char(d, 'YYYYMMDD');
        IF to_regclass(format('%I', part)) IS NULL THEN
            EXECUTE format(
                'CREATE TABLE IF NOT EXISTS %I PARTITION OF telemetry_event FOR VALUES FROM (%L) TO (%L)',
                part,
                (d::timestamp AT TIME ZONE 'UTC'),
                ((d + 1)::timestamp AT TIME ZONE 'UTC'));
            created := created + 1;
        END IF;
        d := d + 1;
    END LOOP;
    RETURN created;
END;
$$;

-- Day partitions wholly older than the cutoff, oldest first, with their row counts.
CREATE FUNCTION tally_expired_partitions(cutoff TIMESTAMPTZ)
RETURNS TABLE (partition_name TEXT, day DATE)
LANGUAGE sql STABLE AS $$
    SELECT c.relname::text, to_date(substring(c.relname from '(\d{8})$'), 'YYYYMMDD')
    FROM pg_inherits i
    JOIN pg_class c ON c.oid = i.inhrelid
    WHERE i.inhparent = 'telemetry_event'::regclass
      AND c.relname ~ '^telemetry_event_p\d{8}$'
      AND (to_date(substring(c.relname from '(\d{8})$'), 'YYYYMMDD') + 1)::timestamp AT TIME ZONE 'UTC' <= cutoff
    ORDER BY 2;
$$;

-- Drops one expired partition (named by tally_expired_partitions) and returns
-- how many rows it held. The name is checked so nothing else can be dropped.
CREATE FUNCTION tally_drop_partition(part TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
BEGIN
    IF part !~ '^telemetry_event_p\d{8}$' THEN
        RAISE EXCEPTION 'not a telemetry day partition: %', part;
    END IF;
    -- DROP needs a brief exclusive lock on telemetry_event; never queue behind
    -- (and so in front of) ingest for long. A timed-out drop is retried next run.
    SET LOCAL lock_timeout = '2s';
    EXECUTE format('SELECT count(*) FROM %I', part) INTO n;
    EXECUTE format('DROP TABLE %I', part);
    RETURN n;
END;
$$;

SELECT tally_ensure_partitions((now() AT TIME ZONE 'UTC')::date - 1, (now() AT TIME ZONE 'UTC')::date + 7);
