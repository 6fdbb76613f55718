-- Writes the anonymous aggregates of one closed UTC day from the rollup
-- (telemetry_daily): per event, the count and the distinct viewers it rests
-- on (rollup rows a purge brought to zero are not viewers). Exactly once per
-- day across replicas: the day's row in telemetry_aggregated_day is inserted
-- first, in the same transaction; a replica that finds it there (waiting for
-- the other's commit on the primary key) does nothing and returns no row.
CREATE OR REPLACE FUNCTION tally_aggregate_day(p_day DATE) RETURNS TABLE (events INT, rows BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    n_events INT;
    n_rows BIGINT;
BEGIN
    INSERT INTO telemetry_aggregated_day (day, rows) VALUES (p_day, 0) ON CONFLICT (day) DO NOTHING;
    IF NOT FOUND THEN
        RETURN;
    END IF;
    INSERT INTO telemetry_aggregate (day, event, count, viewers)
    SELECT p_day, d.event, sum(d.count), count(*)
    FROM telemetry_daily d
    WHERE d.day = p_day AND d.count > 0
    GROUP BY d.event;
    GET DIAGNOSTICS n_events = ROW_COUNT;
    SELECT coalesce(sum(a.count), 0) INTO n_rows FROM telemetry_aggregate a WHERE a.day = p_day;
    UPDATE telemetry_aggregated_day SET rows = n_rows WHERE day = p_day;
    RETURN QUERY SELECT n_events, n_rows;
END;
$$;
