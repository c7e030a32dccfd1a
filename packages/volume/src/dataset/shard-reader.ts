// Reads a dataset's slices back as batches: by split, optionally only some subjects, in manifest order or
// in a seeded shuffle, with channel selection and resizing. I/O is injected (`readFile`), so the ingest
// service, the generator and the segmenter read the same format the same way.
import { InvalidInput } from "@synthmri/core";
import { SeededRandom } from "../random.js";
import { resizeBatch } from "../slicing/resize.js";
import { decodeShard } from "../slicing/shard.js";
import type { SliceBatch } from "../slicing/slices.js";
import { DATASET_CHANNELS, type DatasetChannel, type DatasetFields, type DatasetSplit, shardsOf } from "./manifest.js";

export interface ReadSlicesOptions {
  split: DatasetSplit | "all";
  /** slices per batch (default 32) */
  batchSize?: number;
  /** seeded shuffle instead of manifest order */
  shuffle?: boolean;
  seed?: number | string;
  /** stop after this many slices (0/undefined = all) */
  maxSlices?: number;
  /** only slices of these subject keys */
  subjectKeys?: string[];
  /** channels in output order (default all five; "mask" is the segmentation) */
  channels?: readonly DatasetChannel[];
  /** resize to size x size (box average for images, nearest for the mask) */
  resize?: number;
  /** shards held in memory at once for the shuffle (default: as many as fit 128 MiB, at least 2) */
  shuffleWindowShards?: number;
  signal?: AbortSignal;
}

/** Reads one file of the dataset (paths as in the manifest), e.g. `(p) => artifacts.readFile("dataset", id, p)`. */
export type DatasetFileReader = (path: string) => Promise<Uint8Array>;

/** Slices of the selection, without reading any pixel (for progress / ETA): exact when no subject filter is set. */
export function countSelected(
  fields: DatasetFields,
  opts: Pick<ReadSlicesOptions, "split" | "maxSlices" | "subjectKeys">,
): number {
  let n = 0;
  if (opts.subjectKeys && opts.subjectKeys.length > 0) {
    const keys = new Set(opts.subjectKeys);
    for (const s of fields.subjects)
      if (keys.has(s.key) && (opts.split === "all" || s.split === opts.split)) n += s.sliceCount;
  } else {
    for (const s of shardsOf(fields, opts.split)) n += s.count;
  }
  return opts.maxSlices ? Math.min(n, opts.maxSlices) : n;
}

/**
 * Batches of slices. Shuffle = the split's shards in a seeded order, read a window of shards at a time,
 * the window's slices shuffled by the same seed: a full shuffle when the split fits one window, and the
 * same sequence for the same dataset + seed + options every time.
 */
export async function* readDatasetSlices(
  fields: DatasetFields,
  readFile: DatasetFileReader,
  opts: ReadSlicesOptions,
): AsyncGenerator<SliceBatch> {
  const batchSize = opts.batchSize || 32;
  if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 4096) {
    throw new InvalidInput(`batch size ${batchSize} must be 1-4096 slices`);
  }
  const channels = opts.channels && opts.channels.length > 0 ? opts.channels : DATASET_CHANNELS;
  const stored = fields.channels ?? DATASET_CHANNELS;
  const channelIdx = channels.map((c) => {
    const i = stored.indexOf(c);
    if (i < 0) throw new InvalidInput(`channel ${c} is not stored in this dataset (it has ${stored.join(", ")})`);
    return i;
  });
  if (
    opts.resize !== undefined &&
    opts.resize !== 0 &&
    !(Number.isInteger(opts.resize) && opts.resize >= 4 && opts.resize <= 1024)
  ) {
    throw new InvalidInput(`resize ${opts.resize} must be an integer from 4 to 1024 (or 0 for the stored size)`);
  }
  const keys = opts.subjectKeys && opts.subjectKeys.length > 0 ? new Set(opts.subjectKeys) : undefined;
  if (keys) {
    const known = new Set(fields.subjects.map((s) => s.key));
    const unknown = [...keys].filter((k) => !known.has(k));
    if (unknown.length > 0 && fields.subjects.length > 0) {
      throw new InvalidInput(`subject key(s) ${unknown.slice(0, 3).join(", ")} are not in this dataset`);
    }
  }
  let shards = shardsOf(fields, opts.split).filter((s) => !keys || s.subjects.some((k) => keys.has(k)));
  const [H, W, C] = fields.sliceShape;
  const sliceBytes = H * W * C;
  const rng = opts.shuffle ? new SeededRandom(`slices:${opts.seed ?? 0}`) : undefined;
  if (rng) shards = rng.shuffle([...shards]);
  const avgShardBytes = Math.max(1, ...shards.map((s) => s.count * sliceBytes));
  const window = rng ? (opts.shuffleWindowShards ?? Math.max(2, Math.floor((128 << 20) / avgShardBytes))) : 1;
  const limit = opts.maxSlices && opts.maxSlices > 0 ? opts.maxSlices : Number.POSITIVE_INFINITY;
  const outC = channelIdx.length;
  const maskOut = channels.indexOf("mask");
  let emitted = 0;

  // The batch being filled.
  let buf = new Uint8Array(batchSize * H * W * outC);
  let n = 0;
  let sliceIndex: number[] = [];
  let subject: string[] = [];
  const take = (): SliceBatch => {
    const b: SliceBatch = {
      height: H,
      width: W,
      channels: outC,
      count: n,
      data: buf.subarray(0, n * H * W * outC),
      sliceIndex,
      subject,
    };
    buf = new Uint8Array(batchSize * H * W * outC);
    n = 0;
    sliceIndex = [];
    subject = [];
    return opts.resize && opts.resize !== H ? resizeBatch(b, opts.resize, { maskChannel: maskOut }) : b;
  };

  for (let w = 0; w < shards.length && emitted < limit; w += window) {
    opts.signal?.throwIfAborted();
    const decoded = [];
    for (const s of shards.slice(w, w + window)) {
      const bytes = await readFile(s.path);
      const d = decodeShard(bytes, s.path);
      if (d.height !== H || d.width !== W || d.channels !== C) {
        throw new InvalidInput(
          `${s.path}: shard slices are ${d.height}x${d.width}x${d.channels}, manifest says ${H}x${W}x${C}`,
        );
      }
      decoded.push(d);
    }
    const order: [number, number][] = [];
    decoded.forEach((d, di) => {
      for (let i = 0; i < d.count; i++) if (!keys || keys.has(d.subject[i])) order.push([di, i]);
    });
    if (rng) rng.shuffle(order);
    for (const [di, i] of order) {
      if (emitted >= limit) break;
      const d = decoded[di];
      const src = i * sliceBytes;
      const dst = n * H * W * outC;
      if (outC === C && channelIdx.every((c, k) => c === k)) {
        buf.set(d.data.subarray(src, src + sliceBytes), dst);
      } else {
        for (let p = 0; p < H * W; p++) {
          for (let k = 0; k < outC; k++) buf[dst + p * outC + k] = d.data[src + p * C + channelIdx[k]];
        }
      }
      sliceIndex.push(d.sliceIndex[i]);
      subject.push(d.subject[i]);
      n++;
      emitted++;
      if (n === batchSize) yield take();
    }
  }
  if (n > 0) yield take();
}
