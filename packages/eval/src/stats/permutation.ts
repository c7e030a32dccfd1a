// Paired sign-flip permutation test (seed 000: "non-parametric sign flipping test") on per-subject differences.
// Under H0 (no difference between two training conditions) each subject's difference is symmetric around 0,
// so flipping its sign is as likely as not. Statistic: the mean difference; two-sided: |mean| as or more extreme.
import { InvalidInput } from "@synthmri/core";
import { Rng } from "@synthmri/ml";

export interface SignFlipOptions {
  /** Enumerate all 2^n sign vectors when 2^n <= this (default 1e6). */
  maxExact?: number;
  /** Monte Carlo sign vectors when not exact (default 100_000). */
  samples?: number;
  /** Seed of the Monte Carlo stream (default 0), so a report is reproducible. */
  seed?: number;
}

export interface SignFlipResult {
  /** Two-sided p-value: exact count/2^n, or Monte Carlo (b+1)/(m+1). */
  pValue: number;
  /** Observed mean of the differences a - b. */
  meanDifference: number;
  /** Pairs used (pairs with a NaN on either side are dropped). */
  n: number;
  nDropped: number;
  method: "exact" | "monte-carlo";
  /** Sign vectors evaluated (2^n when exact, m when Monte Carlo). */
  permutations: number;
  seed?: number;
}

// Relative tolerance so that sign vectors giving the observed |sum| up to rounding count as "as extreme".
const TIE_EPS = 1e-9;

/** Two-sided paired sign-flip test of a vs b (same subjects, same order). */
export function pairedSignFlipTest(
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  options: SignFlipOptions = {},
): SignFlipResult {
  if (a.length !== b.length)
    throw new InvalidInput(
      `paired test needs the same subjects on both sides: got ${a.length} and ${b.length} values; align them by subject id`,
    );
  const d: number[] = [];
  let nDropped = 0;
  for (let i = 0; i < a.length; i++) {
    const v = a[i] - b[i];
    if (Number.isNaN(v)) nDropped++;
    else d.push(v);
  }
  const n = d.length;
  if (n === 0)
    throw new InvalidInput(
      "paired test has no subject with a value on both sides; check the conditions' subject lists",
    );
  let sum = 0;
  let scale = 0;
  for (const v of d) {
    sum += v;
    scale += Math.abs(v);
  }
  // The mean is sum/n for every sign vector, so comparing |sum| is the same test with less arithmetic.
  const threshold = Math.abs(sum) - TIE_EPS * Math.max(scale, 1e-300);
  const maxExact = options.maxExact ?? 1e6;
  const meanDifference = sum / n;

  // n <= 30 also keeps the Gray-code bit arithmetic within 32-bit integers.
  if (n <= 30 && 2 ** n <= maxExact) {
    // Gray-code walk: each step flips one sign, so the sum updates in O(1); 2^20 vectors take milliseconds.
    const signs = new Int8Array(n).fill(1);
    let s = sum;
    let count = Math.abs(s) >= threshold ? 1 : 0;
    const total = 2 ** n;
    for (let k = 1; k < total; k++) {
      // Bit that changes between gray(k-1) and gray(k): the lowest set bit of k.
      let j = 0;
      while (((k >>> j) & 1) === 0) j++;
      s -= 2 * signs[j] * d[j];
      signs[j] = -signs[j];
      if (Math.abs(s) >= threshold) count++;
    }
    return { pValue: count / total, meanDifference, n, nDropped, method: "exact", permutations: total };
  }

  const m = options.samples ?? 100_000;
  if (!Number.isInteger(m) || m < 1) throw new InvalidInput(`Monte Carlo samples must be a positive integer, got ${m}`);
  const seed = options.seed ?? 0;
  const rng = new Rng(seed);
  let b2 = 0;
  for (let k = 0; k < m; k++) {
    let s = 0;
    // 32 signs per random word.
    for (let i = 0; i < n; i += 32) {
      const word = rng.nextU32();
      const end = Math.min(n, i + 32);
      for (let j = i; j < end; j++) s += (word >>> (j - i)) & 1 ? d[j] : -d[j];
    }
    if (Math.abs(s) >= threshold) b2++;
  }
  return { pValue: (b2 + 1) / (m + 1), meanDifference, n, nDropped, method: "monte-carlo", permutations: m, seed };
}

/** Bonferroni correction: each p-value times the number of comparisons, capped at 1. */
export function bonferroni(pValues: readonly number[]): number[] {
  const m = pValues.length;
  return pValues.map((p) => (Number.isNaN(p) ? Number.NaN : Math.min(1, p * m)));
}
