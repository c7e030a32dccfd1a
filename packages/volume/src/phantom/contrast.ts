// Intensity model of the phantom: mean intensity per material and sequence (0-1000 scale) and per-site
// contrast profiles. The table is built so that no single voxel's four intensities tell the classes apart, as
// in BraTS: oedema sits between grey matter and CSF on FLAIR and T2, necrosis looks like CSF on T1/T1Gd/T2,
// non-enhancing core looks like oedema, white-matter lesions look like oedema on every sequence, and vessels /
// choroid plexus enhance on T1Gd like the tumour rim (and, partial-volumed, are not dark on T2/FLAIR either).
// What separates them is context (a ring around a dark core, a blob in white matter, a thin tube), which a
// U-Net can learn and a per-voxel classifier cannot.
import type { SeededRandom } from "../random.js";

/** Healthy tissue classes of a phantom voxel (the `tissue` volume), background 0 as in BraTS. */
export const PHANTOM_TISSUE = { BACKGROUND: 0, CSF: 1, GM: 2, WM: 3 } as const;
export type PhantomTissue = (typeof PHANTOM_TISSUE)[keyof typeof PHANTOM_TISSUE];

/** Materials with their own intensities (index into a contrast row). */
export const M = {
  CSF: 0,
  GM: 1,
  WM: 2,
  ED: 3,
  ET: 4,
  NCR: 5,
  /** non-enhancing tumour core (BraTS 2020 label 1 "NCR/NET" in subjects without enhancement) */
  NET: 6,
  VESSEL: 7,
  CHOROID: 8,
  /** white-matter lesion (not tumour): oedema-like on T2/FLAIR, no enhancement */
  WML: 9,
} as const;
export const MATERIALS = 10;

/** Sequences in file order: t1, t1ce, t2, flair. */
// biome-ignore format: a table
const BASE_CONTRAST: readonly (readonly number[])[] = [
  //  CSF  GM   WM   ED   ET   NCR  NET  VES  CHO  WML
  [   270, 520, 680, 470, 520, 300, 430, 490, 470, 490], // T1
  [   270, 540, 700, 500, 840, 310, 450, 860, 820, 510], // T1Gd
  [   930, 680, 470, 780, 650, 880, 760, 580, 640, 770], // T2
  [   180, 640, 480, 700, 620, 320, 680, 560, 560, 690], // FLAIR
];

/** A scanner/site: how its sequences weight each material, how strong its bias field and noise are. */
export interface SiteProfile {
  site: number;
  /** [sequence][material] multipliers of the base contrast */
  contrast: number[][];
  /** per sequence: output = 1000 * (v / 1000)^gamma (a site's windowing / sequence parameters) */
  gamma: number[];
  /** multiplicative bias amplitude (log scale, about +-) */
  bias: number;
  /** Gaussian noise sd on the 0-1000 scale */
  noise: number;
}

export const PHANTOM_SITES = 4;

/** Site `k` of a cohort seeded by `seed`: the same for every subject scanned there. */
export function siteProfile(k: number, rng: SeededRandom): SiteProfile {
  return {
    site: k,
    contrast: BASE_CONTRAST.map((row) => withLesionLikeOedema(row.slice(0, M.WML).map(() => rng.uniform(0.9, 1.1)))),
    gamma: [0, 1, 2, 3].map(() => rng.uniform(0.8, 1.25)),
    bias: rng.uniform(0.12, 0.3),
    noise: rng.uniform(14, 32),
  };
}

/** The subject's contrast table: base x site x a small per-subject jitter. */
export function subjectContrast(site: SiteProfile, rng: SeededRandom): number[][] {
  return BASE_CONTRAST.map((row, s) => {
    const jitter = withLesionLikeOedema(row.slice(0, M.WML).map(() => rng.uniform(0.95, 1.05)));
    return row.map((v, m) => v * site.contrast[s][m] * jitter[m]);
  });
}

/**
 * A white-matter lesion takes the oedema's site and subject factors (both are tissue water). Drawing no factors of
 * its own also keeps the random streams, and so every other part of a phantom, as they were before lesions.
 */
function withLesionLikeOedema(factors: number[]): number[] {
  return [...factors, factors[M.ED]];
}
