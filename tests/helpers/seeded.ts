// A seeded source of uniform integers for tests of randomised code (the
// report's noise): sfc32, a small counter-based generator, with rejection
// sampling so that every integer in [0, n) is exactly equally likely.
import type { RandomInt } from "../../src/telemetry/noise.js";

export function seededRandomInt(seed: number): RandomInt & { calls: number } {
  let a = 0x9e3779b9 ^ seed;
  let b = 0x243f6a88;
  let c = 0xb7e15162;
  let d = seed >>> 0;
  const next32 = () => {
    a >>>= 0;
    b >>>= 0;
    c >>>= 0;
    d >>>= 0;
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 16; i++) next32();
  const random = ((n: number) => {
    random.calls += 1;
    if (!Number.isSafeInteger(n) || n < 1) throw new RangeError(`bad bound ${n}`);
    // 53 random bits (exact in a double), then rejection above the largest multiple of n.
    const span = 2 ** 53;
    const limit = span - (span % n);
    for (;;) {
      const x = (next32() >>> 11) * 2 ** 32 + next32();
      if (x < limit) return x % n;
    }
  }) as RandomInt & { calls: number };
  random.calls = 0;
  return random;
}
