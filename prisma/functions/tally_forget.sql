-- Erases everything keyed by one viewer: every table with a viewer_id column,
-- found in the catalog so that a table added later is erased too. Returns the
-- rows of telemetry_event deleted (events) and the rows deleted from every
-- table together (matched: 0 means nothing of this viewer was stored).
--
-- Then leaves the erasure's tombstone (p_subject, the viewer's erasure
-- subject, and the time): a count whose session binding was issued before it
-- is refused by tally_ingest, so nothing tracked before the erasure is stored
-- after it — a retry, a late keepalive request, another tab's outbox. The
-- tombstone is written even when nothing matched: counts may still be on their way.
--
-- Locks, so that nothing waits in a cycle and nothing is missed:
--   the viewer (advisory, exclusive): a batch of tally_ingest holding this
--     viewer finishes first, and none starts until the erasure commits;
--   the erasure lock (advisory, exclusive): the purge's deletes and the hourly
--     bookkeeping take it too, so they never lock the same rows in another order;
--   then rows: keys, rate windows, counted rows, the rollup, any other table.
-- A column that names a viewer under another name would escape this: it is an error
-- (a whole-number column such as telemetry_aggregate.viewers counts viewers; it cannot hold an id).
CREATE OR REPLACE FUNCTION tally_forget(p_viewer TEXT, p_subject TEXT) RETURNS TABLE (events BIGINT, matched BIGINT)
LANGUAGE plpgsql AS $$
DECLARE
    t REGCLASS;
    stray TEXT;
    n BIGINT;
    erased BIGINT := 0;
    total BIGINT := 0;
BEGIN
    SELECT format('%s.%s', c.relname, a.attname) INTO stray
    FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
    WHERE c.relnamespace = current_schema()::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
      AND a.attname ILIKE '%viewer%' AND a.attname <> 'viewer_id'
      AND a.atttypid NOT IN ('smallint'::regtype, 'integer'::regtype, 'bigint'::regtype)
    LIMIT 1;
    IF stray IS NOT NULL THEN
        RAISE EXCEPTION 'column % holds viewer data under a name erasure does not know (call it viewer_id)', stray;
    END IF;

    PERFORM pg_advisory_xact_lock(tally_lock_space('viewer'), hashtext(p_viewer));
    PERFORM pg_advisory_xact_lock(tally_lock_space('erasure'), 0);
    -- Partitions are reached through their parent, except a day partition the
    -- purge is detaching (detach pending: no longer scanned through the parent)
    -- or has detached and not yet dropped (a plain table by then).
    FOR t IN
        SELECT c.oid::regclass
        FROM pg_class c
        JOIN pg_attribute a ON a.attrelid = c.oid AND a.attname = 'viewer_id' AND NOT a.attisdropped
        WHERE c.relnamespace = current_schema()::regnamespace
          AND c.relkind IN ('r', 'p')
          AND (NOT c.relispartition OR EXISTS (SELECT 1 FROM pg_inherits i WHERE i.inhrelid = c.oid AND i.inhdetachpending))
        ORDER BY array_position(ARRAY['telemetry_idempotency', 'telemetry_event', 'telemetry_daily'], c.relname::text) NULLS LAST,
                 c.relname
    LOOP
        EXECUTE format('DELETE FROM %s WHERE viewer_id = $1', t) USING p_viewer;
        GET DIAGNOSTICS n = ROW_COUNT;
        total := total + n;
        IF t = 'telemetry_event'::regclass OR t::text ~ '^telemetry_event_p[0-9]{8}$' THEN
            erased := erased + n;
        END IF;
    END LOOP;
    -- The same clock as tally_binding_time's, under the same viewer lock: a
    -- binding issued before this erasure committed is older than erased_at.
    INSERT INTO telemetry_erasure AS e (subject, erased_at) VALUES (p_subject, clock_timestamp())
    ON CONFLICT (subject) DO UPDATE SET erased_at = EXCLUDED.erased_at;
    RETURN QUERY SELECT erased, total;
END;
$$;
