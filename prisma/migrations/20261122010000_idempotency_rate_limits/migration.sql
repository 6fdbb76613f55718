-- tally: no double counting on retry (Idempotency-Key), a per-viewer row budget
-- shared by every replica, and exactly-once cron ticks across replicas.

-- CreateTable
CREATE TABLE "telemetry_idempotency" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "key" VARCHAR(128) NOT NULL,
    "stored" INTEGER NOT NULL,
    "created_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "telemetry_idempotency_pkey" PRIMARY KEY ("viewer_id", "key")
);

-- CreateIndex
CREATE INDEX "telemetry_idempotency_created_at_idx" ON "telemetry_idempotency"("created_at");

-- CreateTable
CREATE TABLE "telemetry_rate_window" (
    "viewer_id" VARCHAR(64) NOT NULL,
    "window_start" TIMESTAMPTZ(6) NOT NULL,
    "rows" INTEGER NOT NULL,

    CONSTRAINT "telemetry_rate_window_pkey" PRIMARY KEY ("viewer_id", "window_start")
);

-- CreateIndex
CREATE INDEX "telemetry_rate_window_window_start_idx" ON "telemetry_rate_window"("window_start");

-- CreateTable
CREATE TABLE "telemetry_job_claim" (
    "job" VARCHAR(32) NOT NULL,
    "slot" TIMESTAMPTZ(6) NOT NULL,
    "claimed_at" TIMESTAMPTZ(6) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "telemetry_job_claim_pkey" PRIMARY KEY ("job", "slot")
);

-- Stores the counts of one or more ingest requests in one transaction and says,
-- per request, what happened:
--   stored        its rows were inserted
--   replayed      its (viewer, Idempotency-Key) was seen before: nothing stored,
--                 `stored` is what the first request stored
--   rate_limited  over the viewer's row budget for this minute: nothing stored
-- Requests are numbered 1..n (p_viewer, p_key); items point at their request
-- (p_item_req) with an event and a count. p_rate_limit <= 0 turns the budget off.
CREATE FUNCTION tally_ingest(
    p_viewer TEXT[], p_key TEXT[],
    p_item_req INT[], p_item_event TEXT[], p_item_count INT[],
    p_rate_limit INT)
RETURNS TABLE (req INT, outcome TEXT, stored INT, retry_after INT)
LANGUAGE plpgsql AS $$
DECLARE
    n INT := coalesce(array_length(p_viewer, 1), 0);
    i INT;
    want INT[];
    accepted INT[] := '{}';
    win TIMESTAMPTZ := date_trunc('minute', now());
    wait INT := greatest(1, ceil(extract(epoch FROM date_trunc('minute', now()) + interval '1 minute' - now()))::int);
BEGIN
    SELECT array_agg(coalesce(s.total, 0) ORDER BY r.i) INTO want
    FROM generate_series(1, n) AS r(i)
    LEFT JOIN (SELECT t.r, sum(t.c)::int AS total FROM unnest(p_item_req, p_item_count) AS t(r, c) GROUP BY t.r) s
      ON s.r = r.i;

    FOR i IN 1..n LOOP
        req := i;
        retry_after := NULL;
        IF p_key[i] IS NOT NULL THEN
            INSERT INTO telemetry_idempotency (viewer_id, key, stored)
            VALUES (p_viewer[i], p_key[i], want[i]) ON CONFLICT DO NOTHING;
            IF NOT FOUND THEN
                -- A concurrent first attempt has committed by now (the insert waited for it).
                SELECT k.stored INTO stored FROM telemetry_idempotency k
                WHERE k.viewer_id = p_viewer[i] AND k.key = p_key[i];
                outcome := 'replayed';
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        IF p_rate_limit > 0 THEN
            IF want[i] <= p_rate_limit THEN
                INSERT INTO telemetry_rate_window AS w (viewer_id, window_start, rows)
                VALUES (p_viewer[i], win, want[i])
                ON CONFLICT (viewer_id, window_start) DO UPDATE SET rows = w.rows + EXCLUDED.rows
                WHERE w.rows + EXCLUDED.rows <= p_rate_limit;
            END IF;
            IF want[i] > p_rate_limit OR NOT FOUND THEN
                -- Forget the key too, so the same request may be retried after the wait.
                IF p_key[i] IS NOT NULL THEN
                    DELETE FROM telemetry_idempotency k WHERE k.viewer_id = p_viewer[i] AND k.key = p_key[i];
                END IF;
                outcome := 'rate_limited';
                stored := 0;
                retry_after := wait;
                RETURN NEXT;
                CONTINUE;
            END IF;
        END IF;
        accepted := accepted || i;
        outcome := 'stored';
        stored := want[i];
        RETURN NEXT;
    END LOOP;

    IF array_length(accepted, 1) > 0 THEN
        INSERT INTO telemetry_event (viewer_id, event)
        SELECT p_viewer[t.r], t.e
        FROM unnest(p_item_req, p_item_event, p_item_count) AS t(r, e, c), generate_series(1, t.c)
        WHERE t.r = ANY (accepted);
    END IF;
END;
$$;
