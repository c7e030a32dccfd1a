import { InvalidInput } from "@synthmri/platform";
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
  const reach = rEd * 1.4;
  let noiseState = rng.nextU32();
  for (let k = 0; k < Z; k++) {
    const uz = (k - cz) / az;
    for (let j = 0; j < Y; j++) {
      const uy = (j - cy) / ay;
      for (let i = 0; i < X; i++) {
        const ux = (i - cx) / ax;
        const r = Math.sqrt(ux * ux + uy * uy + uz * uz);
        if (r > 1) continue; // background stays exactly 0, as in BraTS
        const idx = i + X * (j + Y * k);
        // tissue mixture: [CSF, GM, WM, SKULL] weights, then tumour overrides
        let wCsf = 0;
        let wGm = 0;
        let wWm = 0;
        let wSkull = 0;
        let label = 0;
        if (r > 0.92) wSkull = 1;
        else if (r > 0.87) wCsf = 1;
        else {
          const score = 0.6 * tissueNoise.at(i, j, k) + 1.6 * (0.62 - r);
          const f = 1 / (1 + Math.exp(-10 * score));
          wWm = f;
          wGm = 1 - f;
          const dy = (j - vent[0].y) / vr[1];
          const dz = (k - vent[0].z) / vr[2];
          const dyz = dy * dy + dz * dz;
          if (dyz < 1) {
            const d0 = (i - vent[0].x) / vr[0];
            const d1 = (i - vent[1].x) / vr[0];
            if (d0 * d0 + dyz < 1 || d1 * d1 + dyz < 1) {
              wCsf = 1;
              wGm = 0;
              wWm = 0;
            }
          }
          const ddx = i - tc[0];
          const ddy = j - tc[1];
          const ddz = k - tc[2];
          if (Math.abs(ddx) < reach && Math.abs(ddy) < reach && Math.abs(ddz) < reach) {
            const d = Math.sqrt(ddx * ddx + ddy * ddy + ddz * ddz) / (1 + 0.22 * shapeNoise.at(i, j, k));
            if (d < rNcr) label = 1;
            else if (d < rEt) label = 4;
            else if (d < rEd) label = 2;
          }
        }
        seg[idx] = label;
        const bias = 1 + bias3[0] * ux + bias3[1] * uy + bias3[2] * uz;
        const tex = 1 + 0.05 * fineNoise.at(i, j, k);
        for (let s = 0; s < 4; s++) {
          const c = contrast[s];
          let v: number;
          if (label === 1) v = c[T.NCR];
          else if (label === 4) v = c[T.ET];
          else if (label === 2) v = 0.75 * c[T.ED] + 0.25 * (wGm * c[T.GM] + wWm * c[T.WM] + wCsf * c[T.CSF]);
          else v = wCsf * c[T.CSF] + wGm * c[T.GM] + wWm * c[T.WM] + wSkull * c[T.SKULL];
          noiseState = (Math.imul(noiseState, 1664525) + 1013904223) | 0;
          v = v * gains[s] * bias * tex + noiseSigma * normals[noiseState >>> 16];
          seqs[s][idx] = v < 1 ? 1 : Math.round(v);
        }
      }
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
