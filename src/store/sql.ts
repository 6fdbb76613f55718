// The one way raw SQL runs: typed statements with parameters (never string
// building from input). A named statement is prepared once per connection by
// pg and planned once; DDL, which cannot take parameters for identifiers, is
// built only from names this code has validated (see retention.ts).
//
// Raw SQL is used only where Prisma's typed API cannot do the work or is
// measurably slower: the ingest and summary hot paths (prepared statements:
// see README "Storage and migrations" for the numbers), calls of the SQL
// functions in prisma/functions/, partition DDL, and reads of telemetry_event,
// which has no unique key and so is @@ignore'd in schema.prisma.
import type pg from "pg";

/** A SQL statement whose parameters are P and whose rows are R. */
export interface Statement<P extends readonly unknown[], R> {
  /** Prepared under this name on each connection; undefined: sent unprepared. */
  readonly name: string | undefined;
  readonly text: string;
  /** Carries P and R for the type checker only. */
  readonly types?: (params: P) => R;
}

export function statement<P extends readonly unknown[], R = never>(name: string | undefined, text: string): Statement<P, R> {
  return { name, text };
}

export type Queryable = Pick<pg.Pool, "query"> | pg.PoolClient;

export async function query<P extends readonly unknown[], R>(db: Queryable, s: Statement<P, R>, ...params: P): Promise<R[]> {
  const result = await db.query<R & pg.QueryResultRow>({ ...(s.name ? { name: s.name } : {}), text: s.text, values: [...params] });
  return result.rows;
}

/** The one row a statement returns (a statement that always returns one). */
export async function queryOne<P extends readonly unknown[], R>(db: Queryable, s: Statement<P, R>, ...params: P): Promise<R> {
  const [row] = await query(db, s, ...params);
  if (row === undefined) throw new Error(`statement returned no row: ${s.name ?? s.text.slice(0, 40)}`);
  return row;
}

/** Runs `work` on one pooled connection inside BEGIN … COMMIT; ROLLBACK (and rethrow) when it fails. */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  try {
    await client.query("BEGIN");
    const result = await work(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => {});
    throw err;
  } finally {
    client.release();
  }
}
