import type { Catalog } from "./catalog.js";

/** Every catalog event, in catalog order, with its count or 0. */
export function zeroFilledCounts(catalog: Catalog, counts: ReadonlyMap<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const name of catalog.names) out[name] = counts.get(name) ?? 0;
  return out;
}

/** Every catalog event with its per-day series, or zeros for each of `length` days. */
export function zeroFilledSeries(
  catalog: Catalog,
  series: ReadonlyMap<string, readonly number[]>,
  length: number,
): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const name of catalog.names) out[name] = [...(series.get(name) ?? new Array<number>(length).fill(0))];
  return out;
}
