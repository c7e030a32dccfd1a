// Anatomical consistency of one synthetic slice (uint8 HWC, 4 MR channels then the mask channel at the ingest
// levels 0/51/102/204 = internal labels 0 bg, 1 NCR, 2 ED, 3 ET). The rules, for the internal scheme:
//  1. valid labels: every mask value is one of the four levels (nothing in between, nothing else);
//  2. nesting ET ⊂ TC ⊂ WT: with exclusive labels (WT = {1,2,3}, TC = {1,3}, ET = {3}) the set inclusion
//     holds by construction, so the rule checked is the spatial one it stands for: the tumour core (NCR + ET)
//     lies inside the whole tumour, i.e. at most `maxCoreOnBackground` of the core's rim pixels (core pixels
//     with a non-core 4-neighbour) touch background instead of oedema; a core floating in healthy tissue fails;
//  3. tumour inside the brain: every tumour pixel has at least one MR channel above `brainThreshold` (the brain
//     region = non-zero sequences; the threshold absorbs the generator's noise floor), at most
//     `maxTumourOutsideBrain` of the tumour may fall outside.
// Samples without tumour pass rules 2-3 trivially (healthy slices are valid training data).

import { labelOfMaskLevel } from "@synthmri/core";

export interface AnatomyRules {
  /** Highest MR value still counted as outside the brain (0-255; default 4). */
  brainThreshold: number;
  /** Fraction of tumour pixels allowed outside the brain region (default 0). */
  maxTumourOutsideBrain: number;
  /** Fraction of the core's rim pixels allowed to touch background directly (default 0.5). */
  maxCoreOnBackground: number;
}

export const DEFAULT_ANATOMY_RULES: AnatomyRules = {
  brainThreshold: 4,
  maxTumourOutsideBrain: 0,
  maxCoreOnBackground: 0.5,
};

export interface SampleStats {
  /** Pixels per internal label 0..3. */
  counts: [number, number, number, number];
  tumourFraction: number;
}

export interface AnatomyVerdict {
  pass: boolean;
  /** The first rule that failed, for the certificate's tallies and the audit log. */
  reason: "labels" | "nesting" | "outside-brain" | null;
  detail: string;
  stats: SampleStats;
}

/** Checks one slice at `offset` (elements) of an NHWC uint8 array with `channels` channels, mask last. */
export function checkAnatomy(
  data: Uint8Array,
  offset: number,
  h: number,
  w: number,
  channels: number,
  rules: AnatomyRules = DEFAULT_ANATOMY_RULES,
): AnatomyVerdict {
  const px = h * w;
  const m = channels - 1;
  const labels = new Uint8Array(px);
  const counts: [number, number, number, number] = [0, 0, 0, 0];
  for (let p = 0; p < px; p++) {
    const v = data[offset + p * channels + m];
    const l = labelOfMaskLevel(v);
    if (l === undefined) {
      const stats = { counts, tumourFraction: 0 };
      return { pass: false, reason: "labels", detail: `mask value ${v} is not a label level`, stats };
    }
    labels[p] = l;
    counts[l]++;
  }
  const tumour = px - counts[0];
  const stats: SampleStats = { counts, tumourFraction: tumour / px };
  if (tumour === 0) return { pass: true, reason: null, detail: "", stats };

  let outside = 0;
  for (let p = 0; p < px; p++) {
    if (labels[p] === 0) continue;
    const o = offset + p * channels;
    let brain = false;
    for (let c = 0; c < m; c++) if (data[o + c] > rules.brainThreshold) brain = true;
    if (!brain) outside++;
  }
  if (outside > rules.maxTumourOutsideBrain * tumour)
    return {
      pass: false,
      reason: "outside-brain",
      detail: `${outside} of ${tumour} tumour pixels lie outside the brain region`,
      stats,
    };

  const core = counts[1] + counts[3];
  if (core > 0) {
    // The core's rim: core pixels with a non-core 4-neighbour. Inside a whole tumour the rim borders oedema;
    // rim pixels that border background instead mean the core sticks out of (or floats outside) the tumour.
    let rim = 0;
    let onBackground = 0;
    const isCore = (l: number) => l === 1 || l === 3;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        if (!isCore(labels[y * w + x])) continue;
        const n = [
          x > 0 ? labels[y * w + x - 1] : 0,
          x < w - 1 ? labels[y * w + x + 1] : 0,
          y > 0 ? labels[(y - 1) * w + x] : 0,
          y < h - 1 ? labels[(y + 1) * w + x] : 0,
        ];
        if (n.every(isCore)) continue;
        rim++;
        if (n.includes(0)) onBackground++;
      }
    }
    if (onBackground > rules.maxCoreOnBackground * rim)
      return {
        pass: false,
        reason: "nesting",
        detail: `${onBackground} of ${rim} tumour-core rim pixels touch background instead of the whole tumour`,
        stats,
      };
  }
  return { pass: true, reason: null, detail: "", stats };
}
