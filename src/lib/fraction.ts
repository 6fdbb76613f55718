// Exact positive fractions from decimal text: ε for differential privacy is
// taken as the decimal the operator wrote (0.5 is exactly 1/2), so the noise's
// distribution is exactly the one stated.

/** A positive rational p/q in lowest terms. */
export interface Fraction {
  p: number;
  q: number;
}

export const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));

/** A decimal string ("0.5", "2", "1.25") as an exact fraction, or null when it is not a positive decimal of at most 6 places. */
export function parseDecimal(text: string): Fraction | null {
  const m = /^(\d{1,6})(?:\.(\d{1,6}))?$/.exec(text.trim());
  if (!m) return null;
  const q = 10 ** (m[2]?.length ?? 0);
  const p = Number(m[1]) * q + Number(m[2] ?? 0);
  if (p === 0) return null;
  const g = gcd(p, q);
  return { p: p / g, q: q / g };
}
