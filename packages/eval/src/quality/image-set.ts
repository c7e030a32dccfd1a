// A batch of 2D images in NHWC layout, as the generator emits them (5 channels: T1, T1Gd, T2, FLAIR, mask).
import { InvalidInput } from "@synthmri/core";

export interface ImageSet {
  /** NHWC, row-major; uint8 (0..255) or float32 (any range; compared as given). */
  data: Uint8Array | Float32Array;
  n: number;
  h: number;
  w: number;
  c: number;
}

export function checkImageSet(name: string, s: ImageSet, minSide = 1): void {
  const dims = [s.n, s.h, s.w, s.c];
  if (!dims.every((d) => Number.isInteger(d) && d > 0))
    throw new InvalidInput(`${name}: shape [${dims.join(", ")}] (NHWC) must be positive integers; is the set empty?`);
  if (s.data.length !== s.n * s.h * s.w * s.c)
    throw new InvalidInput(
      `${name}: ${s.data.length} values but shape [${dims.join(", ")}] (NHWC) needs ${s.n * s.h * s.w * s.c}`,
    );
  if (s.h < minSide || s.w < minSide)
    throw new InvalidInput(`${name}: images are ${s.h}x${s.w}; this measure needs at least ${minSide}x${minSide}`);
}

export function checkCompatible(a: ImageSet, b: ImageSet, what: string): void {
  if (a.h !== b.h || a.w !== b.w || a.c !== b.c)
    throw new InvalidInput(
      `${what}: image shapes differ (${a.h}x${a.w}x${a.c} vs ${b.h}x${b.w}x${b.c}); ` +
        "compare sets of the same resolution and channel count",
    );
}

/** One channel of one image as float64 (a copy, contiguous HW). */
export function channelPlane(s: ImageSet, index: number, channel: number, out?: Float64Array): Float64Array {
  const hw = s.h * s.w;
  const plane = out ?? new Float64Array(hw);
  const base = index * hw * s.c + channel;
  for (let p = 0; p < hw; p++) plane[p] = s.data[base + p * s.c];
  return plane;
}
