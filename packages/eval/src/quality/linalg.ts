// Small dense symmetric linear algebra for the Fréchet distance: cyclic Jacobi eigen-decomposition (robust and
// accurate for the 10s-100s dimensions used here) and the trace of the matrix square root of a product of two
// covariance matrices.

/** Eigen-decomposition of a symmetric n x n row-major matrix. vectors[i*n + k] = component i of eigenvector k. */
export function symmetricEigen(matrix: ArrayLike<number>, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix as ArrayLike<number>);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    let diag = 0;
    for (let i = 0; i < n; i++) {
      diag += a[i * n + i] ** 2;
      for (let j = i + 1; j < n; j++) off += a[i * n + j] ** 2;
    }
    if (off <= 1e-30 * Math.max(diag, 1e-300)) break;
    for (let p = 0; p < n - 1; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (Math.abs(apq) < 1e-300) continue;
        const app = a[p * n + p];
        const aqq = a[q * n + q];
        const theta = (aqq - app) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  const values = new Float64Array(n);
  for (let i = 0; i < n; i++) values[i] = a[i * n + i];
  return { values, vectors: v };
}

/** Square root of a symmetric positive semi-definite matrix (negative rounding-noise eigenvalues clamp to 0). */
export function sqrtPsd(matrix: ArrayLike<number>, n: number): Float64Array {
  const { values, vectors } = symmetricEigen(matrix, n);
  const out = new Float64Array(n * n);
  for (let k = 0; k < n; k++) {
    const s = Math.sqrt(Math.max(0, values[k]));
    if (s === 0) continue;
    for (let i = 0; i < n; i++) {
      const vik = vectors[i * n + k] * s;
      for (let j = 0; j < n; j++) out[i * n + j] += vik * vectors[j * n + k];
    }
  }
  return out;
}

function matMul(a: Float64Array, b: ArrayLike<number>, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++)
    for (let k = 0; k < n; k++) {
      const aik = a[i * n + k];
      if (aik === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j] += aik * b[k * n + j];
    }
  return out;
}

/**
 * tr(sqrt(S1 S2)) for PSD S1, S2. S1 S2 is not symmetric, but it is similar to sqrt(S1) S2 sqrt(S1), which is
 * symmetric PSD with the same eigenvalues; so the trace is the sum of square roots of that matrix's eigenvalues.
 */
export function traceSqrtProduct(s1: ArrayLike<number>, s2: ArrayLike<number>, n: number): number {
  const r = sqrtPsd(s1, n);
  const m = matMul(matMul(r, s2, n), r, n);
  // Symmetrise against rounding before the Jacobi sweeps.
  for (let i = 0; i < n; i++)
    for (let j = i + 1; j < n; j++) {
      const avg = (m[i * n + j] + m[j * n + i]) / 2;
      m[i * n + j] = avg;
      m[j * n + i] = avg;
    }
  const { values } = symmetricEigen(m, n);
  let t = 0;
  for (const v of values) t += Math.sqrt(Math.max(0, v));
  return t;
}

/** Mean vector and sample covariance (n - 1) of `rows` x `dim` features. */
export function meanCov(x: ArrayLike<number>, rows: number, dim: number): { mean: Float64Array; cov: Float64Array } {
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) for (let d = 0; d < dim; d++) mean[d] += x[r * dim + d];
  for (let d = 0; d < dim; d++) mean[d] /= rows;
  const cov = new Float64Array(dim * dim);
  const c = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let d = 0; d < dim; d++) c[d] = x[r * dim + d] - mean[d];
    for (let i = 0; i < dim; i++) {
      const ci = c[i];
      for (let j = i; j < dim; j++) cov[i * dim + j] += ci * c[j];
    }
  }
  const denom = Math.max(1, rows - 1);
  for (let i = 0; i < dim; i++)
    for (let j = i; j < dim; j++) {
      cov[i * dim + j] /= denom;
      cov[j * dim + i] = cov[i * dim + j];
    }
  return { mean, cov };
}

/** Fréchet distance between Gaussians N(m1, S1) and N(m2, S2): |m1-m2|² + tr(S1 + S2 - 2 sqrt(S1 S2)). */
export function frechetDistance(
  m1: ArrayLike<number>,
  s1: ArrayLike<number>,
  m2: ArrayLike<number>,
  s2: ArrayLike<number>,
  n: number,
): number {
  let d = 0;
  for (let i = 0; i < n; i++) d += (m1[i] - m2[i]) ** 2;
  let tr = 0;
  for (let i = 0; i < n; i++) tr += s1[i * n + i] + s2[i * n + i];
  // Rounding can push an identical-set distance a hair below zero.
  return Math.max(0, d + tr - 2 * traceSqrtProduct(s1, s2, n));
}
