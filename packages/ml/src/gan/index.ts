// GAN models (PGAN + WGAN-GP, DCGAN/LSGAN/hinge baselines), training loop, checkpoints, sampling, outlier filter.
export * from "./checkpoint.js";
export * from "./config.js";
export * from "./create.js";
export { discriminatorLoss, generatorLoss, gradientPenalty, type LossKind } from "./losses.js";
export type { GanModel, GanState, Growth, StepLosses } from "./model.js";
export {
  decodeMaskChannels,
  encodeMask,
  encodeMaskChannels,
  MASK_ENCODINGS,
  MASK_LEVELS,
  type MaskEncoding,
  type MaskEncodingConfig,
  maskEncodedSource,
  maskEncodingOf,
  nearestLabel,
  networkChannels,
  quantizeMask,
  TUMOUR_CHANNELS,
  validateMaskEncoding,
} from "./mask-encoding.js";
export * from "./outlier.js";
export { DcganModel } from "./dcgan.js";
export { PganModel } from "./pgan.js";
export * from "./sample.js";
export * from "./schedule.js";
export * from "./slice-source.js";
export * from "./train.js";
