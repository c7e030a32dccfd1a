// Seeded, composable augmentations on host typed arrays (MONAI Rand* style), seed 000 section 3.2.
import { Compose } from "./compose.js";
import { RandRotateScale, type RandRotateScaleOptions } from "./rand-rotate-scale.js";
import {
  RandGamma,
  type RandGammaOptions,
  RandGaussianBlur,
  type RandGaussianBlurOptions,
  RandGaussianNoise,
  type RandGaussianNoiseOptions,
  RandLowResolution,
  type RandLowResolutionOptions,
} from "./rand-intensity.js";
import { AttachBrainMask, ZScore } from "./zscore.js";

export * from "./compose.js";
export * from "./rand-intensity.js";
export * from "./rand-rotate-scale.js";
export { resizeBilinear, resizeNearest } from "./resample.js";
export * from "./types.js";
export * from "./zscore.js";

export interface AugmentationOptions {
  /** false disables every random transform (mask + z-score only). */
  enabled?: boolean;
  rotateScale?: RandRotateScaleOptions;
  noise?: RandGaussianNoiseOptions;
  blur?: RandGaussianBlurOptions;
  lowResolution?: RandLowResolutionOptions;
  gamma?: RandGammaOptions;
}

/** The seed-000 training pipeline: brain mask, rotate/scale, noise, blur, low resolution, gamma, z-score. */
export function segmentationAugmentation(options: AugmentationOptions = {}): Compose {
  if (options.enabled === false) return new Compose([new AttachBrainMask(), new ZScore()]);
  return new Compose([
    new AttachBrainMask(),
    new RandRotateScale(options.rotateScale),
    new RandGaussianNoise(options.noise),
    new RandGaussianBlur(options.blur),
    new RandLowResolution(options.lowResolution),
    new RandGamma(options.gamma),
    new ZScore(),
  ]);
}
