// How a generator whose output holds the mask as image channels sees the tumour mask (issue 16). The product's
// slices carry it as ONE channel on the levels 0/51/102/204 (-1, -0.6, -0.2, 0.6 on the network's scale):
// "level" trains the networks on that channel as it is. A generator then has to hit a level exactly to make ED,
// and in practice its mask channel settles near the NCR level, so snapping makes every tumour pixel NCR (ED Dice
// 0 in every synthetic row of session 5). "onehot" replaces the channel by one channel per tumour class (NCR, ED,
// ET; +1 present, -1 absent, the images' own [-1, 1] scale), as seed 003 generates the segmentation map as extra
// image channels: the classes no longer sit on one ordered axis. "regions" uses the same three channels for the
// nested BraTS regions instead (WT = NCR+ED+ET, TC = NCR+ET, ET), as BraTS scores them and region-based
// segmentation networks train on them: the small classes (NCR, ET: 7 and 14 % of the phantoms' tumour pixels)
// become parts of larger, contiguous regions rather than channels of their own that lose every argmax to ED.
// Sampling decodes back to the product's level channel, so everything downstream of the sampler (outlier
// filter, shards, exports) is unchanged.
// The one implementation of encode/decode, used by the training loops (gan/train.ts, families/train.ts) and the
// sampler (gan/sample.ts).
import { InvalidInput, MASK_LEVELS_255 } from "@synthmri/core";
import type { SliceSource } from "./slice-source.js";

export type MaskEncoding = "level" | "onehot" | "regions";
export const MASK_ENCODINGS: readonly MaskEncoding[] = ["level", "onehot", "regions"];

/** Mask channels under "onehot" (NCR, ED, ET: internal labels 1..3) and "regions" (WT, TC, ET). */
export const TUMOUR_CHANNELS = 3;

/** The mask levels of @synthmri/core (0/51/102/204 = internal labels 0..3) on the network's [-1, 1] scale. */
export const MASK_LEVELS = MASK_LEVELS_255.map((v) => v / 127.5 - 1);

/** The encoding part of a model config; absent (configs and checkpoints written before it) means "level". */
export interface MaskEncodingConfig {
  readonly channels: number;
  readonly maskEncoding?: MaskEncoding;
}

export function maskEncodingOf(c: { readonly maskEncoding?: MaskEncoding }): MaskEncoding {
  return c.maskEncoding ?? "level";
}

/** Channels inside the network: the product's channels, the mask level channel replaced by 3 tumour channels. */
export function networkChannels(c: MaskEncodingConfig): number {
  return maskEncodingOf(c) === "level" ? c.channels : c.channels - 1 + TUMOUR_CHANNELS;
}

/** +1/-1 of the three mask channels for each internal label (0 bg, 1 NCR, 2 ED, 3 ET). */
const CHANNELS_OF_LABEL: Record<Exclude<MaskEncoding, "level">, readonly (readonly number[])[]> = {
  onehot: [
    [-1, -1, -1],
    [1, -1, -1],
    [-1, 1, -1],
    [-1, -1, 1],
  ],
  // WT, TC, ET
  regions: [
    [-1, -1, -1],
    [1, 1, -1],
    [1, -1, -1],
    [1, 1, 1],
  ],
};

export function validateMaskEncoding(e: unknown, who: string): void {
  if (e !== undefined && !MASK_ENCODINGS.includes(e as MaskEncoding))
    throw new InvalidInput(`${who} mask encoding "${String(e)}" is unknown; use one of ${MASK_ENCODINGS.join(", ")}`);
}

/** Internal label (0 bg, 1 NCR, 2 ED, 3 ET) of the level nearest to a mask value on the [-1, 1] scale. */
export function nearestLabel(v: number): number {
  let best = 0;
  for (let k = 1; k < MASK_LEVELS.length; k++)
    if (Math.abs(v - MASK_LEVELS[k]) < Math.abs(v - MASK_LEVELS[best])) best = k;
  return best;
}

/** Snaps mask values ([-1, 1] scale) to the nearest label level; returns the levels and the label indices. */
export function quantizeMask(values: Float32Array): { levels: Float32Array; labels: Uint8Array } {
  const levels = new Float32Array(values.length);
  const labels = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    labels[i] = nearestLabel(values[i]);
    levels[i] = MASK_LEVELS[labels[i]];
  }
  return { levels, labels };
}

/**
 * Channels-last pixels with the mask as the last of `channels` (level scale) -> the same pixels with the mask as
 * three +-1 channels of `encoding` (onehot: NCR/ED/ET; regions: WT/TC/ET); each value snaps to its nearest level.
 */
export function encodeMaskChannels(
  data: Float32Array,
  channels: number,
  encoding: Exclude<MaskEncoding, "level">,
): Float32Array {
  const pixels = checkedPixels(data, channels);
  const out = channels - 1 + TUMOUR_CHANNELS;
  const table = CHANNELS_OF_LABEL[encoding];
  const enc = new Float32Array(pixels * out);
  for (let p = 0; p < pixels; p++) {
    for (let c = 0; c < channels - 1; c++) enc[p * out + c] = data[p * channels + c];
    const row = table[nearestLabel(data[p * channels + channels - 1])];
    for (let k = 0; k < TUMOUR_CHANNELS; k++) enc[p * out + channels - 1 + k] = row[k];
  }
  return enc;
}

/** Internal label of one pixel's three mask channels `t` (values read at t[0..2]). */
function labelOfChannels(t0: number, t1: number, t2: number, encoding: Exclude<MaskEncoding, "level">): number {
  if (encoding === "regions") {
    // Nested, as BraTS regions: outside WT background; inside, TC splits NCR/ET from ED, ET splits ET from NCR.
    if (!(t0 > 0)) return 0;
    if (!(t1 > 0)) return 2;
    return t2 > 0 ? 3 : 1;
  }
  // Background unless the largest class channel is above 0 (the midpoint of absent -1 and present +1).
  let best = 0;
  let bestValue = 0;
  const values = [t0, t1, t2];
  for (let k = 0; k < TUMOUR_CHANNELS; k++) {
    if (values[k] > bestValue) {
      bestValue = values[k];
      best = k + 1;
    }
  }
  return best;
}

/**
 * Pixels with three mask channels of `encoding` (`channels` in all) -> the product's layout (the mask as one
 * level channel) and the labels. onehot: background unless the largest of NCR/ED/ET is > 0, else that class;
 * regions: background unless WT > 0, ED unless TC > 0, ET if ET > 0, else NCR.
 */
export function decodeMaskChannels(
  data: Float32Array,
  channels: number,
  encoding: Exclude<MaskEncoding, "level">,
): { images: Float32Array; labels: Uint8Array } {
  const pixels = checkedPixels(data, channels);
  const seq = channels - TUMOUR_CHANNELS;
  if (seq < 0) throw new InvalidInput(`a ${encoding} mask needs ${TUMOUR_CHANNELS} channels, images have ${channels}`);
  const out = seq + 1;
  const images = new Float32Array(pixels * out);
  const labels = new Uint8Array(pixels);
  for (let p = 0; p < pixels; p++) {
    const at = p * channels;
    for (let c = 0; c < seq; c++) images[p * out + c] = data[at + c];
    const label = labelOfChannels(data[at + seq], data[at + seq + 1], data[at + seq + 2], encoding);
    labels[p] = label;
    images[p * out + seq] = MASK_LEVELS[label];
  }
  return { images, labels };
}

/** Product-layout pixels -> the network's layout (the same array under "level", else an encoded copy). */
export function encodeMask(data: Float32Array, c: MaskEncodingConfig): Float32Array {
  const e = maskEncodingOf(c);
  return e === "level" ? data : encodeMaskChannels(data, c.channels, e);
}

/** A slice source in the product's layout, seen in the network's layout of `c`. */
export function maskEncodedSource(source: SliceSource, c: MaskEncodingConfig): SliceSource {
  if (maskEncodingOf(c) === "level") return source;
  return {
    count: source.count,
    size: source.size,
    channels: networkChannels(c),
    read: async (indices) => encodeMask(await source.read(indices), c),
  };
}

function checkedPixels(data: Float32Array, channels: number): number {
  if (!Number.isInteger(channels) || channels < 1 || data.length % channels !== 0)
    throw new InvalidInput(`${data.length} values are not whole pixels of ${channels} channels`);
  return data.length / channels;
}
