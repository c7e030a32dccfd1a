import { InvalidInput } from "@synthmri/core";
import type { Mat4 } from "../nifti/affine.js";
import { writeNifti } from "../nifti/write.js";
import { SeededRandom } from "../random.js";
import { drawAnatomy, sampleBrain } from "./anatomy.js";
import { M, PHANTOM_SITES, PHANTOM_TISSUE, siteProfile, subjectContrast } from "./contrast.js";
import { normalTable, ValueNoise3 } from "./noise.js";
import { drawTumour, type PhantomTumour, planTumour } from "./tumour.js";

// A synthetic BraTS-2020-like cohort that behaves like BraTS for a segmenter: skull-stripped brains with
// partial-volume tissue edges, folded cortex, deep grey nuclei, ventricles with choroid plexus and vessels,
// oedema-like white-matter lesions that are not tumour (periventricular caps, deep lesions; own random stream);
// one to three irregular tumours per subject (necrotic core (label 1) inside an enhancing rim (label 4)
// inside oedema (label 2); some subjects lack necrosis or enhancement). Intensities overlap between tissue
// and tumour classes per sequence (contrast.ts), each subject is scanned at one of a few sites (contrast
// profile, gamma, noise level) and carries a smooth multiplicative bias field per sequence, texture and
// noise. Voxel intensities alone do not separate the classes; shape and context do (calibrated by the
// phantom tests: a per-voxel classifier stays below 0.5 mean Dice, a small U-Net does not).

export interface PhantomOptions {
  subjects: number;
  /** volume size in voxels (1 mm isotropic); default BraTS' 240x240x155 */
  size?: [number, number, number];
  seed?: string | number;
  /** subject id prefix; default BraTS 2020 training naming */
  idPrefix?: string;
}

export type { PhantomTumour } from "./tumour.js";

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
  /** healthy tissue under every voxel (PHANTOM_TISSUE: 0 background, 1 CSF, 2 GM, 3 WM), tumour or not */
  tissue: Uint8Array;
  /** the primary (largest) tumour focus */
  tumour: PhantomTumour;
  /** every focus, primary first (multi-focal subjects have 2-3) */
  foci: PhantomTumour[];
  /** the site (contrast profile) that scanned the subject, 0..PHANTOM_SITES-1 */
  site: number;
}

export function phantomSubjectId(index: number, prefix = "BraTS20_Training_"): string {
  return `${prefix}${String(index + 1).padStart(3, "0")}`;
}

export function generatePhantomCohort(opts: PhantomOptions): PhantomSubject[] {
  if (!Number.isInteger(opts.subjects) || opts.subjects < 1) {
    throw new InvalidInput(`phantom: subjects must be a positive integer, got ${opts.subjects}`);
  }
  return Array.from({ length: opts.subjects }, (_, i) => generatePhantomSubject(i, opts));
}

/** One subject, independent of the others (seeded by cohort seed and index; sites by cohort seed). */
export function generatePhantomSubject(index: number, opts: Omit<PhantomOptions, "subjects">): PhantomSubject {
  const [X, Y, Z] = opts.size ?? [240, 240, 155];
  if (![X, Y, Z].every((d) => Number.isInteger(d) && d >= 8 && d <= 1024)) {
    throw new InvalidInput(`phantom: size ${[X, Y, Z].join("x")} must be three integers between 8 and 1024`);
  }
  const rng = new SeededRandom(`${opts.seed ?? 0}:${index}`);
  const shape: [number, number, number] = [X, Y, Z];
  const n = X * Y * Z;
  const siteIndex = rng.int(0, PHANTOM_SITES);
  const site = siteProfile(siteIndex, new SeededRandom(`${opts.seed ?? 0}:site:${siteIndex}`));
  const contrast = subjectContrast(site, rng);
  const brain = sampleBrain(rng, shape);
  const anatomy = drawAnatomy(rng, shape, brain, new SeededRandom(`${opts.seed ?? 0}:${index}:lesions`));
  const plan = planTumour(rng, brain);
  const tumour = drawTumour(rng, shape, plan, anatomy);

  // Smooth multiplicative bias per sequence: a shared coil profile (low-frequency noise) plus a per-sequence
  // linear gradient, exp() so it is a gain field around 1.
  const side = Math.min(X, Y, Z);
  const coil = new ValueNoise3(rng, shape, Math.max(4, Math.round(side / 2)));
  const grad = [0, 1, 2, 3].map(() => [rng.uniform(-1, 1), rng.uniform(-1, 1), rng.uniform(-0.6, 0.6)]);
  const texture = new ValueNoise3(rng, shape, Math.max(2, Math.round(side / 16)));
  const heterogeneity = new ValueNoise3(rng, shape, Math.max(2, Math.round(side / 12)));
  const normals = normalTable(rng);
  let noiseState = rng.nextU32();
  const nextNormal = () => {
    noiseState = (Math.imul(noiseState, 1664525) + 1013904223) | 0;
    return normals[noiseState >>> 16];
  };

  const seqs = [new Int16Array(n), new Int16Array(n), new Int16Array(n), new Int16Array(n)];
  const tissue = new Uint8Array(n);
  const [cx, cy, cz] = brain.centre;
  const [ax, ay, az] = brain.axes;
  const v = [0, 0, 0, 0];
  for (let k = 0; k < Z; k++) {
    for (let j = 0; j < Y; j++) {
      for (let i = 0; i < X; i++) {
        const idx = i + X * (j + Y * k);
        if (!anatomy.inside[idx]) continue;
        const csf = anatomy.csf[idx];
        const gm = anatomy.gm[idx];
        const wm = 1 - csf - gm;
        tissue[idx] = csf >= gm && csf >= wm ? PHANTOM_TISSUE.CSF : gm >= wm ? PHANTOM_TISSUE.GM : PHANTOM_TISSUE.WM;
        const vessel = anatomy.vessel[idx];
        const choroid = anatomy.choroid[idx];
        const core = tumour.core[idx];
        const necrosis = tumour.necrosis[idx];
        const oedema = tumour.oedema[idx] * plan.oedemaStrength;
        const inTumour = core > 0 || oedema > 0;
        const tex = 1 + 0.04 * texture.at(i, j, k) + (inTumour ? 0.1 * heterogeneity.at(i, j, k) : 0);
        const coil01 = coil.at(i, j, k);
        const ux = (i - cx) / ax;
        const uy = (j - cy) / ay;
        const uz = (k - cz) / az;
        for (let s = 0; s < 4; s++) {
          const c = contrast[s];
          let x = csf * c[M.CSF] + gm * c[M.GM] + wm * c[M.WM];
          x += vessel * (c[M.VESSEL] - x);
          x += choroid * (c[M.CHOROID] - x);
          x += anatomy.lesion[idx] * (c[M.WML] - x);
          x += oedema * (c[M.ED] - x);
          const coreValue = plan.hasEnhancement
            ? c[M.ET] + necrosis * (c[M.NCR] - c[M.ET])
            : c[M.NET] + necrosis * (c[M.NCR] - c[M.NET]);
          x += core * (coreValue - x);
          const g = grad[s];
          x *= tex * Math.exp(site.bias * (0.7 * coil01 + 0.5 * (g[0] * ux + g[1] * uy + g[2] * uz)));
          v[s] = 1000 * Math.max(0, x / 1000) ** site.gamma[s];
        }
        for (let s = 0; s < 4; s++) {
          // Rician magnitude noise, as in magnitude MR images
          const re = v[s] + site.noise * nextNormal();
          const im = site.noise * nextNormal();
          const y = Math.sqrt(re * re + im * im);
          seqs[s][idx] = y < 1 ? 1 : y > 32767 ? 32767 : (y + 0.5) | 0;
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
    seg: tumour.seg,
    tissue,
    tumour: plan.foci[0],
    foci: plan.foci,
    site: siteIndex,
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

/**
 * The subject's healthy-tissue label volume as NIfTI (PHANTOM_TISSUE values, uint8, same geometry as the
 * images). Not part of the BraTS layout: write it outside the cohort directory.
 */
export function phantomTissueNifti(s: PhantomSubject, opts: { level?: number } = {}): Uint8Array {
  return writeNifti({
    shape: s.shape,
    affine: s.affine,
    level: opts.level ?? 1,
    descrip: "synthmri phantom tissue 0 bg 1 CSF 2 GM 3 WM",
    data: s.tissue,
  });
}
