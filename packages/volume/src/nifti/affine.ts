// 4x4 affine helpers with the conventions of nibabel (RAS+ world, qform/sform/base affine).

export type Mat4 = number[][];
export type Mat3 = number[][];

export function identity4(): Mat4 {
  return [0, 1, 2, 3].map((r) => [0, 1, 2, 3].map((c) => (r === c ? 1 : 0)));
}

export function matmul(a: number[][], b: number[][]): number[][] {
  return a.map((row) => b[0].map((_, c) => row.reduce((s, v, k) => s + v * b[k][c], 0)));
}

export function det3(m: Mat3): number {
  return (
    m[0][0] * (m[1][1] * m[2][2] - m[1][2] * m[2][1]) -
    m[0][1] * (m[1][0] * m[2][2] - m[1][2] * m[2][0]) +
    m[0][2] * (m[1][0] * m[2][1] - m[1][1] * m[2][0])
  );
}

export function inv3(m: Mat3): Mat3 {
  const d = det3(m);
  const c = (r0: number, r1: number, c0: number, c1: number) => m[r0][c0] * m[r1][c1] - m[r0][c1] * m[r1][c0];
  return [
    [c(1, 2, 1, 2) / d, -c(0, 2, 1, 2) / d, c(0, 1, 1, 2) / d],
    [-c(1, 2, 0, 2) / d, c(0, 2, 0, 2) / d, -c(0, 1, 0, 2) / d],
    [c(1, 2, 0, 1) / d, -c(0, 2, 0, 1) / d, c(0, 1, 0, 1) / d],
  ];
}

export function inv4(a: Mat4): Mat4 {
  const r = inv3(a.slice(0, 3).map((row) => row.slice(0, 3)));
  const t = [0, 1, 2].map((i) => -(r[i][0] * a[0][3] + r[i][1] * a[1][3] + r[i][2] * a[2][3]));
  return [
    [...r[0], t[0]],
    [...r[1], t[1]],
    [...r[2], t[2]],
    [0, 0, 0, 1],
  ];
}

/** nibabel's quat2mat for a unit quaternion (w, x, y, z). */
export function quatToMat(w: number, x: number, y: number, z: number): Mat3 {
  const nq = w * w + x * x + y * y + z * z;
  if (nq < Number.EPSILON)
    return [
      [1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ];
  const s = 2 / nq;
  const X = x * s;
  const Y = y * s;
  const Z = z * s;
  const [wX, wY, wZ] = [w * X, w * Y, w * Z];
  const [xX, xY, xZ] = [x * X, x * Y, x * Z];
  const [yY, yZ, zZ] = [y * Y, y * Z, z * Z];
  return [
    [1 - (yY + zZ), xY - wZ, xZ + wY],
    [xY + wZ, 1 - (xX + zZ), yZ - wX],
    [xZ - wY, yZ + wX, 1 - (xX + yY)],
  ];
}

/** The qform affine: quaternion rotation x pixdim (qfac flips z; qfac 0 counts as 1, per the standard). */
export function qformAffine(quatern: number[], qoffset: number[], pixdim: number[]): Mat4 {
  const [b, c, d] = quatern;
  // float32 quaternions rarely have exactly unit norm: clamp tiny negatives, like nibabel.
  const w2 = 1 - (b * b + c * c + d * d);
  const a = w2 < 0 ? 0 : Math.sqrt(w2);
  const R = quatToMat(a, b, c, d);
  const qfac = pixdim[0] < 0 ? -1 : 1;
  const vox = [Math.abs(pixdim[1]), Math.abs(pixdim[2]), Math.abs(pixdim[3]) * qfac];
  return [
    [R[0][0] * vox[0], R[0][1] * vox[1], R[0][2] * vox[2], qoffset[0]],
    [R[1][0] * vox[0], R[1][1] * vox[1], R[1][2] * vox[2], qoffset[1]],
    [R[2][0] * vox[0], R[2][1] * vox[1], R[2][2] * vox[2], qoffset[2]],
    [0, 0, 0, 1],
  ];
}

export function sformAffine(srow: number[][]): Mat4 {
  return [[...srow[0]], [...srow[1]], [...srow[2]], [0, 0, 0, 1]];
}

/** nibabel's base affine: pixdim scaling, centred on the volume, x flipped. */
export function baseAffine(shape: number[], pixdim: number[]): Mat4 {
  const s = [0, 1, 2].map((i) => shape[i] ?? 1);
  const z = [0, 1, 2].map((i) => (i < shape.length ? pixdim[i + 1] : 1));
  z[0] *= -1;
  const out = identity4();
  for (let i = 0; i < 3; i++) {
    out[i][i] = z[i];
    out[i][3] = (-(s[i] - 1) / 2) * z[i];
  }
  return out;
}

/** Nearest orthogonal matrix (polar decomposition by Newton iteration), as nibabel's io_orientation uses via SVD. */
export function nearestOrthogonal(m: Mat3): Mat3 {
  let q = m.map((r) => [...r]);
  for (let it = 0; it < 100; it++) {
    const inv = inv3(q);
    const next = q.map((row, r) => row.map((v, c) => 0.5 * (v + inv[c][r])));
    const delta = Math.max(...next.flatMap((row, r) => row.map((v, c) => Math.abs(v - q[r][c]))));
    q = next;
    if (delta < 1e-15) break;
  }
  return q;
}

/** Column norms of the 3x3 part: the voxel sizes. */
export function voxelSizes(a: Mat4): number[] {
  return [0, 1, 2].map((c) => Math.hypot(a[0][c], a[1][c], a[2][c]));
}

export interface AxisOrientation {
  /** world axis (0 = x/LR, 1 = y/PA, 2 = z/IS) that voxel axis i runs along */
  axis: number;
  /** +1 when increasing the voxel index moves to R/A/S, -1 for L/P/I */
  sign: 1 | -1;
}

/** nibabel's io_orientation: for each voxel axis, the nearest world axis and direction. */
export function ioOrientation(a: Mat4): AxisOrientation[] {
  const z = voxelSizes(a);
  const rs = [0, 1, 2].map((r) => [0, 1, 2].map((c) => a[r][c] / (z[c] || 1)));
  const R = nearestOrthogonal(rs);
  const out: AxisOrientation[] = [];
  for (let inAx = 0; inAx < 3; inAx++) {
    const col = [R[0][inAx], R[1][inAx], R[2][inAx]];
    let best = 0;
    for (let i = 1; i < 3; i++) if (Math.abs(col[i]) > Math.abs(col[best])) best = i;
    out.push({ axis: best, sign: col[best] < 0 ? -1 : 1 });
    for (let c = 0; c < 3; c++) R[best][c] = 0;
  }
  return out;
}

const LABELS = [
  ["L", "R"],
  ["P", "A"],
  ["I", "S"],
];

/** Axis codes ("R","A","S"...) of an affine: the direction each voxel axis increases towards. */
export function axcodes(a: Mat4): string[] {
  return ioOrientation(a).map((o) => LABELS[o.axis][o.sign > 0 ? 1 : 0]);
}

/**
 * Quaternion form of an affine for the qform fields (the standard's nifti_mat44_to_quatern):
 * a sheared affine keeps its exact value only in the sform; the qform gets the nearest rotation.
 */
export function affineToQuatern(a: Mat4): {
  quatern: [number, number, number];
  qoffset: [number, number, number];
  pixdim: [number, number, number];
  qfac: 1 | -1;
} {
  const z = voxelSizes(a);
  let R = [0, 1, 2].map((r) => [0, 1, 2].map((c) => a[r][c] / (z[c] || 1)));
  R = nearestOrthogonal(R);
  let qfac: 1 | -1 = 1;
  if (det3(R) < 0) {
    qfac = -1;
    for (let r = 0; r < 3; r++) R[r][2] = -R[r][2];
  }
  const tr = R[0][0] + R[1][1] + R[2][2] + 1;
  let qa: number;
  let qb: number;
  let qc: number;
  let qd: number;
  if (tr > 0.5) {
    qa = 0.5 * Math.sqrt(tr);
    qb = (0.25 * (R[2][1] - R[1][2])) / qa;
    qc = (0.25 * (R[0][2] - R[2][0])) / qa;
    qd = (0.25 * (R[1][0] - R[0][1])) / qa;
  } else {
    const xd = 1 + R[0][0] - (R[1][1] + R[2][2]);
    const yd = 1 + R[1][1] - (R[0][0] + R[2][2]);
    const zd = 1 + R[2][2] - (R[0][0] + R[1][1]);
    if (xd > 1) {
      qb = 0.5 * Math.sqrt(xd);
      qc = (0.25 * (R[0][1] + R[1][0])) / qb;
      qd = (0.25 * (R[0][2] + R[2][0])) / qb;
      qa = (0.25 * (R[2][1] - R[1][2])) / qb;
    } else if (yd > 1) {
      qc = 0.5 * Math.sqrt(yd);
      qb = (0.25 * (R[0][1] + R[1][0])) / qc;
      qd = (0.25 * (R[1][2] + R[2][1])) / qc;
      qa = (0.25 * (R[0][2] - R[2][0])) / qc;
    } else {
      qd = 0.5 * Math.sqrt(zd);
      qb = (0.25 * (R[0][2] + R[2][0])) / qd;
      qc = (0.25 * (R[1][2] + R[2][1])) / qd;
      qa = (0.25 * (R[1][0] - R[0][1])) / qd;
    }
    if (qa < 0) {
      qb = -qb;
      qc = -qc;
      qd = -qd;
    }
  }
  return { quatern: [qb, qc, qd], qoffset: [a[0][3], a[1][3], a[2][3]], pixdim: [z[0], z[1], z[2]], qfac };
}
