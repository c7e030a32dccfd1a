// GAN configuration: one shape for every family, validated once, with the PGAN paper's defaults (seed 000
// used PGAN "with the default settings": latent 512, fmap_base 8192, fmap_max 512, Adam 1e-3/0/0.99,
// WGAN-GP with lambda 10 and drift 0.001, minibatch-stddev group 4) and DCGAN's for the baselines.
import { InvalidInput } from "@synthmri/core";
import { type MaskEncoding, validateMaskEncoding } from "./mask-encoding.js";

/** Adam settings of both networks (layers/ `adam`, per-parameter step counts); part of the checkpointed config. */
export interface AdamConfig {
  learningRate: number;
  beta1: number;
  beta2: number;
  epsilon: number;
}

/** pgan: progressive growing + WGAN-GP. dcgan (non-saturating), lsgan, hinge: fixed-resolution DCGAN nets. */
export type GanFamily = "pgan" | "dcgan" | "lsgan" | "hinge";
export const GAN_FAMILIES: readonly GanFamily[] = ["pgan", "dcgan", "lsgan", "hinge"];

export interface GanConfig {
  family: GanFamily;
  /** Final image side (power of two, 8..1024). */
  resolution: number;
  /** Image channels: 5 = T1, T1Gd, T2, FLAIR, mask (the product's layout; see `maskEncoding`). */
  channels: number;
  /**
   * How the networks see the mask (mask-encoding.ts): "level" (one channel on the label levels) or "onehot" (NCR,
   * ED, ET channels; the networks have channels + 2). Absent = "level" (configs and checkpoints from before it).
   */
  maskEncoding?: MaskEncoding;
  latentSize: number;
  /** Feature maps at resolution 2^r: min(fmapBase / 2^(r-1), fmapMax). */
  fmapBase: number;
  fmapMax: number;
  mbstdGroupSize: number;
  adam: AdamConfig;
  /** WGAN-GP weight (pgan). */
  gpLambda: number;
  /** Drift penalty epsilon * D(real)^2 (pgan). */
  driftEpsilon: number;
  /**
   * Decay of the generator's exponential moving average (PGAN's Gs, 0.999 per step), the weights samples are
   * drawn from; absent = no average (so configs written before it existed compare equal).
   */
  generatorEmaDecay?: number;
}

export function defaultGanConfig(overrides: Partial<GanConfig> & { family?: GanFamily } = {}): GanConfig {
  const family = overrides.family ?? "pgan";
  const base: GanConfig = {
    family,
    resolution: 256,
    channels: 5,
    latentSize: 512,
    fmapBase: 8192,
    fmapMax: 512,
    mbstdGroupSize: 4,
    adam:
      family === "pgan"
        ? { learningRate: 0.001, beta1: 0, beta2: 0.99, epsilon: 1e-8 }
        : { learningRate: 0.0002, beta1: 0.5, beta2: 0.999, epsilon: 1e-8 },
    gpLambda: 10,
    driftEpsilon: 0.001,
  };
  const cfg = { ...base, ...overrides, adam: { ...base.adam, ...overrides.adam } };
  validateGanConfig(cfg);
  return cfg;
}

export function validateGanConfig(c: GanConfig): void {
  if (!GAN_FAMILIES.includes(c.family)) {
    throw new InvalidInput(`GAN family "${c.family}" is unknown; use one of ${GAN_FAMILIES.join(", ")}`);
  }
  const r = Math.log2(c.resolution);
  if (!Number.isInteger(r) || c.resolution < 8 || c.resolution > 1024) {
    throw new InvalidInput(`GAN resolution ${c.resolution} must be a power of two between 8 and 1024`);
  }
  for (const k of ["channels", "latentSize", "fmapBase", "fmapMax", "mbstdGroupSize"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1)
      throw new InvalidInput(`GAN config ${k} must be a positive integer, got ${c[k]}`);
  }
  validateMaskEncoding(c.maskEncoding, "GAN");
  if (!(c.adam.learningRate > 0)) throw new InvalidInput(`learning rate must be > 0, got ${c.adam.learningRate}`);
  if (c.generatorEmaDecay !== undefined && !(c.generatorEmaDecay > 0 && c.generatorEmaDecay < 1))
    throw new InvalidInput(`generator moving-average decay must be in (0, 1), got ${c.generatorEmaDecay}`);
  if (!(c.gpLambda >= 0) || !(c.driftEpsilon >= 0)) throw new InvalidInput("gpLambda and driftEpsilon must be >= 0");
}

/** Feature maps for the block at resolution 2^log2Res. */
export function featureMaps(c: GanConfig, log2Res: number): number {
  return Math.max(1, Math.min(Math.floor(c.fmapBase / 2 ** (log2Res - 1)), c.fmapMax));
}
