// README's "Performance" figures come only from bench/results/latest.json
// (written by a full `npm run bench`): the block between the markers must be
// exactly what bench/readme.mjs renders from it, so nobody edits a figure by hand
// and a new run cannot leave the old table behind.
import { readFileSync } from "node:fs";
// @ts-expect-error -- a plain ES module of the bench, no type declarations
import { END, renderResults, START } from "../../../bench/readme.mjs";

const root = new URL("../../../", import.meta.url);
const readme = readFileSync(new URL("README.md", root), "utf8");
const latest = JSON.parse(readFileSync(new URL("bench/results/latest.json", root), "utf8")) as {
  scenarios: { name: string; servers: Record<string, unknown> }[];
};

test("README's results block is bench/readme.mjs's rendering of bench/results/latest.json", () => {
  const a = readme.indexOf(START as string);
  const b = readme.indexOf(END as string);
  expect(a).toBeGreaterThan(0);
  expect(b).toBeGreaterThan(a);
  expect(readme.slice(a + (START as string).length, b).trim()).toBe((renderResults(latest) as string).trim());
});

test("latest.json is a full run: ingest at 50 and 200 connections and the summaries, against every baseline", () => {
  const names = latest.scenarios.map((s) => s.name);
  expect(names).toEqual(expect.arrayContaining(["ingest count=5, 50 conn", "ingest count=5, 200 conn", "summary normal 7d, 50 conn", "summary heavy 30d, 50 conn"]));
  const ingest = latest.scenarios.find((s) => s.name === "ingest count=5, 50 conn")!;
  expect(Object.keys(ingest.servers).sort()).toEqual(["bare", "bare ×2", "naive", "tally", "tally ×2"]);
});
