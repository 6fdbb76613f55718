-- Erases everything keyed by one viewer: every table with a viewer_id column,
-- found in the catalog so that a table added later is erased too, in the lock
-- order of tally_ingest (keys, rate windows, rollup, rows; any other table
-- after them). Returns the rows of telemetry_event deleted.
CREATE OR REPLACE FUNCTION tally_forget(p_viewer TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    t REGCLASS;
    n BIGINT;
    erased BIGINT := 0;
BEGIN
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'viewer_id' AND NOT a.attisdropped
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind IN ('r', 'p') AND NOT c.relispartition
        ORDER BY array_position(ARRAY['telemetry_idempotency', 'telemetry_rate_window', 'telemetry_daily', 'telemetry_event'], c.relname::text) NULLS LAST,
                 c.relname
    LOOP
        EXECUTE format('DELETE FROM %s WHERE viewer_id = $1', t) USING p_viewer;
        GET DIAGNOSTICS n = ROW_COUNT;
        IF t = 'telemetry_event'::regclass THEN
            erased := n;
        END IF;
    END LOOP;
    RETURN erased;
END;
$$;
