// What the GAN trains on: square 5-channel slices (T1, T1Gd, T2, FLAIR, mask), channels-last, scaled to
// [-1, 1]. The generator service adapts the ingest dataset's slice stream to this; tests use in-memory arrays.
import { InvalidInput } from "@synthmri/core";

export interface SliceSource {
  readonly count: number;
  /** Side length of every slice (square). */
  readonly size: number;
  readonly channels: number;
  /** Slices at `indices` as one [n, size, size, channels] array. */
  read(indices: number[]): Float32Array | Promise<Float32Array>;
}

export function arraySliceSource(data: Float32Array, count: number, size: number, channels: number): SliceSource {
  const per = size * size * channels;
  if (data.length !== count * per) {
    throw new InvalidInput(
      `slice array has ${data.length} values; ${count} slices of ${size}x${size}x${channels} need ${count * per}`,
    );
  }
  return {
    count,
    size,
    channels,
    read(indices: number[]): Float32Array {
      const out = new Float32Array(indices.length * per);
      indices.forEach((idx, k) => {
        if (!Number.isInteger(idx) || idx < 0 || idx >= count)
          throw new InvalidInput(`slice index ${idx} outside 0..${count - 1}`);
        out.set(data.subarray(idx * per, (idx + 1) * per), k * per);
      });
      return out;
    },
  };
}
