import { InvalidInput } from "@synthmri/core";

/** Architecture of the nnU-Net-style 2-D U-Net. Serialised with the weights. */
export interface UNetConfig {
  /** Input channels: T1, T1Gd, T2, FLAIR (4). */
  inChannels: number;
  /** Output classes: background, NCR, ED, ET (4). */
  numClasses: number;
  /** Channels per resolution level, full resolution first; length = depth (levels). Seed 000 at 256x256: 6 levels. */
  widths: number[];
  /** Deep-supervision heads at the finest decoder resolutions (including the main output), at most 5. */
  deepSupervisionHeads: number;
  /** LeakyReLU negative slope (0.01). */
  leakySlope: number;
  /** Training/inference spatial size [H, W] the net was built for (metadata for padding/cropping at inference). */
  inputSize?: [number, number];
}

export const BENCH_UNET: UNetConfig = {
  inChannels: 4,
  numClasses: 4,
  widths: [16, 32, 64, 128, 256],
  deepSupervisionHeads: 4,
  leakySlope: 0.01,
  inputSize: [128, 128],
};

/** Seed 000's net for 256x256 slices: the bench U-Net with an extra depth level, 5 supervised outputs. */
export const SEED000_UNET: UNetConfig = {
  inChannels: 4,
  numClasses: 4,
  widths: [32, 64, 128, 256, 512, 512],
  deepSupervisionHeads: 5,
  leakySlope: 0.01,
  inputSize: [256, 256],
};

export function unetConfig(partial: Partial<UNetConfig> = {}): UNetConfig {
  const c: UNetConfig = { ...BENCH_UNET, ...partial };
  if (!Number.isInteger(c.inChannels) || c.inChannels < 1)
    throw new InvalidInput(`inChannels must be >= 1, got ${c.inChannels}`);
  if (!Number.isInteger(c.numClasses) || c.numClasses < 2)
    throw new InvalidInput(`numClasses must be >= 2, got ${c.numClasses}`);
  if (c.widths.length < 2 || c.widths.some((w) => !Number.isInteger(w) || w < 1))
    throw new InvalidInput(`widths must list at least 2 positive integers (one per level), got [${c.widths}]`);
  const maxHeads = Math.min(5, c.widths.length - 1);
  if (!Number.isInteger(c.deepSupervisionHeads) || c.deepSupervisionHeads < 1 || c.deepSupervisionHeads > maxHeads)
    throw new InvalidInput(
      `deepSupervisionHeads must be in 1..${maxHeads} for ${c.widths.length} levels, got ${c.deepSupervisionHeads}`,
    );
  const m = 2 ** (c.widths.length - 1);
  if (c.inputSize && (c.inputSize[0] % m !== 0 || c.inputSize[1] % m !== 0))
    throw new InvalidInput(
      `inputSize ${c.inputSize.join("x")} must be divisible by ${m} for ${c.widths.length} levels`,
    );
  return c;
}

/** Spatial sizes must be divisible by this (one halving per level below the first). */
export function sizeMultiple(c: UNetConfig): number {
  return 2 ** (c.widths.length - 1);
}

/** Deep-supervision weights w_d ∝ 0.5^d, normalised to sum 1 (d = 0 is full resolution). */
export function deepSupervisionWeights(heads: number): number[] {
  const raw = Array.from({ length: heads }, (_, d) => 0.5 ** d);
  const total = raw.reduce((a, b) => a + b, 0);
  return raw.map((w) => w / total);
}
