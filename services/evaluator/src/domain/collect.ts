// Reads slices of a dataset into one in-memory NHWC ImageSet (what the image-quality and memorization
// measures take), keeping only the wanted channels so a large real training set costs as little as possible.
import { InvalidInput, throwIfAborted } from "@synthmri/platform";
import type { ImageSet } from "@synthmri/eval";
import type { SliceSource, StreamSlicesOptions } from "./ports.js";

export interface CollectOptions extends Omit<StreamSlicesOptions, "maxSlices" | "channels"> {
  /** At most this many slices (0 = all). */
  maxSlices?: number;
  /** Channel indices to keep, in order (default all). */
  channels?: readonly number[];
  /** Called after each batch with the slices collected so far. */
  onBatch?: (count: number) => void;
}

export async function collectImages(
  source: SliceSource,
  datasetId: string,
  what: string,
  options: CollectOptions,
): Promise<ImageSet> {
  const parts: Uint8Array[] = [];
  let n = 0;
  let shape: { h: number; w: number; c: number } | undefined;
  let keep: number[] | undefined;
  const { channels: _indices, onBatch: _onBatch, ...read } = options;
  for await (const b of source.streamSlices(datasetId, { ...read, maxSlices: options.maxSlices || undefined })) {
    throwIfAborted(options.signal);
    keep ??= options.channels ? [...options.channels] : Array.from({ length: b.c }, (_, i) => i);
    if (keep.some((c) => c < 0 || c >= b.c))
      throw new InvalidInput(
        `${what}: dataset ${datasetId} has ${b.c} channels; channels [${keep.join(", ")}] do not exist`,
      );
    shape ??= { h: b.h, w: b.w, c: b.c };
    if (b.h !== shape.h || b.w !== shape.w || b.c !== shape.c)
      throw new InvalidInput(
        `${what}: dataset ${datasetId} mixes slice shapes ${b.h}x${b.w}x${b.c} and ${shape.h}x${shape.w}x${shape.c}`,
      );
    const take = options.maxSlices ? Math.min(b.n, options.maxSlices - n) : b.n;
    const px = b.h * b.w;
    const out = new Uint8Array(take * px * keep.length);
    if (keep.length === b.c) out.set(b.data.subarray(0, out.length));
    else
      for (let p = 0; p < take * px; p++)
        for (let k = 0; k < keep.length; k++) out[p * keep.length + k] = b.data[p * b.c + keep[k]];
    parts.push(out);
    n += take;
    options.onBatch?.(n);
    if (options.maxSlices && n >= options.maxSlices) break;
  }
  if (!shape || !keep || n === 0)
    throw new InvalidInput(
      `${what}: dataset ${datasetId} has no ${options.split} slices; pick a dataset or split with slices`,
    );
  const data = new Uint8Array(n * shape.h * shape.w * keep.length);
  let off = 0;
  for (const part of parts) {
    data.set(part, off);
    off += part.length;
  }
  return { data, n, h: shape.h, w: shape.w, c: keep.length };
}
