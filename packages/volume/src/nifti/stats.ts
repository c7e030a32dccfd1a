// Statistics with numpy's conventions so they can be compared with nibabel/numpy figures.

export interface VoxelStats {
  count: number;
  nan_count: number;
  min: number;
  max: number;
  sum: number;
  mean: number;
  nonzero: number;
}

type Numeric = ArrayLike<number>;

/** numpy's pairwise summation over x[start], x[start+stride], ... (n terms), each mapped by f. */
function pairwise(x: Numeric, start: number, n: number, stride: number, f: (v: number) => number): number {
  if (n < 8) {
    let s = 0;
    for (let i = 0; i < n; i++) s += f(x[start + i * stride]);
    return s;
  }
  if (n <= 128) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = f(x[start + j * stride]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) {
      for (let j = 0; j < 8; j++) r[j] += f(x[start + (i + j) * stride]);
    }
    let s = r[0] + r[1] + (r[2] + r[3]) + (r[4] + r[5] + (r[6] + r[7]));
    for (; i < n; i++) s += f(x[start + i * stride]);
    return s;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwise(x, start, n2, stride, f) + pairwise(x, start + n2 * stride, n - n2, stride, f);
}

/**
 * Stats of `x[start + k*stride] * slope + inter` over k < n, in float64 (NaN excluded from min/max).
 */
export function voxelStats(
  x: Numeric,
  opts: { start?: number; stride?: number; n?: number; slope?: number; inter?: number } = {},
): VoxelStats {
  const start = opts.start ?? 0;
  const stride = opts.stride ?? 1;
  const n = opts.n ?? Math.floor((x.length - start + stride - 1) / stride);
  const slope = opts.slope ?? 1;
  const inter = opts.inter ?? 0;
  const f = slope === 1 && inter === 0 ? (v: number) => v : (v: number) => v * slope + inter;
  let min = Number.POSITIVE_INFINITY;
  let max = Number.NEGATIVE_INFINITY;
  let nan = 0;
  let nonzero = 0;
  for (let k = 0; k < n; k++) {
    const v = f(x[start + k * stride]);
    if (Number.isNaN(v)) {
      nan++;
      nonzero++;
      continue;
    }
    if (v < min) min = v;
    if (v > max) max = v;
    if (v !== 0) nonzero++;
  }
  const sum = pairwise(x, start, n, stride, f);
  return { count: n, nan_count: nan, min, max, sum, mean: sum / n, nonzero };
}

/** Exact integer sum of stored integer values (BigInt beyond 2^53). */
export function exactIntegerSum(x: Numeric): number | bigint {
  let s = 0;
  let big = 0n;
  for (let i = 0; i < x.length; i++) {
    s += x[i];
    if (s > 2 ** 52 || s < -(2 ** 52)) {
      big += BigInt(s);
      s = 0;
    }
  }
  return big === 0n ? s : big + BigInt(s);
}

export function labelCounts(x: Numeric, slope = 1, inter = 0): Record<string, number> {
  const counts = new Map<number, number>();
  for (let i = 0; i < x.length; i++) {
    const v = x[i] * slope + inter;
    counts.set(v, (counts.get(v) ?? 0) + 1);
  }
  const out: Record<string, number> = {};
  for (const k of [...counts.keys()].sort((a, b) => a - b)) out[String(k)] = counts.get(k) as number;
  return out;
}
