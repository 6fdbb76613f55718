-- Aggregates every closed UTC day the rollup still holds that is not yet
-- aggregated (a day is closed p_grace_seconds after midnight: a transaction
-- begun before it may still commit), oldest first, in one call: catching up
-- after downtime costs one round trip, not one per day. Returns the days this
-- call aggregated (see tally_aggregate_day: a day another replica has is skipped).
CREATE OR REPLACE FUNCTION tally_aggregate_pending(p_grace_seconds INT) RETURNS TABLE (day DATE, events INT, rows BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    d DATE;
BEGIN
    FOR d IN
        SELECT g::date
        FROM generate_series(
               (SELECT min(t.day) FROM telemetry_daily t),
               ((now() - make_interval(secs => p_grace_seconds)) AT TIME ZONE 'UTC')::date - 1,
               interval '1 day') AS g
        WHERE NOT EXISTS (SELECT 1 FROM telemetry_aggregated_day a WHERE a.day = g::date)
        ORDER BY 1
    LOOP
        RETURN QUERY SELECT d, r.events, r.rows FROM tally_aggregate_day(d) r;
    END LOOP;
END;
$$;
