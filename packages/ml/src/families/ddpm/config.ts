// DDPM configuration (issue 22; seed 004 compares a diffusion model with GANs on the same 5-channel slices).
// Architecture as Ho et al. 2020 / Nichol & Dhariwal 2021: U-Net noise predictor with sinusoidal timestep
// embedding, residual blocks with group norm + SiLU, self-attention at the lowest resolution; cosine schedule,
// epsilon (or v) prediction, EMA weights, DDIM sampling.
import { InvalidInput } from "@synthmri/core";
import { networkChannels, validateMaskEncoding } from "../../gan/mask-encoding.js";
import type { FamilyConfigBase } from "../model.js";

export type NoiseSchedule = "cosine" | "linear";
export type Prediction = "eps" | "v";

export interface DdpmConfig extends FamilyConfigBase {
  family: "ddpm";
  /** Channels of the first U-Net level. */
  baseChannels: number;
  /** Channel multiplier per level; the U-Net halves the resolution between levels. */
  channelMults: number[];
  /** Residual blocks per level (down path; the up path has one more per level, as in DDPM). */
  resBlocks: number;
  /** Self-attention at U-Net levels whose side is at most this (the lowest level always has it). */
  attentionMaxSide: number;
  groups: number;
  /** Diffusion steps T. */
  timesteps: number;
  schedule: NoiseSchedule;
  prediction: Prediction;
  learningRate: number;
  emaDecay: number;
  /** DDIM steps used by `generate` (eta = 0: deterministic given the initial noise). */
  samplingSteps: number;
}

function base(
  resolution: number,
  channels: number,
): Pick<DdpmConfig, "family" | "resolution" | "channels" | "latentSize"> {
  return { family: "ddpm", resolution, channels, latentSize: resolution * resolution * channels };
}

/** Trains on 32x32 phantom slices on 2 CPU cores in a few minutes (about 0.3 M parameters). */
export function demoDdpmConfig(overrides: Partial<DdpmConfig> = {}): DdpmConfig {
  return withOverrides(
    {
      ...base(32, 5),
      baseChannels: 16,
      channelMults: [1, 2, 2],
      resBlocks: 1,
      attentionMaxSide: 8,
      groups: 8,
      timesteps: 1000,
      schedule: "cosine",
      prediction: "eps",
      learningRate: 1e-3,
      emaDecay: 0.995,
      samplingSteps: 25,
    },
    overrides,
  );
}

/** The size of DDPM's 128x128 nets (Ho et al.: ch 128, mults 1,1,2,3,4, 2 res blocks, attention at 16). */
export function paperDdpmConfig(overrides: Partial<DdpmConfig> = {}): DdpmConfig {
  return withOverrides(
    {
      ...base(128, 5),
      baseChannels: 128,
      channelMults: [1, 1, 2, 3, 4],
      resBlocks: 2,
      attentionMaxSide: 16,
      groups: 32,
      timesteps: 1000,
      schedule: "cosine",
      prediction: "eps",
      learningRate: 2e-5,
      emaDecay: 0.9999,
      samplingSteps: 100,
    },
    overrides,
  );
}

function withOverrides(c: DdpmConfig, o: Partial<DdpmConfig>): DdpmConfig {
  const out = { ...c, ...o };
  if (o.resolution !== undefined || o.channels !== undefined || o.maskEncoding !== undefined)
    out.latentSize = out.resolution * out.resolution * networkChannels(out);
  validateDdpmConfig(out);
  return out;
}

export function validateDdpmConfig(c: DdpmConfig): void {
  if (c.family !== "ddpm") throw new InvalidInput(`DDPM config has family "${c.family}"`);
  const levels = c.channelMults.length;
  if (!Number.isInteger(c.resolution) || c.resolution < 4 || c.resolution % 2 ** (levels - 1) !== 0)
    throw new InvalidInput(`DDPM resolution ${c.resolution} must be divisible by 2^${levels - 1} (${levels} levels)`);
  for (const k of ["channels", "baseChannels", "resBlocks", "groups", "timesteps", "samplingSteps"] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1)
      throw new InvalidInput(`DDPM config ${k} must be a positive integer, got ${c[k]}`);
  }
  validateMaskEncoding(c.maskEncoding, "DDPM");
  if (c.latentSize !== c.resolution * c.resolution * networkChannels(c))
    throw new InvalidInput(
      "DDPM latentSize must be resolution^2 * the network's channels (the initial noise image; + 2 unless level)",
    );
  if (!levels || c.channelMults.some((m) => !Number.isInteger(m) || m < 1))
    throw new InvalidInput(`DDPM channelMults must be positive integers, got [${c.channelMults}]`);
  for (const m of c.channelMults)
    if ((m * c.baseChannels) % c.groups !== 0)
      throw new InvalidInput(`DDPM: ${m * c.baseChannels} channels do not split into ${c.groups} groups`);
  if (c.samplingSteps > c.timesteps) throw new InvalidInput("DDPM samplingSteps must be <= timesteps");
  if (c.schedule !== "cosine" && c.schedule !== "linear")
    throw new InvalidInput(`unknown noise schedule ${c.schedule}`);
  if (c.prediction !== "eps" && c.prediction !== "v") throw new InvalidInput(`unknown prediction ${c.prediction}`);
  if (!(c.learningRate > 0)) throw new InvalidInput(`DDPM learningRate must be > 0, got ${c.learningRate}`);
  if (!(c.emaDecay >= 0 && c.emaDecay < 1))
    throw new InvalidInput(`DDPM emaDecay must be in [0, 1), got ${c.emaDecay}`);
}
