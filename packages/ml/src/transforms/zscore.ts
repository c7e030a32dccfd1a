import type { Rng } from "../random/index.js";
import { nonZeroMask, type SegSample, type Transform } from "./types.js";

/** Attaches the brain mask ("any channel non-zero") before augmentation, so z-scoring later uses the true brain. */
export class AttachBrainMask implements Transform {
  readonly name = "AttachBrainMask";
  apply(s: SegSample, _rng: Rng): SegSample {
    if (s.mask) return s;
    return { ...s, mask: nonZeroMask(s.image, s.height, s.width, s.channels) };
  }
}

/**
 * Z-score per image and per channel over the brain region (the mask, or "any channel non-zero" when there
 * is none), as nnU-Net does for BraTS: (x - mean) / sd inside the brain, 0 outside. Training and inference
 * both use it, so the network always sees the same input statistics. A channel with zero spread becomes 0.
 */
export function zScoreInPlace(
  image: Float32Array,
  h: number,
  w: number,
  ch: number,
  mask: Uint8Array = nonZeroMask(image, h, w, ch),
): Float32Array {
  const n = h * w;
  for (let c = 0; c < ch; c++) {
    let sum = 0;
    let sq = 0;
    let count = 0;
    for (let i = 0; i < n; i++) {
      if (!mask[i]) continue;
      const v = image[i * ch + c];
      sum += v;
      sq += v * v;
      count++;
    }
    const mean = count ? sum / count : 0;
    const sd = count ? Math.sqrt(Math.max(sq / count - mean * mean, 0)) : 0;
    const inv = sd > 1e-8 ? 1 / sd : 0;
    for (let i = 0; i < n; i++) image[i * ch + c] = mask[i] ? (image[i * ch + c] - mean) * inv : 0;
  }
  return image;
}

export class ZScore implements Transform {
  readonly name = "ZScore";
  apply(s: SegSample, _rng: Rng): SegSample {
    const image = zScoreInPlace(new Float32Array(s.image), s.height, s.width, s.channels, s.mask);
    return { ...s, image };
  }
}
