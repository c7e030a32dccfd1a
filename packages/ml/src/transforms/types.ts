// Host-side samples for segmentation training: an HWC float image plus a label map (and optionally the
// brain mask), transformed on typed arrays before batching so that augmentation is cheap, seeded and
// identical on every backend.
import type { Rng } from "../random/index.js";

export interface SegSample {
  height: number;
  width: number;
  channels: number;
  /** HWC float32, length height*width*channels. */
  image: Float32Array;
  /** HW contiguous class indices (0 = background). */
  label: Uint8Array;
  /**
   * HW brain mask (1 = brain). Z-scoring uses it and zeroes everything outside; geometric transforms warp
   * it like the label. When absent it is derived from the image as "any channel non-zero".
   */
  mask?: Uint8Array;
}

/** A seeded transform. It must not modify its input: it returns a new sample (or the same one if unchanged). */
export interface Transform {
  readonly name: string;
  apply(sample: SegSample, rng: Rng): SegSample;
}

export function checkSample(s: SegSample): void {
  const n = s.height * s.width;
  if (s.image.length !== n * s.channels)
    throw new RangeError(
      `sample image has ${s.image.length} values, expected ${s.height}x${s.width}x${s.channels} = ${n * s.channels}`,
    );
  if (s.label.length !== n) throw new RangeError(`sample label has ${s.label.length} values, expected ${n}`);
  if (s.mask && s.mask.length !== n) throw new RangeError(`sample mask has ${s.mask.length} values, expected ${n}`);
}

/** "Any channel non-zero": the brain region of skull-stripped BraTS-style inputs. */
export function nonZeroMask(image: Float32Array, height: number, width: number, channels: number): Uint8Array {
  const n = height * width;
  const mask = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < channels; c++) {
      if (image[i * channels + c] !== 0) {
        mask[i] = 1;
        break;
      }
    }
  }
  return mask;
}
