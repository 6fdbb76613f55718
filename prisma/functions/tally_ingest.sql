-- Stores the counts of one or more ingest requests in one transaction and says,
-- per request, what happened:
--   stored        its rows were inserted
--   replayed      its (viewer, key) was seen before with the same body: nothing
--                 stored, `stored` is what the first attempt stored
--   key_reused    its (viewer, key) was seen before with another body: nothing stored
--   rate_limited  over the viewer's row budget for this minute: nothing stored
--   erased        its session binding was issued (p_bound_at, µs) before the
--                 viewer's last erasure: tracked before it, never stored. A
--                 request without a binding cannot be dated: for as long as the
--                 tombstone lasts it is refused too
--   session_mismatch  its binding is older than p_binding_max_age_s (by the
--                 database's clock, the tombstones' own)
-- Requests are numbered 1..n; each (viewer, key) appears at most once (the
-- caller resolves repeats inside a batch: src/telemetry/batch-plan.ts).
-- p_subject is each viewer's erasure subject (tombstones and the row budget are
-- keyed by it); p_bound_at is NULL for a request without a binding.
-- p_rate_limit <= 0: no budget.
--
-- Lock order, so two transactions can never wait on each other in a cycle:
--   0. the batch's viewers (advisory, shared), by hash — tally_forget takes one exclusively
--   1. idempotency keys, by (viewer, key)   2. rate windows, by subject
--   3. rollup rows, by (viewer, event)       (rows in telemetry_event are only inserted)
CREATE OR REPLACE FUNCTION tally_ingest(
    p_viewer TEXT[], p_subject TEXT[], p_bound_at BIGINT[], p_key TEXT[], p_body TEXT[], p_want INT[],
    p_item_req INT[], p_item_event TEXT[], p_item_count INT[],
    p_rate_limit INT, p_binding_max_age_s INT)
RETURNS TABLE (req INT, outcome TEXT, stored INT, retry_after INT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(array_length(p_viewer, 1), 0);
    result TEXT[] := array_fill('stored'::TEXT, ARRAY[n]);
    kept INT[] := p_want;
    claimed TEXT[];
    fits TEXT[] := '{}';
    r RECORD;
    win TIMESTAMPTZ := date_trunc('minute', now());
    wait INT := greatest(1, ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()))::int);
    today DATE := (now() AT TIME ZONE 'UTC')::date;
    too_old BIGINT := (extract(epoch FROM now()) * 1000000)::bigint - p_binding_max_age_s::bigint * 1000000;
BEGIN
    -- 0. Each viewer of the batch, shared, in one order: erasure (tally_forget)
    -- takes its viewer exclusively, so it never runs beside a batch of that
    -- viewer's and never misses a row, key or window the batch is writing.
    PERFORM pg_advisory_xact_lock_shared(tally_lock_space('viewer'), k)
    FROM (SELECT DISTINCT hashtext(v) AS k FROM unnest(p_viewer) AS v ORDER BY 1) AS viewers;

    -- A binding too old to be trusted (the tombstones last an hour longer).
    IF EXISTS (SELECT 1 FROM unnest(p_bound_at) AS b WHERE b < too_old) THEN
        FOR r IN
            SELECT i FROM generate_subscripts(p_viewer, 1) AS i WHERE p_bound_at[i] < too_old
        LOOP
            result[r.i] := 'session_mismatch';
            kept[r.i] := 0;
        END LOOP;
    END IF;

    -- A count tracked before its viewer's last erasure is never stored: its
    -- binding was issued before the tombstone's time (no binding: it cannot be
    -- dated, and is refused while the tombstone lasts). Holding the viewer's
    -- lock, an erasure cannot commit between this check and the insert below.
    IF EXISTS (SELECT 1 FROM telemetry_erasure) THEN
        FOR r IN
            SELECT i FROM generate_subscripts(p_viewer, 1) AS i
            JOIN telemetry_erasure e ON e.subject = p_subject[i]
            WHERE coalesce(p_bound_at[i], 0) <= (extract(epoch FROM e.erased_at) * 1000000)::bigint
              AND result[i] = 'stored'
        LOOP
            result[r.i] := 'erased';
            kept[r.i] := 0;
        END LOOP;
    END IF;

    -- 1. Keys: claim the new ones, in (viewer, key) order. A key seen before
    -- answers from its first attempt (the insert waited for that one to commit).
    WITH ins AS (
        INSERT INTO telemetry_idempotency AS k (viewer_id, key_hash, body_hash, stored)
        SELECT p_viewer[i], p_key[i], p_body[i], p_want[i]
        FROM generate_subscripts(p_viewer, 1) AS i
        WHERE p_key[i] IS NOT NULL AND result[i] = 'stored'
        ORDER BY p_viewer[i], p_key[i]
        ON CONFLICT DO NOTHING
        RETURNING k.viewer_id, k.key_hash)
    SELECT coalesce(array_agg(ins.viewer_id || ' ' || ins.key_hash), '{}') INTO claimed FROM ins;

    -- (Only when some key was not new: usually every key is, and the statement is skipped.)
    IF coalesce(array_length(claimed, 1), 0) < (SELECT count(*) FROM generate_subscripts(p_viewer, 1) AS i WHERE p_key[i] IS NOT NULL AND result[i] = 'stored') THEN
        FOR r IN
            SELECT i, k.stored AS prior, k.body_hash = p_body[i] AS same_body
            FROM generate_subscripts(p_viewer, 1) AS i
            LEFT JOIN telemetry_idempotency k ON k.viewer_id = p_viewer[i] AND k.key_hash = p_key[i]
            WHERE p_key[i] IS NOT NULL AND result[i] = 'stored' AND NOT (p_viewer[i] || ' ' || p_key[i] = ANY (claimed))
        LOOP
            -- (A key erased meanwhile, with its rows, is answered as replayed: nothing to store twice.)
            result[r.i] := CASE WHEN r.same_body IS FALSE THEN 'key_reused' ELSE 'replayed' END;
            kept[r.i] := CASE WHEN r.same_body IS FALSE THEN 0 ELSE coalesce(r.prior, p_want[r.i]) END;
        END LOOP;
    END IF;

    -- 2. The row budget. One statement locks every viewer's window row, in
    -- viewer order, and takes each viewer's whole share where it fits (the usual
    -- case). ON CONFLICT ... WHERE locks a row even when it does not update it.
    IF p_rate_limit > 0 THEN
        WITH per_viewer AS (
            SELECT p_subject[i] AS v, sum(p_want[i])::int AS total
            FROM generate_subscripts(p_viewer, 1) AS i
            WHERE result[i] = 'stored'
            GROUP BY 1),
        taken AS (
            INSERT INTO telemetry_rate_window AS w (subject, window_start, rows)
            SELECT pv.v, win, CASE WHEN pv.total <= p_rate_limit THEN pv.total ELSE 0 END
            FROM per_viewer pv ORDER BY pv.v
            ON CONFLICT (subject, window_start) DO UPDATE SET rows = w.rows + EXCLUDED.rows
            WHERE EXCLUDED.rows > 0 AND w.rows + EXCLUDED.rows <= p_rate_limit
            RETURNING w.subject)
        SELECT coalesce(array_agg(t.subject::text), '{}') INTO fits
        FROM taken t JOIN per_viewer pv ON pv.v = t.subject
        WHERE pv.total <= p_rate_limit;

        -- The other viewers (already locked above; usually none): each takes the
        -- longest prefix of its requests, in order, that fits in what its window has left.
        IF EXISTS (SELECT 1 FROM generate_subscripts(p_viewer, 1) AS i WHERE result[i] = 'stored' AND NOT (p_subject[i] = ANY (fits))) THEN
            FOR r IN
                SELECT s.i
                FROM (SELECT i, p_subject[i] AS v,
                             sum(p_want[i]) OVER (PARTITION BY p_subject[i] ORDER BY i) AS running
                      FROM generate_subscripts(p_viewer, 1) AS i
                      WHERE result[i] = 'stored' AND NOT (p_subject[i] = ANY (fits))) s
                JOIN telemetry_rate_window w ON w.subject = s.v AND w.window_start = win
                WHERE w.rows + s.running > p_rate_limit
            LOOP
                result[r.i] := 'rate_limited';
                kept[r.i] := 0;
            END LOOP;
            UPDATE telemetry_rate_window w SET rows = w.rows + s.n
            FROM (SELECT p_subject[i] AS v, sum(p_want[i])::int AS n
                  FROM generate_subscripts(p_viewer, 1) AS i
                  WHERE result[i] = 'stored' AND NOT (p_subject[i] = ANY (fits))
                  GROUP BY 1) s
            WHERE w.subject = s.v AND w.window_start = win;

            -- A refused request forgets its key, so the same request may be retried after the wait.
            DELETE FROM telemetry_idempotency k
            USING generate_subscripts(p_viewer, 1) AS i
            WHERE result[i] = 'rate_limited' AND p_key[i] IS NOT NULL
              AND k.viewer_id = p_viewer[i] AND k.key_hash = p_key[i];
        END IF;
    END IF;

    -- 3. One row per count, and the rollup, in this same transaction (one
    -- statement: the rows are only inserted, so only the rollup's rows lock,
    -- in (viewer, event) order).
    WITH counted AS (
        INSERT INTO telemetry_event (viewer_id, event)
        SELECT p_viewer[t.r], t.e
        FROM unnest(p_item_req, p_item_event, p_item_count) AS t(r, e, c), generate_series(1, t.c)
        WHERE result[t.r] = 'stored')
    INSERT INTO telemetry_daily AS d (viewer_id, event, day, count)
    SELECT p_viewer[t.r], t.e, today, sum(t.c)
    FROM unnest(p_item_req, p_item_event, p_item_count) AS t(r, e, c)
    WHERE result[t.r] = 'stored'
    GROUP BY 1, 2
    ORDER BY p_viewer[t.r], t.e
    ON CONFLICT (viewer_id, event, day) DO UPDATE SET count = d.count + EXCLUDED.count;

    RETURN QUERY
    SELECT i, result[i], kept[i], CASE WHEN result[i] = 'rate_limited' THEN wait END
    FROM generate_subscripts(p_viewer, 1) AS i;
END;
$$;
