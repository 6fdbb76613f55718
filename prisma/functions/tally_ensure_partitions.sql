-- Creates the day partitions of telemetry_event from from_day to to_day that do
-- not exist yet; returns how many it created. Partitions are named
-- telemetry_event_pYYYYMMDD and cover [day, day + 1) in UTC. There is
-- deliberately no DEFAULT partition: a default partition would make every later
-- CREATE ... PARTITION OF scan it, and a row outside every partition is caught
-- by the store, which creates the partition and retries. Replicas starting
-- together, and concurrent batches that found a day missing, take turns (a
-- transaction-level advisory lock) instead of racing to create the same table.
CREATE OR REPLACE FUNCTION tally_ensure_partitions(from_day DATE, to_day DATE) RETURNS INTEGER
LANGUAGE plpgsql AS $$
DECLARE
    d DATE := from_day;
    created INTEGER := 0;
    part TEXT;
BEGIN
    PERFORM pg_advisory_xact_lock(tally_lock_space('partitions'), 0);
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
