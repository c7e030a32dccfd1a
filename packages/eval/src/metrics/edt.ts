// Exact Euclidean distance transform (Felzenszwalb & Huttenlocher, "Distance Transforms of Sampled Functions",
// 2012): the squared distance is separable, so three 1D lower-envelope-of-parabolas passes (x, y, z) give the
// exact result in O(voxels). Anisotropic spacing enters as a per-axis weight on the squared coordinate difference.

/** 1D squared distance transform of f along a line with sample spacing `w` (mm). Writes into `out`. */
function edt1d(f: Float64Array, n: number, w: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  const w2 = w * w;
  let k = 0;
  // First finite sample starts the envelope; lines without any finite sample stay infinite.
  let first = -1;
  for (let q = 0; q < n; q++) {
    if (f[q] !== Number.POSITIVE_INFINITY) {
      first = q;
      break;
    }
  }
  if (first < 0) {
    for (let q = 0; q < n; q++) out[q] = Number.POSITIVE_INFINITY;
    return;
  }
  v[0] = first;
  z[0] = Number.NEGATIVE_INFINITY;
  z[1] = Number.POSITIVE_INFINITY;
  for (let q = first + 1; q < n; q++) {
    const fq = f[q];
    if (fq === Number.POSITIVE_INFINITY) continue;
    // z[0] is -Infinity, so the envelope never empties (k stays >= 0).
    let s = (fq + w2 * q * q - (f[v[k]] + w2 * v[k] * v[k])) / (2 * w2 * (q - v[k]));
    while (s <= z[k]) {
      k--;
      const p = v[k];
      s = (fq + w2 * q * q - (f[p] + w2 * p * p)) / (2 * w2 * (q - p));
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Number.POSITIVE_INFINITY;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1] < q) k++;
    const d = q - v[k];
    out[q] = w2 * d * d + f[v[k]];
  }
}

/**
 * Squared Euclidean distance (mm²) from every voxel to the nearest voxel where `features` is non-zero.
 * Volume layout [z][y][x] (x fastest); spacing [sz, sy, sx] in mm. Infinite everywhere if there is no feature.
 */
export function squaredEdt3d(
  features: Uint8Array,
  shape: readonly [number, number, number],
  spacing: readonly [number, number, number],
): Float64Array {
  const [nz, ny, nx] = shape;
  const n = nz * ny * nx;
  const d = new Float64Array(n);
  for (let i = 0; i < n; i++) d[i] = features[i] ? 0 : Number.POSITIVE_INFINITY;
  const maxLen = Math.max(nz, ny, nx);
  const f = new Float64Array(maxLen);
  const out = new Float64Array(maxLen);
  const v = new Int32Array(maxLen);
  const zb = new Float64Array(maxLen + 1);
  // Pass along x.
  for (let zz = 0; zz < nz; zz++)
    for (let y = 0; y < ny; y++) {
      const base = (zz * ny + y) * nx;
      for (let x = 0; x < nx; x++) f[x] = d[base + x];
      edt1d(f, nx, spacing[2], out, v, zb);
      for (let x = 0; x < nx; x++) d[base + x] = out[x];
    }
  // Pass along y.
  for (let zz = 0; zz < nz; zz++)
    for (let x = 0; x < nx; x++) {
      const base = zz * ny * nx + x;
      for (let y = 0; y < ny; y++) f[y] = d[base + y * nx];
      edt1d(f, ny, spacing[1], out, v, zb);
      for (let y = 0; y < ny; y++) d[base + y * nx] = out[y];
    }
  // Pass along z.
  const plane = ny * nx;
  for (let i = 0; i < plane; i++) {
    for (let zz = 0; zz < nz; zz++) f[zz] = d[i + zz * plane];
    edt1d(f, nz, spacing[0], out, v, zb);
    for (let zz = 0; zz < nz; zz++) d[i + zz * plane] = out[zz];
  }
  return d;
}
