-- A viewer's counts per (UTC day, event) since p_since, for the days with
-- counts. The first UTC day of the window is partial and counted from the raw
-- rows (one day partition, one index range); every later day, today included,
-- is whole and read from the telemetry_daily rollup, so a summary's cost does
-- not grow with a viewer's history. In PL/pgSQL so its plans are cached:
-- planning a query over every day partition costs more than running it.
CREATE OR REPLACE FUNCTION tally_summary_daily(p_viewer TEXT, p_since TIMESTAMPTZ)
RETURNS TABLE (day DATE, event TEXT, n BIGINT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    first_day DATE := (p_since AT TIME ZONE 'UTC')::date;
    first_day_end TIMESTAMPTZ := (first_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    RETURN QUERY
    SELECT d.day, d.event::text, d.count FROM telemetry_daily d
    WHERE d.viewer_id = p_viewer AND d.day > first_day AND d.count > 0
    UNION ALL
    SELECT first_day, e.event::text, count(*) FROM telemetry_event e
    WHERE e.viewer_id = p_viewer AND e.created_at >= p_since AND e.created_at < first_day_end
    GROUP BY e.event;
END;
$$;
