import { InvalidInput } from "@synthmri/core";
import type { Mat4 } from "../nifti/affine.js";
import { writeNifti } from "../nifti/write.js";
import { SeededRandom } from "../random.js";
import { normalTable, ValueNoise3 } from "./noise.js";

// A synthetic BraTS-2020-like cohort: a head (skull-ish rim, CSF, grey/white matter texture,
// ventricles) with one tumour per subject: necrotic core (label 1) inside an enhancing rim
// (label 4) inside oedema (label 2). Contrasts follow clinical MRI: oedema bright on FLAIR and T2,
// enhancing rim bright on T1Gd, necrosis dark on T1/T1Gd and bright on T2; CSF dark on FLAIR.
// Every subject varies position, size and shape of the tumour, the head, gains, bias field and
// noise, so a segmenter has to learn the contrasts rather than a location.

export interface PhantomOptions {
  subjects: number;
  /** volume size in voxels (1 mm isotropic); default BraTS' 240x240x155 */
  size?: [number, number, number];
  seed?: string | number;
  /** subject id prefix; default BraTS 2020 training naming */
  idPrefix?: string;
}

export interface PhantomTumour {
  centre: [number, number, number];
  /** radii in voxels of necrosis, enhancing rim, oedema */
  radii: [number, number, number];
}

export interface PhantomSubject {
  id: string;
  shape: [number, number, number];
  /** LPS voxel axes, 1 mm, like BraTS */
  affine: Mat4;
  t1: Int16Array;
  t1ce: Int16Array;
  t2: Int16Array;
  flair: Int16Array;
  /** BraTS 2020 labels: 0, 1 NCR, 2 ED, 4 ET */
  seg: Uint8Array;
  tumour: PhantomTumour;
}

// Mean intensity per tissue, per sequence (t1, t1ce, t2, flair), on a 0-1000 scale.
const T = { CSF: 0, GM: 1, WM: 2, SKULL: 3, ED: 4, ET: 5, NCR: 6 } as const;
const CONTRAST: number[][] = [
  //  CSF   GM   WM  SKULL  ED   ET   NCR
  [250, 550, 750, 850, 430, 520, 180], // T1
  [250, 550, 750, 850, 470, 1000, 170], // T1Gd
  [950, 600, 420, 350, 860, 640, 1000], // T2
  [120, 560, 450, 300, 960, 700, 420], // FLAIR
];

export function phantomSubjectId(index: number, prefix = "BraTS20_Training_"): string {
  return `${prefix}${String(index + 1).padStart(3, "0")}`;
}

export function generatePhantomCohort(opts: PhantomOptions): PhantomSubject[] {
  if (!Number.isInteger(opts.subjects) || opts.subjects < 1) {
    throw new InvalidInput(`phantom: subjects must be a positive integer, got ${opts.subjects}`);
  }
  return Array.from({ length: opts.subjects }, (_, i) => generatePhantomSubject(i, opts));
}

/** One subject, independent of the others (seeded by cohort seed and index). */
export function generatePhantomSubject(index: number, opts: Omit<PhantomOptions, "subjects">): PhantomSubject {
  const [X, Y, Z] = opts.size ?? [240, 240, 155];
  if (![X, Y, Z].every((d) => Number.isInteger(d) && d >= 8 && d <= 1024)) {
    throw new InvalidInput(`phantom: size ${[X, Y, Z].join("x")} must be three integers between 8 and 1024`);
  }
  const rng = new SeededRandom(`${opts.seed ?? 0}:${index}`);
  const shape: [number, number, number] = [X, Y, Z];
  const n = X * Y * Z;

  // Head ellipsoid, slightly varied per subject.
  const cx = (X - 1) / 2 + rng.uniform(-0.03, 0.03) * X;
  const cy = (Y - 1) / 2 + rng.uniform(-0.03, 0.03) * Y;
  const cz = (Z - 1) / 2 + rng.uniform(-0.03, 0.03) * Z;
  const ax = X * rng.uniform(0.36, 0.42);
  const ay = Y * rng.uniform(0.42, 0.47);
  const az = Z * rng.uniform(0.38, 0.44);

  // Tumour somewhere inside the brain, varied size and shape.
  const m = Math.min(ax, ay);
  const rEt = m * rng.uniform(0.16, 0.32);
  const rNcr = rEt * rng.uniform(0.35, 0.65);
  const rEd = rEt * rng.uniform(1.45, 2.0);
  let tx = 0;
  let ty = 0;
  let tz = 0;
  for (;;) {
    tx = rng.uniform(-0.5, 0.5);
    ty = rng.uniform(-0.5, 0.5);
    tz = rng.uniform(-0.4, 0.4);
    if (tx * tx + ty * ty + tz * tz <= 0.25) break;
  }
  const tc: [number, number, number] = [cx + tx * ax, cy + ty * ay, cz + tz * az];

  const cell = Math.max(3, Math.round(Math.min(X, Y, Z) / 10));
  const tissueNoise = new ValueNoise3(rng, shape, cell);
  const fineNoise = new ValueNoise3(rng, shape, Math.max(2, Math.round(cell / 3)));
  const shapeNoise = new ValueNoise3(rng, shape, Math.max(3, Math.round(rEt / 1.5)));
  // Receive-coil bias: a smooth linear gradient across the head (a few per cent each way).
  const bias3 = [rng.uniform(-0.08, 0.08), rng.uniform(-0.08, 0.08), rng.uniform(-0.05, 0.05)];
  const gains = [0, 1, 2, 3].map(() => rng.uniform(0.85, 1.15));
  const contrast = CONTRAST.map((row) => row.map((v) => v * rng.uniform(0.94, 1.06)));
  const noiseSigma = rng.uniform(12, 28);
  const normals = normalTable(rng);
  // Ventricles: two ellipsoids either side of the midline.
  const vent = [-1, 1].map((s) => ({ x: cx + s * 0.13 * ax, y: cy - 0.05 * ay, z: cz + 0.08 * az }));
  const vr = [0.09 * ax, 0.25 * ay, 0.14 * az];

  const seqs = [new Int16Array(n), new Int16Array(n), new Int16Array(n), new Int16Array(n)];
  const seg = new Uint8Array(n);
  // Pass 1: anatomy. cls: 0 outside, 1 skull, 2 CSF, 3 parenchyma (GM/WM mix by wm), then labels.
  const cls = new Uint8Array(n);
  const wm = new Float32Array(n);
  const reach = rEd * 1.4;
  const [v0x, v1x, vy, vz] = [vent[0].x, vent[1].x, vent[0].y, vent[0].z];
  for (let k = 0; k < Z; k++) {
    const uz = (k - cz) / az;
    for (let j = 0; j < Y; j++) {
      const uy = (j - cy) / ay;
      const rest = 1 - uy * uy - uz * uz;
      if (rest < 0) continue;
      // only the x-range inside the head ellipsoid; background stays exactly 0, as in BraTS
      const half = Math.sqrt(rest) * ax;
      const i0 = Math.max(0, Math.ceil(cx - half));
      const i1 = Math.min(X - 1, Math.floor(cx + half));
      const dy = (j - vy) / vr[1];
      const dz = (k - vz) / vr[2];
      const dyz = dy * dy + dz * dz;
      const ddy = j - tc[1];
      const ddz = k - tc[2];
      const nearY = Math.abs(ddy) < reach && Math.abs(ddz) < reach;
      for (let i = i0; i <= i1; i++) {
        const ux = (i - cx) / ax;
        const r = Math.sqrt(ux * ux + uy * uy + uz * uz);
        const idx = i + X * (j + Y * k);
        if (r > 0.92) {
          cls[idx] = 1;
          continue;
        }
        if (r > 0.87) {
          cls[idx] = 2;
          continue;
        }
        cls[idx] = 3;
        if (dyz < 1) {
          const d0 = (i - v0x) / vr[0];
          const d1 = (i - v1x) / vr[0];
          if (d0 * d0 + dyz < 1 || d1 * d1 + dyz < 1) cls[idx] = 2;
        }
        if (cls[idx] === 3) {
          // smooth sigmoid of (texture + depth): white matter deep, grey matter outside
          const x = 5 * (0.6 * tissueNoise.at(i, j, k) + 1.6 * (0.62 - r));
          wm[idx] = 0.5 + (0.5 * x) / (1 + Math.abs(x));
        }
        const ddx = i - tc[0];
        if (nearY && Math.abs(ddx) < reach) {
          const d = Math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) / (1 + 0.22 * shapeNoise.at(i, j, k));
          if (d < rNcr) seg[idx] = 1;
          else if (d < rEt) seg[idx] = 4;
          else if (d < rEd) seg[idx] = 2;
        }
      }
    }
  }
  // Pass 2: intensities per sequence, with gain, bias field, fine texture and noise.
  const tex = new Float32Array(n);
  for (let k = 0; k < Z; k++) {
    const uz = (k - cz) / az;
    for (let j = 0; j < Y; j++) {
      const uy = (j - cy) / ay;
      for (let i = 0; i < X; i++) {
        const idx = i + X * (j + Y * k);
        if (cls[idx] === 0) continue;
        const ux = (i - cx) / ax;
        tex[idx] = (1 + bias3[0] * ux + bias3[1] * uy + bias3[2] * uz) * (1 + 0.05 * fineNoise.at(i, j, k));
      }
    }
  }
  let noiseState = rng.nextU32();
  for (let s = 0; s < 4; s++) {
    const c = contrast[s];
    const [cCsf, cGm, cWm, cSkull, cEd, cEt, cNcr] = [
      c[T.CSF],
      c[T.GM],
      c[T.WM],
      c[T.SKULL],
      c[T.ED],
      c[T.ET],
      c[T.NCR],
    ];
    const g = gains[s];
    const out = seqs[s];
    for (let idx = 0; idx < n; idx++) {
      const kind = cls[idx];
      if (kind === 0) continue;
      const w = wm[idx];
      const tissue = kind === 1 ? cSkull : kind === 2 ? cCsf : w * cWm + (1 - w) * cGm;
      const label = seg[idx];
      const v0 = label === 0 ? tissue : label === 2 ? 0.75 * cEd + 0.25 * tissue : label === 4 ? cEt : cNcr;
      noiseState = (Math.imul(noiseState, 1664525) + 1013904223) | 0;
      const v = v0 * g * tex[idx] + noiseSigma * normals[noiseState >>> 16];
      out[idx] = v < 1 ? 1 : (v + 0.5) | 0;
    }
  }
  const affine: Mat4 = [
    [-1, 0, 0, 0],
    [0, -1, 0, Y - 1],
    [0, 0, 1, 0],
    [0, 0, 0, 1],
  ];
  return {
    id: phantomSubjectId(index, opts.idPrefix),
    shape,
    affine,
    t1: seqs[0],
    t1ce: seqs[1],
    t2: seqs[2],
    flair: seqs[3],
    seg,
    tumour: { centre: tc, radii: [rNcr, rEt, rEd] },
  };
}

/** The subject's BraTS 2020 files: `{ "<id>_t1.nii.gz": bytes, ... }` (write them under `<id>/`). */
export function phantomSubjectFiles(s: PhantomSubject, opts: { level?: number } = {}): Record<string, Uint8Array> {
  const common = { shape: s.shape, affine: s.affine, level: opts.level ?? 1, descrip: "synthmri phantom" };
  return {
    [`${s.id}_t1.nii.gz`]: writeNifti({ ...common, data: s.t1 }),
    [`${s.id}_t1ce.nii.gz`]: writeNifti({ ...common, data: s.t1ce }),
    [`${s.id}_t2.nii.gz`]: writeNifti({ ...common, data: s.t2 }),
    [`${s.id}_flair.nii.gz`]: writeNifti({ ...common, data: s.flair }),
    [`${s.id}_seg.nii.gz`]: writeNifti({ ...common, data: s.seg }),
  };
}
