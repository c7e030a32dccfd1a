// Brain tissue classes of a T1 volume inside the brain mask (issue 21.1: the two-stage generator's label maps need
// WM/GM/CSF; seed 001 used FSL FAST). A 3-class Gaussian mixture on log intensities, alternated with a smooth
// multiplicative bias field: the log bias is a low-order 3-D polynomial (linear by default) fitted by weighted
// least squares to the residual between the voxel and its class-mean expectation, as in Wells et al. 1996 /
// FAST's bias model reduced to a parametric field. Hand-written: no npm library does tissue segmentation.
import { InvalidInput } from "@synthmri/core";

export const TISSUE_LABELS = { background: 0, csf: 1, gm: 2, wm: 3 } as const;

export interface TissueOptions {
  /** EM iterations (each: E-step, M-step, bias fit). */
  iterations?: number;
  /**
   * Degree of the log-bias polynomial (default 1, a linear field); 0 turns bias correction off. Degree 2 can absorb
   * anatomy (a radial x^2 + y^2 + z^2 term mimics the WM core / cortex contrast): on concentric test heads it
   * merged classes.
   */
  biasDegree?: number;
}

export interface TissueResult {
  /** Per voxel 0 outside the mask, 1 CSF, 2 GM, 3 WM (classes ordered by T1 brightness). */
  labels: Uint8Array;
  /** Class means on the bias-corrected intensity scale (CSF, GM, WM). */
  means: [number, number, number];
  /** Multiplicative bias field estimate (1 outside the mask). */
  bias: Float32Array;
}

/** Monomials x^a y^b z^c with a + b + c <= degree. */
function exponents(degree: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let a = 0; a <= degree; a++)
    for (let b = 0; a + b <= degree; b++) for (let c = 0; a + b + c <= degree; c++) out.push([a, b, c]);
  return out;
}

/** Solves the symmetric system A x = b (n x n, row-major) by Gaussian elimination with partial pivoting. */
function solve(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const M = A.slice();
  const x = b.slice();
  for (let i = 0; i < n; i++) {
    let p = i;
    for (let r = i + 1; r < n; r++) if (Math.abs(M[r * n + i]) > Math.abs(M[p * n + i])) p = r;
    if (p !== i) {
      for (let c = 0; c < n; c++) [M[i * n + c], M[p * n + c]] = [M[p * n + c], M[i * n + c]];
      [x[i], x[p]] = [x[p], x[i]];
    }
    const d = M[i * n + i] || 1e-12;
    for (let r = i + 1; r < n; r++) {
      const f = M[r * n + i] / d;
      if (f === 0) continue;
      for (let c = i; c < n; c++) M[r * n + c] -= f * M[i * n + c];
      x[r] -= f * x[i];
    }
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = x[i];
    for (let c = i + 1; c < n; c++) s -= M[i * n + c] * x[c];
    x[i] = s / (M[i * n + i] || 1e-12);
  }
  return x;
}

/**
 * Segments `t1` (x fastest, dims [nx, ny, nz]) into CSF/GM/WM inside `mask` (nonzero = brain). Intensities must be
 * positive inside the mask (non-positive voxels are clamped to the smallest positive one).
 */
export function segmentTissue(
  t1: ArrayLike<number>,
  mask: ArrayLike<number>,
  dims: [number, number, number],
  options: TissueOptions = {},
): TissueResult {
  const [nx, ny, nz] = dims;
  const size = nx * ny * nz;
  if (t1.length !== size || mask.length !== size)
    throw new InvalidInput(
      `tissue segmentation: volume and mask need ${size} voxels, got ${t1.length} and ${mask.length}`,
    );
  const iterations = options.iterations ?? 15;
  const degree = options.biasDegree ?? 1;
  const idx: number[] = [];
  for (let i = 0; i < size; i++) if (mask[i]) idx.push(i);
  const n = idx.length;
  if (n < 30) throw new InvalidInput(`tissue segmentation needs at least 30 brain voxels, the mask has ${n}`);
  let minPos = Number.POSITIVE_INFINITY;
  for (const i of idx) if (t1[i] > 0 && t1[i] < minPos) minPos = t1[i];
  if (!Number.isFinite(minPos)) throw new InvalidInput("tissue segmentation: no positive intensity inside the mask");
  const y = new Float64Array(n);
  for (let k = 0; k < n; k++) y[k] = Math.log(Math.max(t1[idx[k]], minPos));
  // Polynomial basis on coordinates scaled to [-1, 1].
  const ex = degree > 0 ? exponents(degree) : [];
  const nb = ex.length;
  const basis = new Float64Array(n * nb);
  const scale = (v: number, m: number) => (m > 1 ? (2 * v) / (m - 1) - 1 : 0);
  for (let k = 0; k < n; k++) {
    const i = idx[k];
    const x = scale(i % nx, nx);
    const yy = scale(Math.floor(i / nx) % ny, ny);
    const z = scale(Math.floor(i / (nx * ny)), nz);
    for (let e = 0; e < nb; e++) basis[k * nb + e] = x ** ex[e][0] * yy ** ex[e][1] * z ** ex[e][2];
  }
  const logBias = new Float64Array(n);
  // EM from a single start often splits the most populous class and merges the other two (a local optimum), so
  // the bias-free mixture is first fitted from several starts (evenly spaced means, percentile triples) and the
  // start with the highest likelihood is kept.
  const sorted = Float64Array.from(y).sort();
  const pct = (q: number) => sorted[Math.floor(q * (n - 1))];
  const lo = pct(0.02);
  const hi = pct(0.98);
  const starts: number[][] = [
    [1 / 6, 1 / 2, 5 / 6].map((q) => lo + q * (hi - lo)),
    ...[
      [0.1, 0.5, 0.9],
      [0.2, 0.6, 0.9],
      [0.1, 0.4, 0.8],
      [0.3, 0.7, 0.95],
      [0.05, 0.3, 0.7],
      [0.1, 0.75, 0.95],
    ].map((qs) => qs.map(pct)),
  ];
  const spread = (hi - lo) / 6 || 1e-3;
  const mu = [0, 0, 0];
  const v = [0, 0, 0];
  const w = [0, 0, 0];
  const post = new Float64Array(n * 3);
  /** E-step; returns the log-likelihood of the bias-corrected intensities. */
  const estep = (): number => {
    let ll = 0;
    for (let k = 0; k < n; k++) {
      const c = y[k] - logBias[k];
      let total = 0;
      for (let j = 0; j < 3; j++) {
        const p = (w[j] / Math.sqrt(2 * Math.PI * v[j])) * Math.exp(-((c - mu[j]) ** 2) / (2 * v[j]));
        post[k * 3 + j] = p;
        total += p;
      }
      if (total > 0) {
        for (let j = 0; j < 3; j++) post[k * 3 + j] /= total;
        ll += Math.log(total);
      } else {
        let best = 0;
        for (let j = 1; j < 3; j++) if (Math.abs(c - mu[j]) < Math.abs(c - mu[best])) best = j;
        for (let j = 0; j < 3; j++) post[k * 3 + j] = j === best ? 1 : 0;
        ll -= 1e3;
      }
    }
    return ll;
  };
  const mstep = () => {
    for (let j = 0; j < 3; j++) {
      let sw = 0;
      let s1 = 0;
      for (let k = 0; k < n; k++) {
        sw += post[k * 3 + j];
        s1 += post[k * 3 + j] * (y[k] - logBias[k]);
      }
      mu[j] = sw > 0 ? s1 / sw : mu[j];
      let s2 = 0;
      for (let k = 0; k < n; k++) s2 += post[k * 3 + j] * (y[k] - logBias[k] - mu[j]) ** 2;
      v[j] = Math.max(sw > 0 ? s2 / sw : v[j], 1e-6);
      w[j] = Math.max(sw / n, 1e-6);
    }
  };
  const reset = (m: number[]) => {
    for (let j = 0; j < 3; j++) {
      mu[j] = m[j];
      v[j] = spread ** 2;
      w[j] = 1 / 3;
    }
  };
  let best = { ll: Number.NEGATIVE_INFINITY, mu: starts[0] };
  for (const start of starts) {
    reset(start);
    for (let it = 0; it < 12; it++) {
      estep();
      mstep();
    }
    const ll = estep();
    if (ll > best.ll) best = { ll, mu: [...mu] };
  }
  reset(best.mu);
  for (let it = 0; it < iterations; it++) {
    estep();
    mstep();
    if (nb === 0) continue;
    // Bias: weighted least squares of the residual y - E[mu] with weights E[1/var], constant term included
    // (the overall level is then absorbed by the class means at the next M-step, so it is centred after the fit).
    const A = new Float64Array(nb * nb);
    const b = new Float64Array(nb);
    for (let k = 0; k < n; k++) {
      let wk = 0;
      let mk = 0;
      for (let j = 0; j < 3; j++) {
        wk += post[k * 3 + j] / v[j];
        mk += (post[k * 3 + j] * mu[j]) / v[j];
      }
      const r = y[k] - mk / wk;
      const row = k * nb;
      for (let e = 0; e < nb; e++) {
        const be = basis[row + e] * wk;
        b[e] += be * r;
        for (let f = e; f < nb; f++) A[e * nb + f] += be * basis[row + f];
      }
    }
    for (let e = 0; e < nb; e++) for (let f = 0; f < e; f++) A[e * nb + f] = A[f * nb + e];
    const coef = solve(A, b, nb);
    let mean = 0;
    for (let k = 0; k < n; k++) {
      let s = 0;
      for (let e = 0; e < nb; e++) s += coef[e] * basis[k * nb + e];
      logBias[k] = s;
      mean += s;
    }
    mean /= n;
    for (let k = 0; k < n; k++) logBias[k] -= mean;
  }
  estep();
  const order = [0, 1, 2].sort((a, b) => mu[a] - mu[b]);
  const labels = new Uint8Array(size);
  const bias = new Float32Array(size).fill(1);
  for (let k = 0; k < n; k++) {
    let best = 0;
    for (let j = 1; j < 3; j++) if (post[k * 3 + order[j]] > post[k * 3 + order[best]]) best = j;
    labels[idx[k]] = best + 1;
    bias[idx[k]] = Math.exp(logBias[k]);
  }
  return { labels, means: order.map((j) => Math.exp(mu[j])) as [number, number, number], bias };
}
