// Two-stage synthesis (issue 21.1, seed 001): stage 1 a PGAN generating label maps (tissue background/CSF/GM/WM
// plus the tumour classes NCR/ED/ET as one-hot channels), stage 2 a SPADE generator turning a label map into the
// 4 sequences (spatially-adaptive normalisation, multi-scale PatchGAN discriminators, hinge loss, feature
// matching; Park et al. 2019 defaults: TTUR lr G 1e-4 / D 4e-4, Adam (0, 0.9), feature-matching weight 10).
import { InvalidInput } from "@synthmri/core";
import { defaultGanConfig, type GanConfig } from "../../gan/config.js";
import type { FamilyConfigBase } from "../model.js";

/** Label-map classes: 0 background, 1 CSF, 2 GM, 3 WM (tissue), 4 NCR, 5 ED, 6 ET (tumour overrides tissue). */
export const LABEL_CLASSES = 7;
export const TISSUE_CLASSES = 4;

export interface SpadeConfig extends FamilyConfigBase {
  family: "spade2stage";
  /** Stage 1: a PGAN over LABEL_CLASSES one-hot channels (scaled to [-1, 1]) at `resolution`. */
  stage1: GanConfig;
  /** SPADE generator's own latent (the sample latent is stage 1's latent followed by this one). */
  zDim: number;
  /** Channels at the last (full-resolution) SPADE block; doubled per coarser level up to 16x. */
  ngf: number;
  /** Hidden channels of each SPADE modulation network. */
  spadeHidden: number;
  /** PatchGAN discriminators, each on a 2x coarser copy of the input. */
  numD: number;
  dLayers: number;
  ndf: number;
  fmWeight: number;
  lrG: number;
  lrD: number;
}

export function demoSpadeConfig(o: Partial<SpadeConfig> = {}): SpadeConfig {
  const resolution = o.resolution ?? 32;
  const stage1 =
    o.stage1 ??
    defaultGanConfig({
      family: "pgan",
      resolution,
      channels: LABEL_CLASSES,
      latentSize: 32,
      fmapBase: 256,
      fmapMax: 32,
    });
  const zDim = o.zDim ?? 16;
  return check({
    family: "spade2stage",
    resolution,
    channels: 5,
    trainChannels: 6,
    latentSize: stage1.latentSize + zDim,
    stage1,
    zDim,
    ngf: 8,
    spadeHidden: 16,
    numD: 2,
    dLayers: 3,
    ndf: 16,
    fmWeight: 10,
    // Faster than the paper's TTUR (1e-4 / 4e-4): a demo must move in a few hundred steps.
    lrG: 2e-3,
    lrD: 2e-3,
    ...o,
  });
}

/** Seed 001's sizes: 256x256, stage 1 a paper PGAN, SPADE ngf 64 / hidden 128 / 2 discriminators of 4 layers. */
export function paperSpadeConfig(o: Partial<SpadeConfig> = {}): SpadeConfig {
  const resolution = o.resolution ?? 256;
  const stage1 = o.stage1 ?? defaultGanConfig({ family: "pgan", resolution, channels: LABEL_CLASSES });
  const zDim = o.zDim ?? 256;
  return check({
    family: "spade2stage",
    resolution,
    channels: 5,
    trainChannels: 6,
    latentSize: stage1.latentSize + zDim,
    stage1,
    zDim,
    ngf: 64,
    spadeHidden: 128,
    numD: 2,
    dLayers: 4,
    ndf: 64,
    fmWeight: 10,
    lrG: 1e-4,
    lrD: 4e-4,
    ...o,
  });
}

function check(c: SpadeConfig): SpadeConfig {
  validateSpadeConfig(c);
  return c;
}

export function validateSpadeConfig(c: SpadeConfig): void {
  if (c.maskEncoding !== undefined && c.maskEncoding !== "level")
    throw new InvalidInput(
      `two-stage: maskEncoding "${c.maskEncoding}" does not apply (its stage 1 already generates one-hot label maps); leave it unset`,
    );
  if (c.family !== "spade2stage") throw new InvalidInput(`SPADE config has family "${c.family}"`);
  if (c.channels !== 5 || c.trainChannels !== 6)
    throw new InvalidInput(
      "two-stage synthesis makes 4 sequences + a mask (channels 5) from slices with a tissue channel (trainChannels 6)",
    );
  if (c.stage1.resolution !== c.resolution || c.stage1.channels !== LABEL_CLASSES)
    throw new InvalidInput(`stage 1 must be a ${c.resolution}px PGAN over ${LABEL_CLASSES} label channels`);
  if (c.latentSize !== c.stage1.latentSize + c.zDim)
    throw new InvalidInput("two-stage latentSize must be stage1.latentSize + zDim");
  for (const k of ["zDim", "ngf", "spadeHidden", "numD", "dLayers", "ndf"] as const)
    if (!Number.isInteger(c[k]) || c[k] < 1) throw new InvalidInput(`SPADE config ${k} must be a positive integer`);
  if (c.resolution / 2 ** (c.numD - 1 + c.dLayers) < 1)
    throw new InvalidInput(`SPADE: ${c.numD} discriminators of ${c.dLayers} layers need a larger resolution`);
  for (const k of ["lrG", "lrD"] as const) if (!(c[k] > 0)) throw new InvalidInput(`SPADE ${k} must be > 0`);
  if (!(c.fmWeight >= 0)) throw new InvalidInput("SPADE fmWeight must be >= 0");
}
