// What a training step of each generator family costs relative to a PGAN step of the same spec (16x16, 5 channels,
// latent 32, fmapMax 16, batch 8: the families preset), in CPU time on the tfjs cpu backend, measured in one process
// on 2026-12-02 (CPU ms/step: PGAN 2192, DDPM 5225, StyleGAN2 1842, two-stage 4981, on a loaded 2-core machine; the
// ratios hold better than the absolute figures). The estimate measures a PGAN step now and scales it by these.
import type { GanFamilyName } from "./spec.js";

export const FAMILY_STEP_RATIO: Record<GanFamilyName, number> = {
  pgan: 1,
  dcgan: 1,
  lsgan: 1,
  hinge: 1,
  ddpm: 2.38,
  stylegan2: 0.84,
  spade2stage: 2.27,
};
