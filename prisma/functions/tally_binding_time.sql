-- When a session binding is issued (GET /binding), by the database's clock in
-- microseconds since the epoch: the same clock tally_forget stamps an
-- erasure's tombstone with. It waits for the viewer's lock like an ingest
-- batch (shared), so a binding asked for while that viewer is being erased is
-- issued only after the erasure has committed — and is then younger than its
-- tombstone. A binding issued before is older, and its counts are refused.
CREATE OR REPLACE FUNCTION tally_binding_time(p_viewer TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(1952541804, hashtext(p_viewer));
    RETURN (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
END;
$$;
