// Session-level Postgres advisory locks on a connection set aside for the
// purpose: the work itself runs on other pooled connections, and if the process
// dies the connection closes and the lock is released with it.
import type pg from "pg";

/** Runs `work` holding the lock, or returns `undefined` at once if another session holds it. */
export async function withTryAdvisoryLock<T>(pool: pg.Pool, key: bigint, work: () => Promise<T>): Promise<T | undefined> {
  const client = await pool.connect();
  let locked = false;
  try {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [key.toString()]);
    locked = rows[0]?.locked === true;
    if (!locked) return undefined;
    return await work();
  } finally {
    if (locked) await client.query("SELECT pg_advisory_unlock($1)", [key.toString()]).catch(() => {});
    client.release();
  }
}
