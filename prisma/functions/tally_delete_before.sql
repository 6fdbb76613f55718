-- Deletes at most p_limit rows older than p_cutoff from the day partition that
-- holds p_cutoff (the boundary day: whole older days are detached and dropped
-- by the purge) and takes them off the rollup in the same statement; returns
-- how many. Rows are picked by ctid: telemetry_event has no key of its own.
-- It holds the erasure lock (see tally_forget) so an erasure never deletes the
-- same rows beside it in another order.
CREATE OR REPLACE FUNCTION tally_delete_before(p_cutoff TIMESTAMPTZ, p_limit INT) RETURNS INT
LANGUAGE plpgsql AS $$
DECLARE
    part TEXT := 'telemetry_event_p' || to_char((p_cutoff AT TIME ZONE 'UTC')::date, 'YYYYMMDD');
    n INT;
BEGIN
    IF to_regclass(format('%I', part)) IS NULL THEN
        RETURN 0;
    END IF;
    PERFORM pg_advisory_xact_lock(tally_lock_space('erasure'), 0);
    EXECUTE format(
        'WITH gone AS (
             DELETE FROM %1$I WHERE ctid = ANY (ARRAY(SELECT ctid FROM %1$I WHERE created_at < $1 LIMIT $2))
             RETURNING viewer_id, event, created_at),
         per_day AS (
             SELECT viewer_id, event, (created_at AT TIME ZONE ''UTC'')::date AS day, count(*) AS n
             FROM gone GROUP BY 1, 2, 3),
         rolled AS (
             UPDATE telemetry_daily d SET count = d.count - p.n
             FROM per_day p
             WHERE d.viewer_id = p.viewer_id AND d.event = p.event AND d.day = p.day)
         SELECT coalesce(sum(n), 0)::int FROM per_day', part)
    INTO n USING p_cutoff, p_limit;
    RETURN n;
END;
$$;
