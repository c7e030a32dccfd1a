// Healthy anatomy of a skull-stripped phantom brain (BraTS volumes are skull-stripped): tissue fractions per
// voxel, so that edges are partial-volume mixtures rather than steps. Cortical grey-matter ribbon with sulci,
// deep grey nuclei, lateral ventricles with choroid plexus, cortical vessels and the sagittal sinus.
// Coordinates are normalised to the brain's semi-axes, so the same brain is drawn at any grid size; soft edges
// are one voxel wide whatever the grid.
import type { SeededRandom } from "../random.js";
import { ValueNoise3 } from "./noise.js";

export interface BrainGeometry {
  centre: [number, number, number];
  /** semi-axes in voxels */
  axes: [number, number, number];
}

/** Per-voxel fractions (0..1) of the healthy materials and of the structures drawn on top of them. */
export interface AnatomyFractions {
  /** 1 inside the brain mask (background stays exactly 0 in every sequence, as in BraTS) */
  inside: Uint8Array;
  csf: Float32Array;
  gm: Float32Array;
  /** white matter is 1 - csf - gm */
  vessel: Float32Array;
  choroid: Float32Array;
  /**
   * White-matter lesions that are not tumour (small-vessel disease): periventricular caps and punctate/confluent
   * deep lesions, bright on T2/FLAIR like oedema, never labelled. An intensity rule calls them oedema; their
   * place and shape (hugging a ventricle, no core inside) tell them apart.
   */
  lesion: Float32Array;
}

/** A subject's white-matter lesion load: periventricular cap width and deep lesions (normalised units). */
interface LesionPlan {
  capWidth: number;
  deep: { centre: [number, number, number]; radii: [number, number, number] }[];
}

function planLesions(rng: SeededRandom, vent: number[][], ventR: number[]): LesionPlan {
  // about 1 in 10 subjects lesion-free, the rest mild to marked (Fazekas-like grades)
  const grade = rng.next() < 0.1 ? 0 : rng.uniform(0.9, 2);
  const deep: LesionPlan["deep"] = [];
  const count = Math.round(grade * rng.uniform(5, 11));
  for (let tries = 0; deep.length < count && tries < 200; tries++) {
    const c: [number, number, number] = [rng.uniform(-0.55, 0.55), rng.uniform(-0.6, 0.6), rng.uniform(-0.3, 0.55)];
    if (Math.hypot(...c) > 0.62) continue;
    if (vent.some((v) => Math.hypot((c[0] - v[0]) / ventR[0], (c[1] - v[1]) / ventR[1], (c[2] - v[2]) / ventR[2]) < 2))
      continue;
    const r = rng.uniform(0.05, 0.1) * (0.7 + 0.5 * grade);
    deep.push({ centre: c, radii: [r * rng.uniform(0.7, 1.4), r * rng.uniform(0.7, 1.6), r * rng.uniform(0.7, 1.3)] });
  }
  return { capWidth: grade * rng.uniform(0.6, 1.3), deep };
}

/** Linear ramp from 1 (x <= edge - w/2) to 0 (x >= edge + w/2): a partial-volume edge of width w. */
export function ramp(x: number, edge: number, w: number): number {
  const t = 0.5 - (x - edge) / w;
  return t <= 0 ? 0 : Math.min(t, 1);
}

export function sampleBrain(rng: SeededRandom, shape: readonly number[]): BrainGeometry {
  const [X, Y, Z] = shape;
  return {
    centre: [
      (X - 1) / 2 + rng.uniform(-0.03, 0.03) * X,
      (Y - 1) / 2 + rng.uniform(-0.03, 0.03) * Y,
      (Z - 1) / 2 + rng.uniform(-0.03, 0.03) * Z,
    ],
    axes: [X * rng.uniform(0.37, 0.43), Y * rng.uniform(0.42, 0.47), Z * rng.uniform(0.4, 0.46)],
  };
}

/** `lesionRng` draws the white-matter lesions (a stream of its own, so the rest of the anatomy does not move). */
export function drawAnatomy(
  rng: SeededRandom,
  shape: readonly number[],
  brain: BrainGeometry,
  lesionRng?: SeededRandom,
): AnatomyFractions {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const [cx, cy, cz] = brain.centre;
  const [ax, ay, az] = brain.axes;
  const side = Math.min(X, Y, Z);
  const surface = new ValueNoise3(rng, shape, Math.max(3, Math.round(side / 5)));
  const folds = new ValueNoise3(rng, shape, Math.max(2, Math.round(side / 9)));
  const sulci = new ValueNoise3(rng, shape, Math.max(2, Math.round(side / 7)));
  const tubeA = new ValueNoise3(rng, shape, Math.max(3, Math.round(side / 5)));
  const tubeB = new ValueNoise3(rng, shape, Math.max(3, Math.round(side / 5)));
  // one voxel, in normalised radius units: the width of every partial-volume edge
  const px = 1.1 / Math.min(ax, ay, az);
  const cortex = rng.uniform(0.13, 0.19);
  const ventScale = rng.uniform(0.8, 1.4);
  const vent = [-1, 1].map((s) => [s * 0.12 + rng.uniform(-0.02, 0.02), -0.06 + rng.uniform(-0.03, 0.03), 0.1]);
  const ventR = [0.075 * ventScale, 0.3 * ventScale, 0.14 * ventScale];
  const choroid = vent.map((v) => [v[0], v[1] + 0.55 * ventR[1], v[2]]);
  const choroidR = [0.05, 0.07, 0.06];
  const deep = [-1, 1].map((s) => [s * 0.25, 0.08, -0.05]);
  const deepR = [0.13, 0.19, 0.15];
  const vesselWidth = rng.uniform(0.08, 0.12);
  const lesions = lesionRng ? planLesions(lesionRng, vent, ventR) : { capWidth: 0, deep: [] };
  const capNoise = lesionRng ? new ValueNoise3(lesionRng, shape, Math.max(2, Math.round(side / 8))) : undefined;

  const out: AnatomyFractions = {
    inside: new Uint8Array(n),
    csf: new Float32Array(n),
    gm: new Float32Array(n),
    vessel: new Float32Array(n),
    choroid: new Float32Array(n),
    lesion: new Float32Array(n),
  };
  const ell = (u: readonly number[], c: readonly number[], r: readonly number[]) => {
    const a = (u[0] - c[0]) / r[0];
    const b = (u[1] - c[1]) / r[1];
    const d = (u[2] - c[2]) / r[2];
    return Math.sqrt(a * a + b * b + d * d);
  };
  const u = [0, 0, 0];
  for (let k = 0; k < Z; k++) {
    u[2] = (k - cz) / az;
    for (let j = 0; j < Y; j++) {
      u[1] = (j - cy) / ay;
      for (let i = 0; i < X; i++) {
        u[0] = (i - cx) / ax;
        const r0 = Math.sqrt(u[0] * u[0] + u[1] * u[1] + u[2] * u[2]);
        if (r0 > 1.15) continue;
        const r = r0 / (1 + 0.07 * surface.at(i, j, k));
        if (r >= 1) continue;
        const idx = i + X * (j + Y * k);
        out.inside[idx] = 1;
        const depth = 1 - r;
        // CSF: a thin rim outside the cortex, sulci cutting into it, the lateral ventricles
        const rim = ramp(depth, 0.025, px);
        // (noise is only evaluated where it can matter: the cortex for folds and sulci, the outer half for vessels)
        const cortical = depth < cortex * 1.45 + px;
        const sulcus = cortical ? ramp(Math.abs(sulci.at(i, j, k)), 0.07, 0.06) * ramp(depth, cortex * 0.9, px) : 0;
        const ventricle = Math.max(ramp(ell(u, vent[0], ventR), 1, px * 6), ramp(ell(u, vent[1], ventR), 1, px * 6));
        const csf = Math.max(rim, sulcus, ventricle);
        // GM: the cortical ribbon (folded: its thickness varies) and the deep nuclei
        const ribbon = cortical ? ramp(depth, cortex * (1 + 0.45 * folds.at(i, j, k)), px) : 0;
        const nuclei = Math.max(ramp(ell(u, deep[0], deepR), 1, px * 5), ramp(ell(u, deep[1], deepR), 1, px * 5));
        const gm = Math.max(ribbon, nuclei);
        out.csf[idx] = csf;
        out.gm[idx] = (1 - csf) * gm;
        // choroid plexus: a knot in the back of each ventricle (enhances on T1Gd like tumour)
        const cho = Math.min(ell(u, choroid[0], choroidR), ell(u, choroid[1], choroidR));
        out.choroid[idx] = ventricle * ramp(cho, 1, px * 12);
        // vessels: where two smooth noises both cross zero (tubes), densest near the surface; and the
        // sagittal sinus along the midline at the surface (both enhance on T1Gd)
        let tube = 0;
        if (depth < 0.55) {
          const a = tubeA.at(i, j, k);
          const b = tubeB.at(i, j, k);
          tube = ramp(Math.sqrt(a * a + b * b), vesselWidth, vesselWidth) * ramp(depth, 0.45, 0.2);
        }
        const sinus = ramp(Math.abs(u[0]) * ax, 0.8, 1) * ramp(depth, 0.06, px) * (u[2] > -0.2 ? 1 : 0);
        out.vessel[idx] = Math.max(tube, sinus) * (1 - ventricle);
        // white-matter lesions: caps around the ventricles (thickest at the horns, ragged) and deep lesions
        let lesion = 0;
        if (lesions.capWidth > 0 && capNoise) {
          const e = Math.min(ell(u, vent[0], ventR), ell(u, vent[1], ventR));
          if (e < 1 + 2 * lesions.capWidth)
            lesion = ramp(e, 1 + lesions.capWidth * (1 + 0.6 * capNoise.at(i, j, k)), 0.3);
        }
        for (const d of lesions.deep) {
          const q = ell(u, d.centre, d.radii);
          if (q < 1.5) lesion = Math.max(lesion, ramp(q, 1, 0.4));
        }
        out.lesion[idx] = lesion * Math.max(0, 1 - csf - out.gm[idx]) * (1 - out.vessel[idx]);
      }
    }
  }
  return out;
}
