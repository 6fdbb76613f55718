-- tally: a per-(viewer, event, day) rollup kept in the same transaction as the
-- rows, so a summary's cost does not grow with a viewer's traffic; tally_ingest
-- takes its locks in a fixed order so concurrent group-commit batches never
-- deadlock; the purge and erasure keep the rollup equal to the raw rows.

-- CreateTable
CREATE TABLE "telemetry_daily" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "event" VARCHAR(80) NOT NULL,
    "day" DATE NOT NULL,
    "count" BIGINT NOT NULL,

    CONSTRAINT "telemetry_daily_pkey" PRIMARY KEY ("viewer_id", "event", "day")
);

-- CreateIndex
CREATE INDEX "telemetry_daily_day_idx" ON "telemetry_daily"("day");

-- Rows stored before this migration.
INSERT INTO telemetry_daily (viewer_id, event, day, count)
SELECT viewer_id, event, (created_at AT TIME ZONE 'UTC')::date, count(*)
FROM telemetry_event
GROUP BY 1, 2, 3;

-- Same contract as before (see 20261122010000), now also adding to the rollup.
-- Lock order, for batches running side by side: every idempotency key first,
-- in (viewer, key) order; then every rate window, in viewer order; then the
-- rollup rows, in (viewer, event) order. Two batches cannot wait on each other
-- in a cycle. A key repeated inside one batch is owned by its first request;
-- the repeats share that request's fate (replayed, or rate_limited with it).
CREATE OR REPLACE FUNCTION tally_ingest(
    p_viewer TEXT[], p_key TEXT[],
    p_item_req INT[], p_item_event TEXT[], p_item_count INT[],
    p_rate_limit INT)
RETURNS TABLE (req INT, outcome TEXT, stored INT, retry_after INT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(array_length(p_viewer, 1), 0);
    i INT;
    j INT;
    want INT[];
    owner INT[] := array_fill(0, ARRAY[n]);       -- 0: no key; i: owns its key; k: repeats request k's key
    prior INT[] := array_fill(NULL::int, ARRAY[n]); -- stored by an earlier request with the same key
    result TEXT[] := array_fill(NULL::text, ARRAY[n]);
    kept INT[] := array_fill(0, ARRAY[n]);
    accepted INT[] := '{}';
    fits TEXT[] := '{}';
    win TIMESTAMPTZ := date_trunc('minute', now());
    wait INT := greatest(1, ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()))::int);
    today DATE := (now() AT TIME ZONE 'UTC')::date;
BEGIN
    SELECT array_agg(coalesce(s.total, 0) ORDER BY r.i) INTO want
    FROM generate_series(1, n) AS r(i)
    LEFT JOIN (SELECT t.r, sum(t.c)::int AS total FROM unnest(p_item_req, p_item_count) AS t(r, c) GROUP BY t.r) s
      ON s.r = r.i;

    -- 1. Idempotency keys.
    FOR i IN
        SELECT o.ord FROM unnest(p_viewer, p_key) WITH ORDINALITY AS o(v, k, ord)
        WHERE o.k IS NOT NULL ORDER BY o.v, o.k, o.ord
    LOOP
        SELECT o.ord INTO j FROM unnest(p_viewer, p_key) WITH ORDINALITY AS o(v, k, ord)
        WHERE o.v = p_viewer[i] AND o.k = p_key[i] AND o.ord < i ORDER BY o.ord LIMIT 1;
        IF j IS NOT NULL THEN
            owner[i] := j;
            CONTINUE;
        END IF;
        INSERT INTO telemetry_idempotency (viewer_id, key, stored)
        VALUES (p_viewer[i], p_key[i], want[i]) ON CONFLICT DO NOTHING;
        IF FOUND THEN
            owner[i] := i;
        ELSE
            -- A concurrent first attempt has committed by now (the insert waited for it).
            SELECT k.stored INTO j FROM telemetry_idempotency k
            WHERE k.viewer_id = p_viewer[i] AND k.key = p_key[i];
            owner[i] := -1;
            prior[i] := j;
        END IF;
    END LOOP;

    -- 2. The row budget. Fast path, one statement: each viewer whose whole
    -- share of the batch fits takes it at once (as one by one would). Only the
    -- others are then decided request by request, in order.
    IF p_rate_limit > 0 THEN
        WITH per_viewer AS (
            SELECT p_viewer[r.ord] AS v, sum(want[r.ord]) AS total
            FROM generate_series(1, n) AS r(ord)
            WHERE owner[r.ord] = 0 OR owner[r.ord] = r.ord
            GROUP BY 1),
        taken AS (
            INSERT INTO telemetry_rate_window AS w (viewer_id, window_start, rows)
            SELECT pv.v, win, pv.total FROM per_viewer pv WHERE pv.total <= p_rate_limit ORDER BY pv.v
            ON CONFLICT (viewer_id, window_start) DO UPDATE SET rows = w.rows + EXCLUDED.rows
            WHERE w.rows + EXCLUDED.rows <= p_rate_limit
            RETURNING w.viewer_id)
        SELECT coalesce(array_agg(taken.viewer_id::text), '{}') INTO fits FROM taken;
    END IF;
    FOR i IN SELECT o.ord FROM unnest(p_viewer) WITH ORDINALITY AS o(v, ord) ORDER BY o.v, o.ord LOOP
        IF owner[i] = -1 THEN
            result[i] := 'replayed';
            kept[i] := prior[i];
            CONTINUE;
        END IF;
        IF owner[i] > 0 AND owner[i] <> i THEN
            -- The owner sorts before its repeats (same viewer, lower index).
            IF result[owner[i]] = 'rate_limited' THEN
                result[i] := 'rate_limited';
            ELSE
                result[i] := 'replayed';
                kept[i] := want[owner[i]];
            END IF;
            CONTINUE;
        END IF;
        IF p_rate_limit > 0 AND NOT (p_viewer[i] = ANY (fits)) THEN
            IF want[i] <= p_rate_limit THEN
                INSERT INTO telemetry_rate_window AS w (viewer_id, window_start, rows)
                VALUES (p_viewer[i], win, want[i])
                ON CONFLICT (viewer_id, window_start) DO UPDATE SET rows = w.rows + EXCLUDED.rows
                WHERE w.rows + EXCLUDED.rows <= p_rate_limit;
            END IF;
            IF want[i] > p_rate_limit OR NOT FOUND THEN
                -- Forget the key too, so the same request may be retried after the wait.
                IF owner[i] = i THEN
                    DELETE FROM telemetry_idempotency k WHERE k.viewer_id = p_viewer[i] AND k.key = p_key[i];
                END IF;
                result[i] := 'rate_limited';
                CONTINUE;
            END IF;
        END IF;
        result[i] := 'stored';
        kept[i] := want[i];
        accepted := accepted || i;
    END LOOP;

    -- 3. One row per count, and the rollup, in this same transaction.
    IF array_length(accepted, 1) > 0 THEN
        INSERT INTO telemetry_event (viewer_id, event)
        SELECT p_viewer[t.r], t.e
        FROM unnest(p_item_req, p_item_event, p_item_count) AS t(r, e, c), generate_series(1, t.c)
        WHERE t.r = ANY (accepted);

        INSERT INTO telemetry_daily AS d (viewer_id, event, day, count)
        SELECT p_viewer[t.r], t.e, today, sum(t.c)
        FROM unnest(p_item_req, p_item_event, p_item_count) AS t(r, e, c)
        WHERE t.r = ANY (accepted)
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (viewer_id, event, day) DO UPDATE SET count = d.count + EXCLUDED.count;
    END IF;

    RETURN QUERY
    SELECT r.i, result[r.i], CASE WHEN result[r.i] = 'rate_limited' THEN 0 ELSE kept[r.i] END,
           CASE WHEN result[r.i] = 'rate_limited' THEN wait END
    FROM generate_series(1, n) AS r(i);
END;
$$;

-- Drops one expired partition and its rollup rows; returns how many rows it
-- held, read from the rollup instead of counting the partition.
CREATE OR REPLACE FUNCTION tally_drop_partition(part TEXT) RETURNS BIGINT
LANGUAGE plpgsql AS $$
DECLARE
    n BIGINT;
    d DATE;
BEGIN
    IF part !~ '^telemetry_event_p\d{8}$' THEN
        RAISE EXCEPTION 'not a telemetry day partition: %', part;
    END IF;
    d := to_date(substring(part from '(\d{8})$'), 'YYYYMMDD');
    -- DROP needs a brief exclusive lock on telemetry_event; never queue behind
    -- (and so in front of) ingest for long. A timed-out drop is retried next run.
    SET LOCAL lock_timeout = '2s';
    WITH gone AS (DELETE FROM telemetry_daily WHERE day = d RETURNING count)
    SELECT coalesce(sum(count), 0) INTO n FROM gone;
    EXECUTE format('DROP TABLE %I', part);
    RETURN n;
END;
$$;

-- Deletes at most p_limit rows older than p_cutoff (the boundary day) and takes
-- them off the rollup in the same statement; returns how many.
CREATE FUNCTION tally_delete_before(p_cutoff TIMESTAMPTZ, p_limit INT) RETURNS INT
LANGUAGE sql AS $$
    WITH gone AS (
        DELETE FROM telemetry_event
        WHERE (id, created_at) IN (
            SELECT id, created_at FROM telemetry_event WHERE created_at < p_cutoff LIMIT p_limit)
        RETURNING viewer_id, event, created_at),
    per_day AS (
        SELECT viewer_id, event, (created_at AT TIME ZONE 'UTC')::date AS day, count(*) AS n
        FROM gone GROUP BY 1, 2, 3),
    rolled AS (
        UPDATE telemetry_daily d SET count = d.count - p.n
        FROM per_day p
        WHERE d.viewer_id = p.viewer_id AND d.event = p.event AND d.day = p.day)
    SELECT coalesce(sum(n), 0)::int FROM per_day;
$$;

-- The summary: a viewer's counts per (UTC day, event) over the last p_days ×
-- 24 h, for the days with counts. The window's first day is partial and
-- counted from the raw rows (one day partition); every later day, today
-- included, is whole and read from the rollup. In PL/pgSQL so the plan is
-- cached: planning a query over every day partition costs more than running it.
CREATE FUNCTION tally_summary_daily(p_viewer TEXT, p_days INT)
RETURNS TABLE (day DATE, event TEXT, n BIGINT)
LANGUAGE plpgsql STABLE AS $$
DECLARE
    since TIMESTAMPTZ := now() - make_interval(days => p_days);
    first_day DATE := (since AT TIME ZONE 'UTC')::date;
    first_day_end TIMESTAMPTZ := (first_day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
    RETURN QUERY
    SELECT d.day, d.event::text, d.count FROM telemetry_daily d
    WHERE d.viewer_id = p_viewer AND d.day > first_day AND d.count > 0
    UNION ALL
    SELECT first_day, e.event::text, count(*) FROM telemetry_event e
    WHERE e.viewer_id = p_viewer AND e.created_at >= since AND e.created_at < first_day_end
    GROUP BY e.event;
END;
$$;
