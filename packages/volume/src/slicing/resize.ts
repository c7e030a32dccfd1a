import { InvalidInput } from "@synthmri/core";
import type { SliceBatch } from "./slices.js";

/**
 * Resize square slices to `size` x `size`: image channels by box averaging when the factor is an
 * integer (256 -> 64 or 32: each output pixel is the mean of its block) or bilinear otherwise;
 * the last channel (mask) by nearest neighbour, so it keeps only valid label values.
 */
export function resizeBatch(batch: SliceBatch, size: number, opts: { maskChannel?: number } = {}): SliceBatch {
  const { height: H, width: W, channels: C, count } = batch;
  if (!Number.isInteger(size) || size < 1) throw new InvalidInput(`resize: size ${size} must be a positive integer`);
  if (H === size && W === size) return batch;
  const mask = opts.maskChannel ?? C - 1;
  const out = new Uint8Array(count * size * size * C);
  const fy = H / size;
  const fx = W / size;
  const box = Number.isInteger(fy) && Number.isInteger(fx) && fy >= 1 && fx >= 1;
  for (let n = 0; n < count; n++) {
    const src = n * H * W * C;
    const dst = n * size * size * C;
    for (let y = 0; y < size; y++) {
      for (let x = 0; x < size; x++) {
        const o = dst + (y * size + x) * C;
        // nearest for the mask: the source pixel under the output pixel's centre
        const ny = Math.min(H - 1, Math.floor((y + 0.5) * fy));
        const nx = Math.min(W - 1, Math.floor((x + 0.5) * fx));
        for (let c = 0; c < C; c++) {
          if (c === mask) {
            out[o + c] = batch.data[src + (ny * W + nx) * C + c];
            continue;
          }
          if (box) {
            let s = 0;
            for (let by = 0; by < fy; by++) {
              const row = src + ((y * fy + by) * W + x * fx) * C + c;
              for (let bx = 0; bx < fx; bx++) s += batch.data[row + bx * C];
            }
            out[o + c] = Math.round(s / (fy * fx));
          } else {
            const sy = Math.max(0, Math.min(H - 1, (y + 0.5) * fy - 0.5));
            const sx = Math.max(0, Math.min(W - 1, (x + 0.5) * fx - 0.5));
            const y0 = Math.floor(sy);
            const x0 = Math.floor(sx);
            const y1 = Math.min(H - 1, y0 + 1);
            const x1 = Math.min(W - 1, x0 + 1);
            const wy = sy - y0;
            const wx = sx - x0;
            const p = (yy: number, xx: number) => batch.data[src + (yy * W + xx) * C + c];
            const v = (1 - wy) * ((1 - wx) * p(y0, x0) + wx * p(y0, x1)) + wy * ((1 - wx) * p(y1, x0) + wx * p(y1, x1));
            out[o + c] = Math.round(v);
          }
        }
      }
    }
  }
  return { ...batch, height: size, width: size, data: out };
}
