// StyleGAN2 with a joint segmentation head (issue 21.2; seed 003 generates the 4 sequences and the tumour mask
// together). Defaults of Karras et al. 2020 (config F): mapping 8 x 512, lr 0.002, Adam (0, 0.99), R1 gamma 10
// every 16 steps, path length weight 2 every 4 steps, G EMA half-life 10 kimg, minibatch-stddev group 4.
import { InvalidInput } from "@synthmri/core";
import type { FamilyConfigBase } from "../model.js";

export interface StyleGan2Config extends FamilyConfigBase {
  family: "stylegan2";
  /** Segmentation classes of the head (0 background, 1 NCR, 2 ED, 3 ET). */
  classes: number;
  mappingLayers: number;
  /** Feature maps at side r: min(floor(fmapBase / r), fmapMax). */
  fmapBase: number;
  fmapMax: number;
  learningRate: number;
  /** Mapping network learning-rate multiplier (0.01 in StyleGAN). */
  mappingLrMul: number;
  r1Gamma: number;
  /** Lazy regularisation: R1 every this many steps (weighted by the interval). */
  r1Interval: number;
  plWeight: number;
  plInterval: number;
  plDecay: number;
  /** Generator EMA half-life in kimg (beta = 0.5^(batch / (1000 * emaKimg))). */
  emaKimg: number;
  mbstdGroup: number;
}

export const SEQUENCE_CHANNELS = 4;

export function demoStyleGan2Config(o: Partial<StyleGan2Config> = {}): StyleGan2Config {
  return check({
    family: "stylegan2",
    resolution: 32,
    channels: 5,
    classes: 4,
    latentSize: 32,
    mappingLayers: 2,
    fmapBase: 512,
    fmapMax: 32,
    learningRate: 0.002,
    mappingLrMul: 0.01,
    r1Gamma: 1,
    r1Interval: 4,
    plWeight: 2,
    plInterval: 4,
    plDecay: 0.01,
    emaKimg: 0.5,
    mbstdGroup: 4,
    ...o,
  });
}

/** Config F at 256x256 (seed 003 trained at 256; channel base 32768 / max 512 as StyleGAN2). */
export function paperStyleGan2Config(o: Partial<StyleGan2Config> = {}): StyleGan2Config {
  return check({
    family: "stylegan2",
    resolution: 256,
    channels: 5,
    classes: 4,
    latentSize: 512,
    mappingLayers: 8,
    fmapBase: 32768,
    fmapMax: 512,
    learningRate: 0.002,
    mappingLrMul: 0.01,
    r1Gamma: 10,
    r1Interval: 16,
    plWeight: 2,
    plInterval: 4,
    plDecay: 0.01,
    emaKimg: 10,
    mbstdGroup: 4,
    ...o,
  });
}

function check(c: StyleGan2Config): StyleGan2Config {
  validateStyleGan2Config(c);
  return c;
}

export function validateStyleGan2Config(c: StyleGan2Config): void {
  if (c.maskEncoding !== undefined && c.maskEncoding !== "level")
    throw new InvalidInput(
      `StyleGAN2: maskEncoding "${c.maskEncoding}" does not apply (its segmentation head already generates the mask as one-hot classes); leave it unset`,
    );
  if (c.family !== "stylegan2") throw new InvalidInput(`StyleGAN2 config has family "${c.family}"`);
  const l = Math.log2(c.resolution);
  if (!Number.isInteger(l) || c.resolution < 8 || c.resolution > 1024)
    throw new InvalidInput(`StyleGAN2 resolution ${c.resolution} must be a power of two in 8..1024`);
  if (c.channels !== SEQUENCE_CHANNELS + 1)
    throw new InvalidInput(
      `StyleGAN2 joint generation makes ${SEQUENCE_CHANNELS} sequences + a mask: channels must be 5`,
    );
  for (const k of [
    "classes",
    "latentSize",
    "mappingLayers",
    "fmapBase",
    "fmapMax",
    "r1Interval",
    "plInterval",
    "mbstdGroup",
  ] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1)
      throw new InvalidInput(`StyleGAN2 config ${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.classes < 2 || c.classes > 4)
    throw new InvalidInput(`StyleGAN2 classes must be 2..4 (mask levels), got ${c.classes}`);
  for (const k of ["learningRate", "mappingLrMul", "emaKimg"] as const)
    if (!(c[k] > 0)) throw new InvalidInput(`StyleGAN2 config ${k} must be > 0, got ${c[k]}`);
  for (const k of ["r1Gamma", "plWeight", "plDecay"] as const)
    if (!(c[k] >= 0)) throw new InvalidInput(`StyleGAN2 config ${k} must be >= 0, got ${c[k]}`);
}

export function fmaps(c: StyleGan2Config, side: number): number {
  return Math.max(1, Math.min(Math.floor(c.fmapBase / side), c.fmapMax));
}
