-- When a session binding is issued (GET /binding), by the database's clock in
-- microseconds since the epoch: the same clock tally_forget stamps an
-- erasure's tombstone with, at the end of the erasure.
--
-- It never waits. While an erasure of this viewer is under way (tally_forget
-- holds the viewer's lock exclusively), the binding is stamped an hour back:
-- older than the tombstone about to be written, so counts bound to it — tracked
-- while the erasure ran — are refused once it commits (the emitter then asks
-- for a new binding). Otherwise a binding asked for during an erasure would be
-- issued after it, and counts another tab tracked meanwhile would be stored.
CREATE OR REPLACE FUNCTION tally_binding_time(p_viewer TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    now_us BIGINT := (extract(epoch FROM clock_timestamp()) * 1000000)::bigint;
BEGIN
    IF pg_try_advisory_xact_lock_shared(tally_lock_space('viewer'), hashtext(p_viewer)) THEN
        RETURN now_us;
    END IF;
    RETURN now_us - 3600000000;
END;
$$;
