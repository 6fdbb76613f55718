// Differential privacy for the report's cells (TELEMETRY_REPORT_EPSILON):
// integer noise from the two-sided geometric ("discrete Laplace") distribution,
// P(k) ∝ α^|k| with α = exp(−ε/Δ), drawn once per cell when its day is
// aggregated and stored noisy only.
//
// Sampled exactly, with integers only, by Canonne, Kamath and Steinke's
// algorithms ("The Discrete Gaussian for Differential Privacy", 2020, Algs. 1
// and 2): no floating-point logarithm or exponential is ever evaluated, so the
// output's distribution is exactly the one stated — floating-point Laplace
// samplers leak through their low bits (Mironov, 2012). ε is taken as the
// exact decimal the operator wrote (0.5 is 1/2), so α is exact too.
//
// The random source is injected: crypto.randomInt in the service, a seeded
// generator in tests.
import { randomInt as cryptoRandomInt } from "node:crypto";
import { gcd, type Fraction } from "../lib/fraction.js";

export type { Fraction };

/** A uniform integer in [0, n). */
export type RandomInt = (n: number) => number;

export const secureRandomInt: RandomInt = (n) => cryptoRandomInt(n);

/** Bernoulli(n/d), exactly. */
const bernoulli = (random: RandomInt, n: number, d: number): boolean => random(d) < n;

/** Bernoulli(exp(−n/d)) for n/d in [0, 1] (CKS Alg. 1, first case). */
function bernoulliExpUnit(random: RandomInt, n: number, d: number): boolean {
  let k = 1;
  while (bernoulli(random, n, d * k)) k += 1;
  return k % 2 === 1;
}

/** Bernoulli(exp(−n/d)) for any n/d ≥ 0 (CKS Alg. 1). */
function bernoulliExp(random: RandomInt, n: number, d: number): boolean {
  for (let whole = Math.floor(n / d); whole > 0; whole -= 1) {
    if (!bernoulliExpUnit(random, 1, 1)) return false;
  }
  return bernoulliExpUnit(random, n % d, d);
}

/**
 * One draw of the discrete Laplace distribution with P(k) ∝ exp(−|k|·s/t),
 * for positive integers s and t (CKS Alg. 2).
 */
export function discreteLaplace(random: RandomInt, s: number, t: number): number {
  for (;;) {
    const u = random(t);
    if (!bernoulliExp(random, u, t)) continue;
    let v = 0;
    while (bernoulliExp(random, 1, 1)) v += 1;
    const y = Math.floor((u + t * v) / s);
    const negative = random(2) === 1;
    if (negative && y === 0) continue;
    return negative ? -y : y;
  }
}

/**
 * The noise for a figure of sensitivity Δ (a whole number) under ε = p/q:
 * P(k) ∝ exp(−|k|·ε/Δ), so s/t = p/(q·Δ).
 */
export function geometricNoise(random: RandomInt, epsilon: Fraction, sensitivity: number): number {
  const s = epsilon.p;
  const t = epsilon.q * sensitivity;
  const g = gcd(s, t);
  return discreteLaplace(random, s / g, t / g);
}

/** α = exp(−ε/Δ) of the distribution above, for statements and tests (not used to sample). */
export const alphaOf = (epsilon: Fraction, sensitivity: number) => Math.exp(-(epsilon.p / epsilon.q) / sensitivity);

/** Variance of the two-sided geometric distribution with parameter α: 2α/(1−α)². */
export const varianceOf = (alpha: number) => (2 * alpha) / (1 - alpha) ** 2;
