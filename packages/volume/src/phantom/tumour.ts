// Tumours of a phantom subject: one to three irregular foci, each an (optionally necrotic) core inside an
// enhancing rim inside oedema, as BraTS draws them. Some subjects have no necrosis (solid enhancing core),
// some no enhancement (the core is non-enhancing tumour, BraTS 2020 label 1 "NCR/NET"). Oedema spreads into
// white matter more than grey matter and fades out at its edge (part of the faint signal lies outside the
// label, as annotators draw it), so its border is not an intensity step.
import type { SeededRandom } from "../random.js";
import type { AnatomyFractions, BrainGeometry } from "./anatomy.js";
import { ramp } from "./anatomy.js";
import { ValueNoise3 } from "./noise.js";

export interface PhantomTumour {
  centre: [number, number, number];
  /** radii in voxels of necrosis (0 without), core (necrosis + enhancing rim), oedema */
  radii: [number, number, number];
}

export interface TumourPlan {
  foci: PhantomTumour[];
  /** per-focus axis stretch (irregular, not spherical) */
  stretch: [number, number, number][];
  hasNecrosis: boolean;
  hasEnhancement: boolean;
  /** how bright the oedema is relative to the contrast table (faint to full) */
  oedemaStrength: number;
}

/** Per-voxel tumour maps: BraTS 2020 labels and the soft memberships that drive intensities. */
export interface TumourMaps {
  /** 0, 1 NCR/NET, 2 ED, 4 ET */
  seg: Uint8Array;
  /** core membership (NCR/NET + ET), 0..1 */
  core: Float32Array;
  /** necrosis membership inside the core, 0..1 */
  necrosis: Float32Array;
  /** oedema signal, 0..1 (non-zero a little beyond the ED label) */
  oedema: Float32Array;
}

export function planTumour(rng: SeededRandom, brain: BrainGeometry): TumourPlan {
  const [cx, cy, cz] = brain.centre;
  const [ax, ay, az] = brain.axes;
  const m = Math.min(ax, ay);
  const roll = rng.next();
  // about 1 in 6 subjects without necrosis, 1 in 6 without enhancement (never both: the core must exist)
  const hasNecrosis = roll >= 1 / 6;
  const hasEnhancement = roll < 1 / 6 || roll >= 2 / 6;
  const count = rng.next() < 0.6 ? 1 : rng.next() < 0.7 ? 2 : 3;
  const rCore = m * rng.uniform(0.2, 0.34);
  const foci: PhantomTumour[] = [];
  const stretch: [number, number, number][] = [];
  let primary: [number, number, number] = [cx, cy, cz];
  for (let f = 0; f < count; f++) {
    const rc = f === 0 ? rCore : rCore * rng.uniform(0.4, 0.75);
    const rn = hasNecrosis ? rc * rng.uniform(0.45, 0.75) : 0;
    const re = rc * rng.uniform(1.45, 2.1);
    let centre: [number, number, number];
    for (let tries = 0; ; tries++) {
      let u: [number, number, number];
      if (f === 0) u = [rng.uniform(-0.5, 0.5), rng.uniform(-0.55, 0.55), rng.uniform(-0.4, 0.4)];
      else {
        // satellites near the primary (multi-focal disease), one or two oedema radii away
        const dir = [rng.normal(), rng.normal(), rng.normal()];
        const len = Math.hypot(...dir) || 1;
        const dist = foci[0].radii[2] * rng.uniform(0.9, 1.8);
        u = [0, 1, 2].map((a) => (primary[a] + (dir[a] / len) * dist - brain.centre[a]) / brain.axes[a]) as [
          number,
          number,
          number,
        ];
      }
      if (Math.hypot(...u) <= 0.62 || tries > 50) {
        centre = [cx + u[0] * ax, cy + u[1] * ay, cz + u[2] * az];
        break;
      }
    }
    if (f === 0) primary = centre;
    foci.push({ centre, radii: [rn, rc, re] });
    stretch.push([rng.uniform(0.75, 1.3), rng.uniform(0.75, 1.3), rng.uniform(0.75, 1.3)]);
  }
  return { foci, stretch, hasNecrosis, hasEnhancement, oedemaStrength: rng.uniform(0.45, 1) };
}

export function drawTumour(
  rng: SeededRandom,
  shape: readonly number[],
  plan: TumourPlan,
  anatomy: AnatomyFractions,
): TumourMaps {
  const [X, Y, Z] = shape;
  const n = X * Y * Z;
  const maps: TumourMaps = {
    seg: new Uint8Array(n),
    core: new Float32Array(n),
    necrosis: new Float32Array(n),
    oedema: new Float32Array(n),
  };
  const rMin = Math.min(...plan.foci.map((f) => f.radii[1]));
  const coreNoise = new ValueNoise3(rng, shape, Math.max(2, Math.round(rMin / 1.2)));
  const ncrNoise = new ValueNoise3(rng, shape, Math.max(2, Math.round(rMin / 1.5)));
  const edNoise = new ValueNoise3(rng, shape, Math.max(2, Math.round(rMin / 1.1)));
  plan.foci.forEach((focus, f) => {
    const [rn, rc, re] = focus.radii;
    const [sx, sy, sz] = plan.stretch[f];
    const reach = re * 1.45 * 1.15 * Math.max(sx, sy, sz) + 1;
    const lo = focus.centre.map((c) => Math.floor(c - reach));
    const hi = focus.centre.map((c) => Math.ceil(c + reach));
    for (let k = Math.max(0, lo[2]); k <= Math.min(Z - 1, hi[2]); k++) {
      const dz = (k - focus.centre[2]) / sz;
      for (let j = Math.max(0, lo[1]); j <= Math.min(Y - 1, hi[1]); j++) {
        const dy = (j - focus.centre[1]) / sy;
        for (let i = Math.max(0, lo[0]); i <= Math.min(X - 1, hi[0]); i++) {
          const idx = i + X * (j + Y * k);
          if (!anatomy.inside[idx]) continue;
          const dx = (i - focus.centre[0]) / sx;
          const d = Math.sqrt(dx * dx + dy * dy + dz * dz);
          // the noise factors below are at most 1.35 (core) and 1.45 (oedema): nothing to draw beyond
          if (d > 1.45 * 1.15 * re) continue;
          const nearCore = d < 1.35 * rc + 1;
          const dCore = nearCore ? d / (1 + 0.35 * coreNoise.at(i, j, k)) : d;
          const dNcr = nearCore && rn > 0 ? d / (1 + 0.3 * ncrNoise.at(i, j, k)) : d;
          // oedema follows white matter: it reaches less far into grey matter and not into CSF
          const wm = 1 - anatomy.csf[idx] - anatomy.gm[idx];
          const dEd = d / ((1 + 0.45 * edNoise.at(i, j, k)) * (0.55 + 0.45 * wm) * (1 - 0.8 * anatomy.csf[idx]));
          const core = nearCore ? ramp(dCore, rc, 1) : 0;
          const necrosis = rn > 0 && nearCore ? ramp(dNcr, rn, 1) : 0;
          // full signal inside 0.75 re, fading to nothing at 1.15 re (the label stops at re)
          const oedema = ramp(dEd, 0.95 * re, 0.4 * re);
          if (core > maps.core[idx]) maps.core[idx] = core;
          if (necrosis > maps.necrosis[idx]) maps.necrosis[idx] = necrosis;
          if (oedema > maps.oedema[idx]) maps.oedema[idx] = oedema;
          const label = dCore < rc ? (!plan.hasEnhancement || (rn > 0 && dNcr < rn) ? 1 : 4) : dEd < re ? 2 : 0;
          // one focus's core wins over another's oedema
          const cur = maps.seg[idx];
          if (label === 0 || cur === 1 || (cur === 4 && label !== 1) || (cur === 2 && label === 2)) continue;
          maps.seg[idx] = label;
        }
      }
    }
  });
  return maps;
}
