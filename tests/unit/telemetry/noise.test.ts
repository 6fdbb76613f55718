// The report's differential-privacy noise, tested as a distribution with a
// seeded source: over many draws the mean is 0 and the variance 2α/(1−α)²
// (α = exp(−ε/Δ)) within bounds derived from the draws themselves (6 standard
// errors: a correct sampler fails one of these checks about once in 10⁸ runs),
// P(0) = (1−α)/(1+α), and the noise comes only from the injected source.
import { parseDecimal } from "../../../src/lib/fraction.js";
import { publishCells } from "../../../src/telemetry/aggregate.js";
import { alphaOf, discreteLaplace, geometricNoise, varianceOf } from "../../../src/telemetry/noise.js";
import { seededRandomInt } from "../../helpers/seeded.js";

const N = 40_000;

function moments(draws: number[]) {
  const n = draws.length;
  const mean = draws.reduce((s, x) => s + x, 0) / n;
  const m2 = draws.reduce((s, x) => s + x * x, 0) / n; // E[X²] (the true mean is 0)
  const m4 = draws.reduce((s, x) => s + x ** 4, 0) / n;
  return { mean, m2, seMean: Math.sqrt(m2 / n), seM2: Math.sqrt((m4 - m2 * m2) / n) };
}

describe.each([
  { eps: "1", sensitivity: 1 },
  { eps: "0.5", sensitivity: 1 },
  { eps: "0.5", sensitivity: 20 },
  { eps: "2", sensitivity: 3 },
])("geometric noise, ε = $eps, Δ = $sensitivity", ({ eps, sensitivity }) => {
  const epsilon = parseDecimal(eps)!;
  const alpha = alphaOf(epsilon, sensitivity);
  const random = seededRandomInt(1234 + sensitivity);
  const draws = Array.from({ length: N }, () => geometricNoise(random, epsilon, sensitivity));

  test("integers only; mean 0 and variance 2α/(1−α)² within 6 standard errors", () => {
    expect(draws.every(Number.isInteger)).toBe(true);
    const m = moments(draws);
    expect(Math.abs(m.mean)).toBeLessThan(6 * m.seMean);
    expect(Math.abs(m.m2 - varianceOf(alpha))).toBeLessThan(6 * m.seM2);
  });

  test("P(0) = (1−α)/(1+α) and P(k) = P(−k), within 6 standard errors", () => {
    const p0 = (1 - alpha) / (1 + alpha);
    const zeros = draws.filter((x) => x === 0).length / N;
    expect(Math.abs(zeros - p0)).toBeLessThan(6 * Math.sqrt((p0 * (1 - p0)) / N));
    const pos = draws.filter((x) => x > 0).length;
    const neg = draws.filter((x) => x < 0).length;
    expect(Math.abs(pos - neg)).toBeLessThan(6 * Math.sqrt(pos + neg));
  });
});

test("the noise comes from the injected source only: the same seed gives the same draws, another seed others", () => {
  const draw = (seed: number) => {
    const random = seededRandomInt(seed);
    const xs = Array.from({ length: 200 }, () => geometricNoise(random, { p: 1, q: 1 }, 5));
    return { xs, calls: random.calls };
  };
  const a = draw(7);
  expect(draw(7)).toEqual(a);
  expect(draw(8).xs).not.toEqual(a.xs);
  expect(a.calls).toBeGreaterThan(200);
  // A scripted source that always answers n − 1 fixes every step (U = 2, D = 1, V = 0, B = 1): −2, every
  // time, after exactly 5 draws — any other source of randomness inside would show.
  let calls = 0;
  const last = (n: number) => {
    calls += 1;
    return n - 1;
  };
  for (let i = 0; i < 50; i++) expect(discreteLaplace(last, 1, 3)).toBe(-2);
  expect(calls).toBe(50 * 5);
});

test("publishCells: without ε the exact cells; with ε every catalog event gets a cell, noised, never negative, drawn from the source", () => {
  const exact = [{ event: "a", count: 40, viewers: 9 }];
  const rules = { maxPerViewer: 20, epsilon: null, events: ["a", "b"], random: seededRandomInt(1), windowDays: 31 };
  expect(publishCells(exact, rules)).toEqual(exact);

  const random = seededRandomInt(2);
  const noisy = publishCells(exact, { ...rules, epsilon: { p: 1, q: 1 }, random });
  expect(noisy.map((c) => c.event)).toEqual(["a", "b"]);
  expect(noisy.every((c) => Number.isInteger(c.count) && c.count >= 0 && Number.isInteger(c.viewers) && c.viewers >= 0)).toBe(true);
  expect(random.calls).toBeGreaterThan(0);
  // Over many days the noisy count of a 40-count cell averages 40 (before clamping, which a 40 rarely needs).
  const means = Array.from({ length: 2_000 }, () => publishCells(exact, { ...rules, epsilon: { p: 1, q: 1 }, random })[0]!.count);
  const mean = means.reduce((s, x) => s + x, 0) / means.length;
  const sd = Math.sqrt(varianceOf(alphaOf({ p: 1, q: 2 }, 20)));
  expect(Math.abs(mean - 40)).toBeLessThan((6 * sd) / Math.sqrt(means.length));
});

test("ε is read as the exact decimal written", () => {
  expect(parseDecimal("0.5")).toEqual({ p: 1, q: 2 });
  expect(parseDecimal("1.25")).toEqual({ p: 5, q: 4 });
  expect(parseDecimal("3")).toEqual({ p: 3, q: 1 });
  for (const bad of ["0", "-1", "1e3", "0.0000001", "abc", "", "1.", ".5"]) expect(parseDecimal(bad)).toBeNull();
});
