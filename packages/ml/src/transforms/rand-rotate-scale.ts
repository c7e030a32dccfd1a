import type { Rng } from "../random/index.js";
import { bilinear } from "./resample.js";
import type { SegSample, Transform } from "./types.js";

export interface RandRotateScaleOptions {
  /** Probability of a rotation (default 0.75). */
  pRotate?: number;
  /** Maximum absolute angle in degrees (default 30). */
  maxDegrees?: number;
  /** Probability of a scaling (default 0.75); x and y factors are drawn independently. */
  pScale?: number;
  /** Scale factor range (default [0.9, 1.1]); > 1 enlarges the content. */
  scaleRange?: [number, number];
}

/**
 * Rotation about the image centre and independent x/y scaling, drawn as in seed 000 section 3.2:
 * the image is resampled bilinearly, the label map (and mask) by nearest neighbour, so labels stay in
 * the label set. Pixels that come from outside the image are 0 (background).
 */
export class RandRotateScale implements Transform {
  readonly name = "RandRotateScale";
  private readonly o: Required<RandRotateScaleOptions>;
  constructor(options: RandRotateScaleOptions = {}) {
    this.o = { pRotate: 0.75, maxDegrees: 30, pScale: 0.75, scaleRange: [0.9, 1.1], ...options };
  }

  apply(s: SegSample, rng: Rng): SegSample {
    // Draw every random number whether or not it is used, so the stream position does not depend on outcomes.
    const rotate = rng.bernoulli(this.o.pRotate);
    const angle = (rng.uniform(-this.o.maxDegrees, this.o.maxDegrees) * Math.PI) / 180;
    const scale = rng.bernoulli(this.o.pScale);
    const [lo, hi] = this.o.scaleRange;
    const sx = rng.uniform(lo, hi);
    const sy = rng.uniform(lo, hi);
    if (!rotate && !scale) return s;
    return warp(s, rotate ? angle : 0, scale ? sx : 1, scale ? sy : 1);
  }
}

/** Output pixel p maps to source c + S^-1 R^-1 (p - c): the content is scaled by (sx, sy), then rotated. */
export function warp(s: SegSample, angle: number, sx: number, sy: number): SegSample {
  const { height: h, width: w, channels: ch } = s;
  const cy = (h - 1) / 2;
  const cx = (w - 1) / 2;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const image = new Float32Array(s.image.length);
  const label = new Uint8Array(s.label.length);
  const mask = s.mask ? new Uint8Array(s.mask.length) : undefined;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dy = y - cy;
      const dx = x - cx;
      // inverse rotation, then inverse scale
      const rx = cos * dx + sin * dy;
      const ry = -sin * dx + cos * dy;
      const srcX = rx / sx + cx;
      const srcY = ry / sy + cy;
      const o = y * w + x;
      for (let c = 0; c < ch; c++) image[o * ch + c] = bilinear(s.image, h, w, ch, c, srcY, srcX);
      const nx = Math.round(srcX);
      const ny = Math.round(srcY);
      if (nx >= 0 && nx < w && ny >= 0 && ny < h) {
        label[o] = s.label[ny * w + nx];
        if (mask && s.mask) mask[o] = s.mask[ny * w + nx];
      }
    }
  }
  return { ...s, image, label, mask };
}
